// SPDX-License-Identifier: Apache-2.0
// The README's quick-start example: load, accum, read, swap, undo.
#include <cstdio>

#include "atomik/atomik.hpp"

int main() {
  atomik::Context64 ctx;
  ctx.load(0xCAFE);   // reference state
  ctx.accum(0x00FF);  // a delta
  std::printf("state %s\n", atomik::to_hex(ctx.read()).c_str());  // 0x...ca01
  ctx.accum(0x00FF);                       // XOR is self-inverse: undone
  const std::uint64_t epoch = ctx.swap();  // close the epoch: 0xcafe
  auto table = atomik::DeltaTable<>::dense(256);
  atomik::Status s = table->accum(300, 1);  // out of range: a Status, not UB
  std::printf("epoch %s; %s\n", atomik::to_hex(epoch).c_str(),
              s.to_string().c_str());
  return (epoch == 0xCAFE && !s.ok()) ? 0 : 1;
}
