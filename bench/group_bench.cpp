// SPDX-License-Identifier: Apache-2.0
// Counter tables against XOR tables between two Nodes on loopback, in the
// same run (target: add >= 0.9x xor).
//
//   BM_GroupThroughput/batch:N/add:G: the workload of replication_bench's
//     BM_ReplicationThroughput (dense 4096-address tables, kEveryRecord,
//     4 threads x 16 accum_batch() of N deltas into A per iteration; the
//     clock stops when B has applied every delta), with both tables of the
//     xor group (add:0) or the add group (add:1, counters).
//   BM_GroupSummary: the add / xor ratio of the medians of the measured
//     runs above (Google Benchmark's sizing runs excluded), as a counter
//     and a line "add / xor (two TCP nodes, ...)".
// Run: build/release/bench/group_bench --benchmark_min_time=0.2
//      --benchmark_repetitions=3
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "atomik/node.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Rates of the measured runs: [0] xor, [1] add, with their iteration count.
std::vector<std::pair<benchmark::IterationCount, double>> g_rates[2];

// The median of the runs with the most iterations (the ones Google
// Benchmark reports; it first calls a benchmark with few to size it).
double median(
    const std::vector<std::pair<benchmark::IterationCount, double>>& runs) {
  benchmark::IterationCount most = 0;
  for (const auto& r : runs) most = std::max(most, r.first);
  std::vector<double> v;
  for (const auto& r : runs) {
    if (r.first == most) v.push_back(r.second);
  }
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Two nodes, B peering A, tables of the given group.
struct Pair {
  std::filesystem::path dir;
  std::unique_ptr<atomik::Node> a, b;
  explicit Pair(bool add) {
    dir = std::filesystem::temp_directory_path() /
          ("atomik-group-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    atomik::NodeOptions o;
    o.listen = "127.0.0.1:0";
    o.log = false;
    o.storage.num_contexts = 4096;  // a dense table; durability: default
    if (add) o.storage.group = atomik::TableGroup::kAdd;
    o.data_dir = (dir / "a").string();
    auto na = atomik::Node::start(o);
    if (!na.ok()) return;
    a = std::move(*na);
    o.data_dir = (dir / "b").string();
    o.peers = {a->listen_address()};
    auto nb = atomik::Node::start(o);
    if (!nb.ok()) return;
    b = std::move(*nb);
    // Wait (bounded) for the connection.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (a->status().peers.empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~Pair() {
    a.reset();
    b.reset();
    std::filesystem::remove_all(dir);
  }
  atomik::Seq b_mark() const { return b->version_vector().get(a->origin()); }
};

void BM_GroupThroughput(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const bool add = state.range(1) != 0;
  Pair p(add);
  if (!p.a || !p.b) {
    state.SkipWithError("Node::start failed");
    return;
  }
  std::mt19937_64 g(1);
  std::vector<atomik::FrameRecord> recs(batch);
  for (auto& r : recs) r = {static_cast<atomik::Addr>(g() % 4096), g()};
  atomik::Seq sent = 0;
  std::uint64_t total = 0;
  double secs = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    std::atomic<bool> failed{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
      producers.emplace_back([&] {
        for (int k = 0; k < 16; ++k) {
          if (!p.a->accum_batch(recs).ok()) failed.store(true);
        }
      });
    }
    for (auto& t : producers) t.join();
    if (failed.load()) {
      state.SkipWithError("accum_batch failed");
      return;
    }
    sent += 64 * batch;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (p.b_mark() < sent && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (p.b_mark() < sent) {
      state.SkipWithError("B did not catch up within 60 s");
      return;
    }
    secs += std::chrono::duration<double>(Clock::now() - t0).count();
    total += 64 * batch;
  }
  if (p.a->digest() != p.b->digest()) state.SkipWithError("digests differ");
  const double rate = static_cast<double>(total) / secs;
  state.counters["deltas_per_s"] = rate;
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  g_rates[add ? 1 : 0].emplace_back(state.iterations(), rate);
}
BENCHMARK(BM_GroupThroughput)
    ->ArgNames({"batch", "add"})
    ->Args({65536, 0})
    ->Args({65536, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Registered last: the ratio of the figures measured above.
void BM_GroupSummary(benchmark::State& state) {
  for (auto _ : state) {
  }
  const double x = median(g_rates[0]);
  const double a = median(g_rates[1]);
  if (x <= 0 || a <= 0) {
    state.SkipWithError("run BM_GroupThroughput add:0 and add:1 first");
    return;
  }
  state.counters["add_over_xor"] = a / x;
  std::printf(
      "add / xor (two TCP nodes, batch 65536, medians): %.2f M / %.2f M "
      "deltas/s = %.3f (target >= 0.9)\n",
      a / 1e6, x / 1e6, a / x);
}
BENCHMARK(BM_GroupSummary)->Iterations(1)->Repetitions(1);

}  // namespace
