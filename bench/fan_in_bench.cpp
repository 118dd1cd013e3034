// SPDX-License-Identifier: Apache-2.0
// Thread and process fan-in against the baselines a user would reach for,
// measured in the same run: one shared std::atomic with fetch_xor, and a
// std::mutex around a plain XOR. Run with 2 threads (this machine's cores).
// Also the latency of swap() (a consistent cut) while 2 writers run, with
// its p50 and p99 as counters.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"
#include "atomik/shared_context.hpp"

namespace {

std::atomic<std::uint64_t> g_shared_word{0};
std::mutex g_mu;
std::uint64_t g_locked_word = 0;
atomik::ConcurrentContext<> g_ctx;

void BM_SharedAtomicFetchXor(benchmark::State& state) {
  std::uint64_t d = static_cast<std::uint64_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    g_shared_word.fetch_xor(d, std::memory_order_relaxed);
    d += 2;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MutexXor(benchmark::State& state) {
  std::uint64_t d = static_cast<std::uint64_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_locked_word ^= d;
    d += 2;
  }
  state.SetItemsProcessed(state.iterations());
}

// ConcurrentContext::accum(): the thread finds its cell through a
// thread-local cache.
void BM_ConcurrentContextAccum(benchmark::State& state) {
  std::uint64_t d = static_cast<std::uint64_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    g_ctx.accum(d);
    d += 2;
  }
  state.SetItemsProcessed(state.iterations());
}

// ConcurrentContext::Writer: an explicitly claimed cell.
void BM_ConcurrentContextWriter(benchmark::State& state) {
  auto w = g_ctx.writer();
  if (!w.ok()) {
    state.SkipWithError(w.status().to_string().c_str());
    return;
  }
  std::uint64_t d = static_cast<std::uint64_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    w->accum(d);
    d += 2;
  }
  state.SetItemsProcessed(state.iterations());
}

// Two forked processes, each folding `n` deltas into one shared-memory
// context. Manual time: from fork to both exits.
void BM_SharedContextProcesses(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const std::string name = "/atomik-bench-" + std::to_string(::getpid());
  (void)atomik::SharedContext<>::unlink(name);
  auto ctx = atomik::SharedContext<>::create(name, 0);
  if (!ctx.ok()) {
    state.SkipWithError(ctx.status().to_string().c_str());
    return;
  }
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    pid_t kids[2];
    for (pid_t& pid : kids) {
      pid = ::fork();
      if (pid == 0) {
        auto c = atomik::SharedContext<>::open(name);
        if (!c.ok()) ::_exit(1);
        std::uint64_t d = 1;
        for (std::uint64_t i = 0; i < n; ++i) {
          c->accum(d);
          d += 2;
        }
        ::_exit(0);
      }
    }
    for (pid_t pid : kids) ::waitpid(pid, nullptr, 0);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  state.SetItemsProcessed(
      static_cast<std::int64_t>(state.iterations() * 2 * n));
  (void)atomik::SharedContext<>::unlink(name);
}

// Per-call latency of a closing call while two writer threads accum as fast
// as they can; p50 and p99 over every call of the run. Manual time: the sum
// of the measured calls.
template <typename Swap>
void swap_latency(benchmark::State& state, Swap swap_once,
                  const std::function<void(std::atomic<bool>&)>& writer) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) writers.emplace_back([&] { writer(stop); });
  std::vector<double> ns;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(swap_once());
    const std::chrono::duration<double> d =
        std::chrono::steady_clock::now() - t0;
    state.SetIterationTime(d.count());
    ns.push_back(d.count() * 1e9);
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  std::sort(ns.begin(), ns.end());
  if (!ns.empty()) {
    state.counters["p50_ns"] = ns[ns.size() / 2];
    state.counters["p99_ns"] = ns[ns.size() * 99 / 100];
  }
}

void BM_ConcurrentContextSwapLatency(benchmark::State& state) {
  atomik::ConcurrentContext<> ctx;
  swap_latency(
      state, [&] { return ctx.swap(); },
      [&](std::atomic<bool>& stop) {
        auto w = ctx.writer();
        std::uint64_t d = 1;
        while (!stop.load(std::memory_order_relaxed)) {
          for (int i = 0; i < 256; ++i) w->accum(d += 2);
        }
      });
}

void BM_SharedContextSwapLatency(benchmark::State& state) {
  const std::string name = "/atomik-bench-swap-" + std::to_string(::getpid());
  (void)atomik::SharedContext<>::unlink(name);
  auto ctx = atomik::SharedContext<>::create(name, 0);
  if (!ctx.ok()) {
    state.SkipWithError(ctx.status().to_string().c_str());
    return;
  }
  swap_latency(
      state, [&] { return *ctx->swap(); },
      [&](std::atomic<bool>& stop) {
        auto c = atomik::SharedContext<>::open(name);
        if (!c.ok()) return;
        std::uint64_t d = 1;
        while (!stop.load(std::memory_order_relaxed)) {
          for (int i = 0; i < 256; ++i) c->accum(d += 2);
        }
      });
  (void)atomik::SharedContext<>::unlink(name);
}

BENCHMARK(BM_SharedAtomicFetchXor)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_MutexXor)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_ConcurrentContextAccum)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_ConcurrentContextWriter)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_SharedContextProcesses)
    ->Arg(100'000'000)
    ->UseManualTime()
    ->Iterations(3);
BENCHMARK(BM_ConcurrentContextSwapLatency)->UseManualTime()->Iterations(20000);
BENCHMARK(BM_SharedContextSwapLatency)->UseManualTime()->Iterations(20000);

}  // namespace
