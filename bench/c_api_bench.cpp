// SPDX-License-Identifier: Apache-2.0
// c_api_bench.cpp: the C API's accum against the C++ Context::accum, in the
// same run, reported as a ratio; and the heap allocations of the C path.
//
// Two C++ baselines, both Context64::accum inlined into the loop as C++
// callers get it, reading deltas from the same 4 KiB array as the C path:
//   in memory:   benchmark::DoNotOptimize(ctx) after each call, so the
//                context is stored and reloaded between calls, as an
//                object that other code observes between calls is;
//   in register: only the delta is opaque (opaque(), an empty asm without
//                the memory clobber of DoNotOptimize), so the compiler
//                keeps the accumulator in a register for the whole loop:
//                the best case C++ gets, one XOR per delta.
// The C path is atomik_context_accum through the library: a real call (no
// LTO), a NULL check, a width check and the dispatch on the handle's word
// type; its context is necessarily in memory.
//
// After the Google Benchmark cases, main() times both loops back to back in
// rounds (interleaved, so load drift hits both) and prints the median
// ratio, plus the malloc/new count across all C-API calls of the rounds
// (tests/alloc_counter.hpp), which must be 0. Figures: docs/performance.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "atomik/atomik.h"
#include "atomik/context.hpp"

namespace {

constexpr std::size_t kDeltas = 512;  // 4 KiB: stays in L1
constexpr std::size_t kMask = kDeltas - 1;

const std::vector<std::uint64_t>& deltas() {
  static const std::vector<std::uint64_t> v = [] {
    std::vector<std::uint64_t> d(kDeltas);
    std::mt19937_64 g(42);
    for (auto& x : d) x = g();
    return d;
  }();
  return v;
}

atomik_context* new_c_context() {
  atomik_context* ctx = nullptr;
  if (atomik_context_new(64, ATOMIK_GROUP_XOR, &ctx) != ATOMIK_OK) {
    std::fprintf(stderr, "%s\n", atomik_last_error());
    std::abort();
  }
  return ctx;
}

void BM_CppContextAccum(benchmark::State& state) {
  const std::uint64_t* d = deltas().data();
  atomik::Context64 ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    ctx.accum(d[i++ & kMask]);
    benchmark::DoNotOptimize(ctx);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CppContextAccum);

// Hides d's value from the optimiser without forcing memory to be written
// (benchmark::DoNotOptimize clobbers memory, which would store the context).
inline void opaque(std::uint64_t& d) { asm volatile("" : "+r"(d)); }

void BM_CppContextAccumInRegister(benchmark::State& state) {
  const std::uint64_t* p = deltas().data();
  atomik::Context64 ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    std::uint64_t d = p[i++ & kMask];
    opaque(d);
    ctx.accum(d);
  }
  benchmark::DoNotOptimize(ctx);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CppContextAccumInRegister);

void BM_CApiContextAccum(benchmark::State& state) {
  const std::uint64_t* d = deltas().data();
  atomik_context* ctx = new_c_context();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(atomik_context_accum(ctx, d[i++ & kMask]));
  }
  state.SetItemsProcessed(state.iterations());
  atomik_context_free(ctx);
}
BENCHMARK(BM_CApiContextAccum);

// Many deltas per call: the batch entry points of both APIs.
void BM_CppContextAccumBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint64_t> v(n, 0x5A);
  atomik::Context64 ctx;
  for (auto _ : state) {
    ctx.accum_batch(v);
    benchmark::DoNotOptimize(ctx);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CppContextAccumBatch)->Arg(1)->Arg(16)->Arg(512);

void BM_CApiContextAccumBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint64_t> v(n, 0x5A);
  atomik_context* ctx = new_c_context();
  for (auto _ : state) {
    benchmark::DoNotOptimize(atomik_context_accum_batch(ctx, v.data(), n));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  atomik_context_free(ctx);
}
BENCHMARK(BM_CApiContextAccumBatch)->Arg(1)->Arg(16)->Arg(512);

using Clock = std::chrono::steady_clock;

// ns per accum of `calls` C++ accums (the baseline loop above).
double time_cpp(std::size_t calls) {
  const std::uint64_t* d = deltas().data();
  atomik::Context64 ctx;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    ctx.accum(d[i & kMask]);
    benchmark::DoNotOptimize(ctx);
  }
  const auto t1 = Clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() /
         static_cast<double>(calls);
}

// The same with the accumulator free to stay in a register.
double time_cpp_in_register(std::size_t calls) {
  const std::uint64_t* p = deltas().data();
  atomik::Context64 ctx;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    std::uint64_t d = p[i & kMask];
    opaque(d);
    ctx.accum(d);
  }
  benchmark::DoNotOptimize(ctx);
  const auto t1 = Clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() /
         static_cast<double>(calls);
}

// ns per accum of `calls` C-API accums; failures are counted in *errors.
double time_c(atomik_context* ctx, std::size_t calls, std::uint64_t* errors) {
  const std::uint64_t* d = deltas().data();
  std::uint64_t bad = 0;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    bad += atomik_context_accum(ctx, d[i & kMask]) != ATOMIK_OK ? 1 : 0;
  }
  const auto t1 = Clock::now();
  *errors += bad;
  return std::chrono::duration<double, std::nano>(t1 - t0).count() /
         static_cast<double>(calls);
}

// ns per delta of atomik_context_accum_batch over the 512-delta array.
double time_c_batch(atomik_context* ctx, std::size_t deltas_total,
                    std::uint64_t* errors) {
  const std::uint64_t* d = deltas().data();
  std::uint64_t bad = 0;
  const std::size_t calls = deltas_total / kDeltas;
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    bad += atomik_context_accum_batch(ctx, d, kDeltas) != ATOMIK_OK ? 1 : 0;
  }
  const auto t1 = Clock::now();
  *errors += bad;
  return std::chrono::duration<double, std::nano>(t1 - t0).count() /
         static_cast<double>(calls * kDeltas);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Interleaved rounds; prints the medians and the ratio. Returns 1 if a C
// call failed or allocated.
int report_ratio() {
  constexpr int kRounds = 9;
  constexpr std::size_t kCalls = std::size_t{1} << 23;
  atomik_context* ctx = new_c_context();
  std::vector<double> cpp;
  std::vector<double> cpp_reg;
  std::vector<double> c;
  std::vector<double> ratio;
  std::vector<double> ratio_reg;
  std::vector<double> batch;
  std::vector<double> ratio_batch;
  std::uint64_t errors = 0;
  std::uint64_t allocs = 0;
  for (int r = 0; r < kRounds; ++r) {
    const double a = time_cpp(kCalls);
    const double a_reg = time_cpp_in_register(kCalls);
    const std::uint64_t before = atomik::testing::alloc_count();
    const double b = time_c(ctx, kCalls, &errors);
    const double b_batch = time_c_batch(ctx, kCalls, &errors);
    allocs += atomik::testing::alloc_count() - before;
    cpp.push_back(a);
    c.push_back(b);
    cpp_reg.push_back(a_reg);
    ratio.push_back(b / a);
    ratio_reg.push_back(b / a_reg);
    batch.push_back(b_batch);
    ratio_batch.push_back(b_batch / a_reg);
  }
  atomik_context_free(ctx);
  std::printf(
      "c_api accum: median of %d rounds x %zu calls: C API %.3f ns; "
      "C++ in memory %.3f ns, ratio %.2fx; C++ in register %.3f ns, "
      "ratio %.2fx (target <= 1.5x)\n",
      kRounds, kCalls, median(c), median(cpp), median(ratio), median(cpp_reg),
      median(ratio_reg));
  std::printf(
      "c_api accum_batch(512): %.3f ns per delta, ratio %.2fx to C++ accum "
      "in register\n",
      median(batch), median(ratio_batch));
  if (atomik::testing::kAllocCounterActive) {
    std::printf(
        "c_api accum allocations: %llu in %llu accum calls and %llu "
        "accum_batch calls\n",
        static_cast<unsigned long long>(allocs),
        static_cast<unsigned long long>(kRounds * kCalls),
        static_cast<unsigned long long>(kRounds * kCalls / kDeltas));
  } else {
    std::printf("c_api accum allocations: not counted (sanitizer build)\n");
  }
  if (errors != 0) {
    std::printf("c_api accum: %llu calls failed\n",
                static_cast<unsigned long long>(errors));
  }
  return errors == 0 && allocs == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return report_ratio();
}
