// SPDX-License-Identifier: Apache-2.0
// Configured (not built) by the add_subdirectory test.
#include "atomik/context.hpp"

int main() {
  atomik::Context64 ctx(1);
  ctx.accum(1);
  return ctx.read() == 0 ? 0 : 1;
}
