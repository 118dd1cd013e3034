// SPDX-License-Identifier: Apache-2.0
// `atomik node --redis` and origin incarnations (docs/design.md
// "Incarnations"), against a private redis-server (tests/redis_server.hpp):
// a node restarted on its table starts a new origin (its peer never
// answers, or it has none), and its later own deltas reach another node
// through Redis under the new origin from seq 1, applied once, while the
// deltas of the old origin stay applied once. Every wait polls with a
// deadline; nothing sleeps to synchronise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "atomik/node.hpp"
#include "atomik/redis.hpp"
#include "redis_server.hpp"
#include "redis_test_util.hpp"
#include "storage_test_util.hpp"
#include "wait_until.hpp"

namespace atomik {
namespace {

using testing::RedisServer;
using testing::state_of;
using testing::wait_until;

class RedisIncarnationTest : public ::testing::Test {
 protected:
  bool start_server() {
    server_ = RedisServer::start({});
    return server_ != nullptr;
  }
  RedisOptions options() const {
    return testing::fast_redis_options(server_->url());
  }
  // Node `a`: with `peer` (never answering) or none; a short hold.
  std::unique_ptr<RedisReplicator> start_a(bool with_peer) {
    NodeOptions o;
    o.data_dir = dir_.sub("a");
    o.listen = "127.0.0.1:0";
    o.sync_interval_ms = 50;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 200;
    o.incarnation_timeout_ms = 200;
    // Port 1 on loopback: nothing listens, so no peer ever answers.
    if (with_peer) o.peers = {"127.0.0.1:1"};
    auto r = RedisReplicator::start_node(o, options());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  }
  // Runs the scenario: a publishes 3 deltas, restarts (new incarnation),
  // publishes 2 more; b (reading Redis) holds all 5, each applied once.
  void run(bool with_peer) {
    auto b = RedisReplicator::start(dir_.sub("b"), {}, options());
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    std::map<Addr, std::uint64_t> want;
    OriginId first = 0;
    {
      auto a = start_a(with_peer);
      ASSERT_TRUE(a);
      first = a->origin();
      for (Addr i = 1; i <= 3; ++i) {
        ASSERT_TRUE(a->accum(i, 0x10 + i).ok());
        want[i] ^= 0x10 + i;
      }
      ASSERT_TRUE(a->wait_published(10000).ok());
      ASSERT_TRUE(a->stop().ok());
    }
    ASSERT_TRUE(wait_until([&] { return state_of(**b) == want; }));
    auto a = start_a(with_peer);
    ASSERT_TRUE(a);
    // accum waits for the hold to end: a new origin after the timeout
    // (with the peer) or at once (without).
    ASSERT_TRUE(a->accum(1, 0x0F00).ok());
    want[1] ^= 0x0F00;
    ASSERT_TRUE(a->accum(9, 0x99).ok());
    want[9] ^= 0x99;
    const OriginId second = a->node()->origin();
    EXPECT_NE(second, first);
    EXPECT_EQ(a->origin(), second);
    EXPECT_EQ(a->node()->stats().incarnations, 1u);
    EXPECT_TRUE(a->wait_published(10000).ok());
    EXPECT_TRUE(wait_until([&] { return state_of(**b) == want; }))
        << "b did not get the deltas of the new origin";
    EXPECT_EQ((*b)->version_vector().get(first), 3u);
    EXPECT_EQ((*b)->version_vector().get(second), 2u);
    const RedisStats bs = (*b)->stats();
    EXPECT_EQ(bs.deltas_applied, 5u);
    EXPECT_EQ(bs.deltas_duplicate, 0u);
    EXPECT_EQ(bs.frames_gap, 0u);
    EXPECT_EQ(a->stats().deltas_published, 2u);
  }

  // Runs `cmd` on the test's server; its reply line.
  std::string redis(const std::string& cmd) {
    return testing::redis_inline_command(server_->port(), cmd);
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisServer> server_;
};

#define ATOMIK_START_REDIS() \
  if (!start_server())       \
  GTEST_SKIP() << "redis-server cannot start: " << RedisServer::why_not()

// The peer never answers: the new incarnation starts on the network thread
// while the replicator runs (NodeHooks::on_incarnation).
TEST_F(RedisIncarnationTest, IncarnationAfterTimeoutPublishesUnderNewOrigin) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/true);
}

// No peer: the new incarnation starts inside Node::start, before the
// replicator runs; REDIS_STATE's positions were the old origin's.
TEST_F(RedisIncarnationTest, IncarnationAtStartPublishesUnderNewOrigin) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/false);
}

// Redis refuses XADD (an ACL) while the node restarts, so own deltas of
// the old origin still wait in the outbox when the new incarnation starts
// and the publisher has not switched to the new origin when its first
// deltas are acknowledged. Deltas of both origins count as unpublished, and
// wait_published waits for all of them (the publish positions are the old
// origin's until the switch; they are not a measure of the new one's).
TEST_F(RedisIncarnationTest, DeltasOfBothOriginsWaitUntilPublished) {
  ATOMIK_START_REDIS();
  auto b = RedisReplicator::start(dir_.sub("b"), {}, options());
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::map<Addr, std::uint64_t> want;
  OriginId first = 0;
  {
    auto a = start_a(/*with_peer=*/true);
    ASSERT_TRUE(a);
    first = a->origin();
    for (Addr i = 1; i <= 5; ++i) {
      if (i == 4) {
        ASSERT_TRUE(a->wait_published(10000).ok());
        ASSERT_EQ(redis("ACL SETUSER default -xadd"), "+OK\r\n");
      }
      ASSERT_TRUE(a->accum(i, 0x10 + i).ok());
      want[i] ^= 0x10 + i;
    }
    EXPECT_EQ(a->unpublished(), 2u);
    ASSERT_TRUE(a->stop().ok());
  }
  auto a = start_a(/*with_peer=*/true);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->accum(1, 0x0F00).ok());  // after the hold: a new origin
  want[1] ^= 0x0F00;
  ASSERT_TRUE(a->accum(9, 0x99).ok());
  want[9] ^= 0x99;
  const OriginId second = a->node()->origin();
  ASSERT_NE(second, first);
  EXPECT_EQ(a->unpublished(), 4u) << "2 of the old origin, 2 of the new";
  EXPECT_FALSE(a->wait_published(0).ok());
  ASSERT_EQ(redis("ACL SETUSER default +xadd"), "+OK\r\n");
  ASSERT_TRUE(a->wait_published(10000).ok());
  EXPECT_EQ(a->unpublished(), 0u);
  EXPECT_EQ(a->stats().deltas_published, 4u);
  EXPECT_TRUE(wait_until([&] { return state_of(**b) == want; }));
  EXPECT_EQ((*b)->version_vector().get(first), 5u);
  EXPECT_EQ((*b)->version_vector().get(second), 2u);
  const RedisStats bs = (*b)->stats();
  EXPECT_EQ(bs.deltas_applied, 7u);
  EXPECT_EQ(bs.deltas_duplicate, 0u);
  EXPECT_EQ(bs.frames_gap, 0u);
}

}  // namespace
}  // namespace atomik
