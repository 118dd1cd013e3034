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
#include "codec/checksum.hpp"
#include "redis_server.hpp"
#include "redis_test_util.hpp"
#include "storage_test_util.hpp"
#include "transport/redis_format.hpp"
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
  // How the old origin's last deltas leave a.
  enum class Held {
    kNone,       // all published before a stops
    kBlocked,    // Redis refuses XADD (an ACL) from before a stops until
                 // after it restarted as a new origin
    kBlockedV1,  // as kBlocked, and REDIS_STATE is rewritten as version 1
                 // (no origins, as an earlier atomik wrote it)
  };

  // Runs the scenario: a publishes 3 deltas (and with `held` 2 more that
  // Redis does not take yet), restarts (new incarnation: with a peer after
  // the hold, without at start), publishes 2 more under the new origin; b
  // (reading Redis) holds them all, each applied once. While held, the old
  // origin's deltas still wait when the new origin's are acknowledged:
  // both count as unpublished and wait_published waits for all of them.
  void run(bool with_peer, Held held) {
    const std::uint64_t old_n = held == Held::kNone ? 3 : 5;
    auto b = RedisReplicator::start(dir_.sub("b"), {}, options());
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    std::map<Addr, std::uint64_t> want;
    OriginId first = 0;
    {
      auto a = start_a(with_peer);
      ASSERT_TRUE(a);
      first = a->origin();
      for (Addr i = 1; i <= old_n; ++i) {
        if (i == 4) {
          ASSERT_TRUE(a->wait_published(10000).ok());
          ASSERT_EQ(redis("ACL SETUSER default -xadd"), "+OK\r\n");
        }
        ASSERT_TRUE(a->accum(i, 0x10 + i).ok());
        want[i] ^= 0x10 + i;
      }
      if (held == Held::kNone) {
        ASSERT_TRUE(a->wait_published(10000).ok());
      } else {
        EXPECT_EQ(a->unpublished(), 2u);
      }
      ASSERT_TRUE(a->stop().ok());
    }
    if (held == Held::kBlockedV1) rewrite_state_as_version1();
    auto a = start_a(with_peer);
    ASSERT_TRUE(a);
    // accum waits for the hold to end: a new origin after the timeout
    // (with the peer) or at once (without).
    ASSERT_TRUE(a->accum(1, 0x0F00).ok());
    want[1] ^= 0x0F00;
    ASSERT_TRUE(a->accum(9, 0x99).ok());
    want[9] ^= 0x99;
    const OriginId second = a->node()->origin();
    ASSERT_NE(second, first);
    EXPECT_EQ(a->origin(), second);
    EXPECT_EQ(a->node()->stats().incarnations, 1u);
    if (held != Held::kNone) {
      EXPECT_EQ(a->unpublished(), 4u) << "2 of the old origin, 2 of the new";
      EXPECT_FALSE(a->wait_published(0).ok());
      ASSERT_EQ(redis("ACL SETUSER default +xadd"), "+OK\r\n");
    }
    ASSERT_TRUE(a->wait_published(10000).ok());
    EXPECT_EQ(a->unpublished(), 0u);
    EXPECT_EQ(a->stats().deltas_published, old_n - 3 + 2);
    // The counters move a moment after the states (the reader counts an
    // entry once it is applied): wait for both.
    EXPECT_TRUE(wait_until([&] {
      return state_of(**b) == want && (*b)->stats().deltas_applied >= old_n + 2;
    })) << "b did not get every delta";
    EXPECT_EQ((*b)->version_vector().get(first), old_n);
    EXPECT_EQ((*b)->version_vector().get(second), 2u);
    const RedisStats bs = (*b)->stats();
    EXPECT_EQ(bs.deltas_applied, old_n + 2);
    EXPECT_EQ(bs.deltas_duplicate, 0u);
    EXPECT_EQ(bs.frames_gap, 0u);
  }

  // a's REDIS_STATE (one shard) as version 1 wrote it: no origins.
  void rewrite_state_as_version1() {
    const std::string path = dir_.sub("a") + "/" + transport::kStateFileName;
    std::vector<std::byte> bytes = testing::read_bytes(path);
    ASSERT_GE(bytes.size(), 24u);
    ASSERT_EQ(bytes[4], std::byte{2});
    const auto n = static_cast<std::size_t>(bytes[12]);  // < 256 here
    ASSERT_EQ(bytes.size(), 16 + 8 * n + 32 + 8);
    bytes[4] = std::byte{1};
    bytes[12] = std::byte{0};
    bytes.erase(bytes.begin() + 16,
                bytes.begin() + 16 + static_cast<std::ptrdiff_t>(8 * n));
    bytes.resize(bytes.size() - 8);
    const std::uint64_t sum = codec::checksum64(bytes);
    for (int i = 0; i < 8; ++i) {
      bytes.push_back(static_cast<std::byte>(sum >> (8 * i)));
    }
    testing::write_bytes(path, bytes);
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
  run(/*with_peer=*/true, Held::kNone);
}

// No peer: the new incarnation starts inside Node::start, before the
// replicator runs; REDIS_STATE's positions were the old origin's.
TEST_F(RedisIncarnationTest, IncarnationAtStartPublishesUnderNewOrigin) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/false, Held::kNone);
}

// The old origin's deltas wait in the outbox because REDIS_STATE's publish
// positions count them; the publisher switches to the new origin after
// them (publish positions were compared with the wrong origin's seqs).
TEST_F(RedisIncarnationTest, DeltasOfBothOriginsWaitUntilPublished) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/true, Held::kBlocked);
}

// A node without peers (Redis only) starts a new origin at every restart,
// inside Node::start: REDIS_STATE names the origin its positions count, so
// the old origin's unpublished deltas are published under it first (they
// used to be left unpublished).
TEST_F(RedisIncarnationTest,
       UnpublishedDeltasOfTheOldOriginArePublishedAfterARestart) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/false, Held::kBlocked);
}

// The same after an upgrade: a version 1 REDIS_STATE does not name its
// origin; its positions are taken as the origin the table had before the
// incarnation at this start.
TEST_F(RedisIncarnationTest, Version1StateFileCountsTheOriginBeforeTheRestart) {
  ATOMIK_START_REDIS();
  run(/*with_peer=*/false, Held::kBlockedV1);
}

// Redis stays unreachable for publishing across two restarts of a node
// without peers, each a new origin with deltas of its own. REDIS_STATE
// lists the origins whose deltas are not all published, so the middle
// origin's wait behind the first's and reach b once Redis takes them. The
// first origin's two waiting deltas are gone from the WAL by then (each new
// incarnation writes a checkpoint): logged as not republished, a documented
// limit (docs/redis.md); the table still holds them.
TEST_F(RedisIncarnationTest,
       DeltasOfTheMiddleOriginInAChainOfRestartsArePublished) {
  ATOMIK_START_REDIS();
  auto b = RedisReplicator::start(dir_.sub("b"), {}, options());
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::map<Addr, std::uint64_t> want;
  std::vector<OriginId> origins;
  Addr next = 1;
  for (int run = 0; run < 3; ++run) {
    auto a = start_a(/*with_peer=*/false);
    ASSERT_TRUE(a);
    for (int i = 0; i < (run == 0 ? 5 : 2); ++i, ++next) {
      if (run == 0 && i == 3) {
        ASSERT_TRUE(a->wait_published(10000).ok());
        ASSERT_EQ(redis("ACL SETUSER default -xadd"), "+OK\r\n");
      }
      ASSERT_TRUE(a->accum(next, 0x100 + next).ok());
      if (next != 4 && next != 5) want[next] ^= 0x100 + next;
    }
    origins.push_back(a->origin());
    EXPECT_EQ(a->unpublished(), run == 0 ? 2u : 4u);
    if (run < 2) {
      ASSERT_TRUE(a->stop().ok());
      continue;
    }
    ASSERT_EQ(redis("ACL SETUSER default +xadd"), "+OK\r\n");
    ASSERT_TRUE(a->wait_published(10000).ok());
    EXPECT_EQ(a->stats().deltas_published, 4u);
  }
  EXPECT_TRUE(wait_until([&] {
    return state_of(**b) == want && (*b)->stats().deltas_applied >= 7;
  }));
  EXPECT_EQ((*b)->version_vector().get(origins[0]), 3u);
  EXPECT_EQ((*b)->version_vector().get(origins[1]), 2u);
  EXPECT_EQ((*b)->version_vector().get(origins[2]), 2u);
  const RedisStats bs = (*b)->stats();
  EXPECT_EQ(bs.deltas_applied, 7u);
  EXPECT_EQ(bs.deltas_duplicate, 0u);
  EXPECT_EQ(bs.frames_gap, 0u);
}

}  // namespace
}  // namespace atomik
