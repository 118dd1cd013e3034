// SPDX-License-Identifier: Apache-2.0
// Counter tables against XOR tables between two Nodes on loopback, in the
// same run (target: add >= 0.9x xor).
//
//   BM_GroupThroughput/batch:N/add:G: the workload of node_pair.hpp (also
//     replication_bench's BM_ReplicationThroughput: dense 4096-address
//     tables, kEveryRecord, 4 threads x 16 accum_batch() of N deltas into
//     A per round; the clock stops when B has applied every delta), with
//     both tables of the xor group (add:0) or the add group (add:1).
//   BM_GroupAddOverXor: an xor and an add pair, rounds alternating in one
//     run; counters: the medians of the rates and add_over_xor (the
//     median of the per-round ratios), and a line "add / xor (two TCP
//     nodes, ...)".
// Run: build/release/bench/group_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>

#include "atomik/node.hpp"
#include "node_pair.hpp"

namespace {

using atomik_bench::NodePair;

std::unique_ptr<NodePair> make_pair(bool add) {
  return std::make_unique<NodePair>(
      "group-bench", [add](atomik::NodeOptions& o) {
        if (add) o.storage.group = atomik::TableGroup::kAdd;
      });
}

void BM_GroupThroughput(benchmark::State& state) {
  const auto recs =
      atomik_bench::workload(static_cast<std::size_t>(state.range(0)));
  auto p = make_pair(state.range(1) != 0);
  if (!p->ok()) {
    state.SkipWithError("Node::start failed");
    return;
  }
  std::uint64_t total = 0;
  double secs = 0;
  for (auto _ : state) {
    std::string error;
    const double s = p->round(recs, &error);
    if (s < 0) {
      state.SkipWithError(error.c_str());
      return;
    }
    secs += s;
    total += NodePair::kBatchesPerRound * recs.size();
  }
  if (!p->converged()) state.SkipWithError("digests differ");
  const double rate = static_cast<double>(total) / secs;
  state.counters["deltas_per_s"] = rate;
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
}
BENCHMARK(BM_GroupThroughput)
    ->ArgNames({"batch", "add"})
    ->Args({65536, 0})
    ->Args({65536, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// An xor pair and an add pair, rounds alternating (atomik_bench::alternate),
// 30 of each: the medians of the rates and of the per-round ratios (the
// figure of record).
void BM_GroupAddOverXor(benchmark::State& state) {
  const auto recs = atomik_bench::workload(65536);
  atomik_bench::Alternated r;
  for (auto _ : state) {
    auto x = make_pair(false);
    auto y = make_pair(true);
    if (!x->ok() || !y->ok()) {
      state.SkipWithError("Node::start failed");
      return;
    }
    r = atomik_bench::alternate(*x, *y, 30, recs);
  }
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  atomik_bench::report_add_over_xor(state, r, "two TCP nodes, batch 65536");
}
BENCHMARK(BM_GroupAddOverXor)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
