// SPDX-License-Identifier: Apache-2.0
// Two Nodes on loopback and the replication workload that replication_bench
// and group_bench time, with an alternating comparison of two setups.
//
// The workload (one round): 4 producer threads x 16 accum_batch() calls of
// one batch into A (dense 4096-address tables, the default durability
// policy kEveryRecord: each batch is fdatasynced before it is acknowledged
// and sent; concurrent batches share fdatasyncs); the round ends when B
// has applied every delta (B's mark for A reaches A's last seq).
//
// alternate() compares two setups (say with and without metrics) in one
// run: a node pair of each, rounds taken in turn (alternate.hpp).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "alternate.hpp"
#include "atomik/node.hpp"

namespace atomik_bench {

using Clock = std::chrono::steady_clock;

// Two nodes, B peering A. `configure` adjusts the options of both (group,
// logging) before they start; ok() is false when either failed to start.
class NodePair {
 public:
  explicit NodePair(
      const std::string& tag,
      const std::function<void(atomik::NodeOptions&)>& configure = {}) {
    static std::atomic<int> serial{0};  // pairs alive at once differ
    dir_ = std::filesystem::temp_directory_path() /
           ("atomik-" + tag + "-" + std::to_string(::getpid()) + "-" +
            std::to_string(serial.fetch_add(1)));
    std::filesystem::remove_all(dir_);
    atomik::NodeOptions o;
    o.listen = "127.0.0.1:0";
    o.log = false;
    o.storage.num_contexts = 4096;  // a dense table; durability: default
    if (configure) configure(o);
    o.data_dir = (dir_ / "a").string();
    auto na = atomik::Node::start(o);
    if (!na.ok()) return;
    a_ = std::move(*na);
    o.data_dir = (dir_ / "b").string();
    o.peers = {a_->listen_address()};
    auto nb = atomik::Node::start(o);
    if (!nb.ok()) return;
    b_ = std::move(*nb);
    // Wait (bounded) for the connection.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (a_->status().peers.empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  NodePair(const NodePair&) = delete;
  NodePair& operator=(const NodePair&) = delete;
  virtual ~NodePair() {
    a_.reset();
    b_.reset();
    std::filesystem::remove_all(dir_);
  }

  bool ok() const { return a_ != nullptr && b_ != nullptr; }
  atomik::Node& a() { return *a_; }
  atomik::Node& b() { return *b_; }

  // One round of the workload with `recs` as every batch. Returns its
  // seconds, or a negative value with *error set.
  double round(const std::vector<atomik::FrameRecord>& recs,
               std::string* error) {
    const auto t0 = Clock::now();
    std::atomic<bool> failed{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < 4; ++t) {
      producers.emplace_back([&] {
        for (int k = 0; k < 16; ++k) {
          if (!a_->accum_batch(recs).ok()) failed.store(true);
        }
      });
    }
    for (auto& t : producers) t.join();
    if (failed.load()) {
      *error = "accum_batch failed";
      return -1;
    }
    sent_ += 64 * recs.size();
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (b_mark() < sent_ && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    if (b_mark() < sent_) {
      *error = "B did not catch up within 60 s";
      return -1;
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  static constexpr std::size_t kBatchesPerRound = 64;

  bool converged() const { return a_->digest() == b_->digest(); }

 private:
  atomik::Seq b_mark() const { return b_->version_vector().get(a_->origin()); }

  std::filesystem::path dir_;
  std::unique_ptr<atomik::Node> a_, b_;
  atomik::Seq sent_ = 0;
};

// `batch` random deltas over the 4096 addresses (fixed seed).
inline std::vector<atomik::FrameRecord> workload(std::size_t batch) {
  std::mt19937_64 g(1);
  std::vector<atomik::FrameRecord> recs(batch);
  for (auto& r : recs) r = {static_cast<atomik::Addr>(g() % 4096), g()};
  return recs;
}

// One warm-up round on each pair, then `rounds` rounds on each, taken in
// turn (x y, y x, x y, ...: each pair of neighbours runs in the same spell
// of a shared machine, and neither setup always goes first). `active` (if
// set) is told which pair runs next (true: y), e.g. to pause work that
// belongs to y only. Both pairs must end with equal digests.
inline Alternated alternate(NodePair& x, NodePair& y, int rounds,
                            const std::vector<atomik::FrameRecord>& recs,
                            const std::function<void(bool)>& active = {}) {
  auto one = [&](bool on_y, std::string* error) {
    if (active) active(on_y);
    return (on_y ? y : x).round(recs, error);
  };
  Alternated out;
  if (one(false, &out.error) < 0 || one(true, &out.error) < 0) {
    return out;  // warm-up
  }
  out = alternate_rounds(
      rounds, static_cast<double>(NodePair::kBatchesPerRound * recs.size()),
      one);
  if (active) active(false);
  if (out.error.empty() && (!x.converged() || !y.converged())) {
    out.error = "digests differ";
  }
  return out;
}

}  // namespace atomik_bench
