// SPDX-License-Identifier: Apache-2.0
// Uses only atomik::core (Context and a DeltaTable): built against an
// installed package by tests/install/run.cmake, which checks that its link
// line holds no asio, libsodium or hiredis.
#include <cstdint>

#include "atomik/context.hpp"
#include "atomik/status.hpp"
#include "atomik/version.hpp"

int main() {
  atomik::Context64 ctx(0xCAFE);
  ctx.accum(0x00FF);
  // Status is defined out of line: this links the core library itself.
  const atomik::Status s = atomik::Status::invalid_argument("ctx", "probe");
  if (s.to_string() != "InvalidArgument: ctx: probe") return 2;
  if (atomik::kVersionMajor != ATOMIK_VERSION_MAJOR) return 3;
  return ctx.read() == 0xCA01 ? 0 : 1;
}
