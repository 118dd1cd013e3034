// SPDX-License-Identifier: Apache-2.0
// Context::accum_batch against a plain XOR-reduce loop over the same array
// (the baseline, measured in the same run). Sizes: 0, 1, 4 KiB (L1),
// 1 MiB (L2) and 256 MiB (DRAM). Figures: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "atomik/context.hpp"

namespace {

const std::vector<std::uint64_t>& deltas(std::size_t n) {
  static std::vector<std::uint64_t> v;
  if (v.size() != n) {
    v.assign(n, 0);
    std::mt19937_64 g(42);
    for (auto& x : v)
      x = g();  // touches every page: no first-touch cost in the loop
  }
  return v;
}

void set_counters(benchmark::State& state, std::size_t n) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(
      static_cast<std::int64_t>(state.iterations() * n * 8));
}

// Baseline: the plain loop a user would write.
void BM_PlainXorReduce(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& v = deltas(n);
  for (auto _ : state) {
    std::uint64_t acc = 0;
    const std::uint64_t* p = v.data();
    benchmark::DoNotOptimize(p);
    for (std::size_t i = 0; i < n; ++i) acc ^= p[i];
    benchmark::DoNotOptimize(acc);
  }
  set_counters(state, n);
}

void BM_ContextAccumBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& v = deltas(n);
  atomik::Context64 ctx;
  for (auto _ : state) {
    benchmark::DoNotOptimize(v.data());
    ctx.accum_batch(v);
    benchmark::DoNotOptimize(ctx);
  }
  set_counters(state, n);
}

void BM_ContextAccumOne(benchmark::State& state) {
  atomik::Context64 ctx;
  std::uint64_t d = 0x9E3779B97F4A7C15ULL;
  for (auto _ : state) {
    ctx.accum(d);
    benchmark::DoNotOptimize(ctx);
    d += 1;
  }
  state.SetItemsProcessed(state.iterations());
}

#define SIZES ->Arg(0)->Arg(1)->Arg(512)->Arg(128 << 10)->Arg(32 << 20)
BENCHMARK(BM_PlainXorReduce) SIZES;
BENCHMARK(BM_ContextAccumBatch) SIZES;
BENCHMARK(BM_ContextAccumOne);

}  // namespace
