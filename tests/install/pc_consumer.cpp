// SPDX-License-Identifier: Apache-2.0
// Built by tests/install/run.cmake with the flags of
// `pkg-config --define-prefix --cflags --libs atomik` alone (no CMake), and
// run: a Context, a Status (out of line, so the library is linked) and the
// version the pkg-config file names.
#include <cstdio>
#include <cstring>

#include "atomik/atomik.hpp"

int main(int argc, char** argv) {
  atomik::Context64 ctx(0xCAFE);
  ctx.accum(0x00FF);
  if (ctx.read() != 0xCA01) return 1;
  const atomik::Status s = atomik::Status::not_found("pc", "probe");
  if (s.to_string() != "NotFound: pc: probe") return 2;
  // argv[1]: the version `pkg-config --modversion atomik` printed.
  if (argc > 1 && std::strcmp(argv[1], ATOMIK_VERSION_STRING) != 0) {
    std::fprintf(stderr, "pkg-config version %s, header %s\n", argv[1],
                 ATOMIK_VERSION_STRING);
    return 3;
  }
  return 0;
}
