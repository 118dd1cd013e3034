// SPDX-License-Identifier: Apache-2.0
// A peer that stops reading for a while: its node queues live deltas up to
// half of max_queued_bytes, then skips them (slow_peer_skips) and, once the
// queue drains, catches the peer up in one go, by itself: these tests set
// the sync period to an hour, so neither side's periodic SYNC can do it.
// The peer is stalled deterministically: its network thread blocks in its
// own NodeHooks::on_local_batch until the test releases it. Every wait has
// a deadline (wait_until); nothing sleeps to synchronise.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "atomik/node.hpp"
#include "node_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using testing::TempDir;
using testing::wait_until;

using Model = std::map<Addr, std::uint64_t>;

NodeOptions opts(const std::string& dir) {
  NodeOptions o = testing::node_options(dir);
  o.sync_interval_ms = 3'600'000;  // never within a test
  o.idle_timeout_ms = 0;
  return o;
}

std::unique_ptr<Node> start(const NodeOptions& o) {
  return testing::start_node(o);
}

// B's network thread, blocked in its own on_local_batch hook until
// release(): it reads nothing from A meanwhile.
struct Stall {
  std::promise<void> gate;
  std::shared_future<void> opened{gate.get_future().share()};
  std::atomic<bool> armed{true};
  void hook() {
    if (armed.exchange(false)) opened.wait();
  }
  void release() { gate.set_value(); }
};

// A writes while B is stalled until A skips live deltas for B; after B is
// released, B ends with everything A acknowledged, the same digest, no
// disconnect. With `tiny_log` A retains 1024 deltas only, so B's catch-up
// is a state transfer; A's writers keep writing during it.
void run(std::uint64_t seed, bool tiny_log) {
  TempDir d(tiny_log ? "lag-state" : "lag-frames");
  NodeOptions oa = opts(d.sub("a"));
  oa.max_queued_bytes = std::size_t{1} << 20;
  oa.max_packet_bytes = 64 << 10;  // frames of 4 K deltas
  if (tiny_log) oa.retain_per_origin = 1024;
  auto a = start(oa);
  ASSERT_NE(a, nullptr);
  Stall stall;
  NodeOptions ob = opts(d.sub("b"));
  ob.peers = {a->listen_address()};
  ob.hooks.on_local_batch = [&stall](Seq, std::span<const FrameRecord>) {
    stall.hook();
  };
  auto b = start(ob);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(wait_until([&] { return !a->status().peers.empty(); }));

  Model model;
  auto rng = testing::rng(seed);
  ASSERT_TRUE(b->accum(9999, 0x5a).ok());  // stalls B's network thread
  model[9999] ^= 0x5a;
  auto write = [&](std::size_t n) {
    std::vector<FrameRecord> batch(n);
    for (auto& r : batch) {
      r = {static_cast<Addr>(rng() % 5000), rng()};
      model[r.addr] ^= r.delta;
    }
    return a->accum_batch(batch).ok();
  };
  // Until A skips B (the socket buffers fill first; bounded: 256 MiB).
  for (int k = 0; k < 4096 && a->stats().slow_peer_skips == 0; ++k) {
    ASSERT_TRUE(write(4096));
  }
  ASSERT_GE(a->stats().slow_peer_skips, 1u) << "B was never behind";
  // More while B is behind: not queued for B either.
  const std::uint64_t skips = a->stats().slow_peer_skips;
  for (int k = 0; k < 8; ++k) ASSERT_TRUE(write(4096));
  EXPECT_GT(a->stats().slow_peer_skips, skips);
  std::vector<std::thread> writers;
  std::atomic<bool> stop{false};
  std::vector<Model> writer_models(3);
  if (tiny_log) {
    // Writers that never pause while B catches up, three at once so that
    // some own delta is nearly always waiting for the disk: the state
    // transfer must not wait for a moment without one.
    for (std::size_t w = 0; w < writer_models.size(); ++w) {
      writers.emplace_back([&, w] {
        auto wrng = testing::rng(seed + 1 + w);
        std::vector<FrameRecord> batch(64);
        for (int k = 0; k < 1'000'000 && !stop.load(); ++k) {
          for (auto& r : batch) {
            r = {static_cast<Addr>(5000 + 100 * w + wrng() % 100), wrng()};
            writer_models[w][r.addr] ^= r.delta;
          }
          if (!a->accum_batch(batch).ok()) return;
        }
      });
    }
  }
  stall.release();
  if (tiny_log) {
    // B holds a state transfer while the writer still writes.
    EXPECT_TRUE(
        wait_until([&] { return b->stats().state_transfers_installed >= 1; }));
    stop = true;
    for (auto& t : writers) t.join();
    for (const Model& m : writer_models) {
      for (const auto& [addr, x] : m) model[addr] ^= x;
    }
  }
  ASSERT_TRUE(wait_until([&] {
    return b->version_vector() == a->version_vector() &&
           b->digest() == a->digest();
  })) << "B did not catch up without a periodic SYNC";
  std::vector<std::pair<Addr, std::uint64_t>> want;
  for (const auto& [addr, v] : model)
    if (v != 0) want.emplace_back(addr, v);
  EXPECT_EQ(b->snapshot(), want);
  EXPECT_EQ(a->stats().slow_peer_disconnects, 0u);
  if (tiny_log) {
    EXPECT_GE(a->stats().state_transfers_sent, 1u);
  } else {
    EXPECT_EQ(a->stats().state_transfers_sent, 0u);  // retained frames did
  }
}

TEST(NodeLaggingTest, StalledPeerIsCaughtUpFromTheRetainedLogAfterItDrains) {
  run(testing::test_seed(), /*tiny_log=*/false);
}

TEST(NodeLaggingTest, StalledPeerGetsAStateTransferWhileWritersContinue) {
  run(testing::test_seed() + 7, /*tiny_log=*/true);
}

}  // namespace
}  // namespace atomik
