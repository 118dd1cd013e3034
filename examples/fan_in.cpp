// SPDX-License-Identifier: Apache-2.0
// Seed pattern 1, accumulator fan-in: four threads each accum one delta into
// one context, with no lock and no coordination; the result is exact.
//
// The seed (Python): ctx.load(0); thread i accums 0xFF << (i*8);
// print(f"0x{ctx.read():08x}")  # 0xff_ff_ff_ff
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"

int main() {
  atomik::ConcurrentContext<std::uint64_t> ctx;
  ctx.load(0);

  auto worker = [&ctx](std::vector<std::uint64_t> deltas) {
    for (std::uint64_t d : deltas)
      ctx.accum(d);  // lock-free, order-independent
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 4; ++i) {
    threads.emplace_back(worker,
                         std::vector<std::uint64_t>{0xFFULL << (i * 8)});
  }
  for (auto& t : threads) t.join();

  const std::uint64_t state = ctx.read();
  std::printf("0x%08llx\n", static_cast<unsigned long long>(state));
  if (state != 0xFFFFFFFFULL) {
    std::fprintf(stderr, "fan_in: expected 0xffffffff\n");
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
