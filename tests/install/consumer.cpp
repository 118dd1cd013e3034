// SPDX-License-Identifier: Apache-2.0
#include <atomik/atomik.hpp>

int main() {
  atomik::Context64 ctx(0xCAFE);
  ctx.accum(0x00FF);
  return ctx.read() == 0xCA01 ? 0 : 1;
}
