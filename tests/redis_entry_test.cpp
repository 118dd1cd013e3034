// SPDX-License-Identifier: Apache-2.0
// Redis entry versions and the double path at the RedisReplicator level,
// against a private redis-server (tests/redis_server.hpp): the checked-in
// entry vectors of both versions are XADDed as they are and read; a
// version 2 entry's deltas are deduped against the same marks as TCP
// frames (two nodes joined by Redis and TCP at once apply each delta
// once); and a failed table's digest is its error. Every wait polls with
// a deadline; nothing sleeps to synchronise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
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
#include "test_seed.hpp"
#include "transport/redis_client.hpp"
#include "transport/redis_format.hpp"
#include "vector_files.hpp"
#include "wait_until.hpp"

namespace atomik {
namespace {

using testing::digest_of;
using testing::nonzero;
using testing::RedisServer;
using testing::state_of;
using testing::wait_until;

class RedisEntryTest : public ::testing::Test {
 protected:
  bool start_server() {
    server_ = RedisServer::start({});
    return server_ != nullptr;
  }
  RedisOptions options() const {
    return testing::fast_redis_options(server_->url());
  }
  std::unique_ptr<RedisReplicator> start(
      const std::string& name, const PersistentOptions& storage = {}) {
    auto r = RedisReplicator::start(dir_.sub(name), storage, options());
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  }
  NodeOptions node_options(const std::string& name) const {
    NodeOptions o;
    o.data_dir = dir_.sub(name);
    o.listen = "127.0.0.1:0";
    o.sync_interval_ms = 50;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 200;
    return o;
  }
  // XADDs `bytes` under `field` to shard 0 of table "atomik".
  void xadd(const std::string& field, const std::vector<std::byte>& bytes) {
    transport::LinkConfig c;
    c.endpoint = *parse_redis_url(server_->url());
    transport::RedisLink link(c);
    const std::string v(reinterpret_cast<const char*>(bytes.data()),
                        bytes.size());
    auto r = link.run({"XADD", redis_stream_key("atomik", 0), "*", field, v});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
  }

  testing::TempDir dir_;
  std::unique_ptr<RedisServer> server_;
};

#define ATOMIK_START_REDIS() \
  if (!start_server())       \
  GTEST_SKIP() << "redis-server cannot start: " << RedisServer::why_not()

// A failed table (its log's fsync failed) has no digest: the digest call
// returns the table's error, never the digest of an empty table.
TEST_F(RedisEntryTest, DigestOfAFailedTableIsItsError) {
  ATOMIK_START_REDIS();
  testing::FaultyFileSystem fs;
  PersistentOptions storage;
  storage.fs = &fs;
  auto a = start("a", storage);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->accum(7, 0xFF).ok());
  fs.arm(testing::Op::kSync, 1, /*sticky=*/true);
  ASSERT_FALSE(a->accum(8, 0x11).ok());
  auto d = a->digest();
  ASSERT_FALSE(d.ok()) << "a failed table has digest " << d->to_hex();
  EXPECT_EQ(d.status().code(), Code::kIoError) << d.status().to_string();
}

// Both checked-in entry versions are read as they are: version 2 under
// its original origin (a second copy is a duplicate), version 1 under its
// stream origin (another identity, so the same deltas apply again).
TEST_F(RedisEntryTest, BothVersionVectorsAreRead) {
  ATOMIK_START_REDIS();
  auto b = start("b");
  ASSERT_TRUE(b);
  const auto v2 = testing::read_hex("redis_entry_v2.hex");
  const auto v1 = testing::read_hex("redis_entry_v1.hex");
  const std::map<Addr, std::uint64_t> both = {{7, 0xFF}, {9, 0x1234}};
  xadd("r", v2);
  ASSERT_TRUE(wait_until([&] { return state_of(*b) == both; }));
  EXPECT_EQ(b->version_vector().get(0x0A), 2u);
  xadd("r", v2);  // Redis delivering it again
  ASSERT_TRUE(wait_until([&] { return b->stats().deltas_duplicate == 2; }));
  EXPECT_EQ(state_of(*b), both);
  xadd("f", v1);
  ASSERT_TRUE(wait_until([&] { return b->stats().deltas_applied == 4; }));
  EXPECT_EQ(state_of(*b), (std::map<Addr, std::uint64_t>{}));
  EXPECT_EQ(b->version_vector().get(redis_stream_origin(0x0A, 0)), 2u);
  EXPECT_EQ(b->stats().entries_malformed, 0u);
  EXPECT_EQ(b->digest().value(), digest_of({}));
}

// The publisher writes the vectors byte for byte: version 2 with one
// shard, version 1 with two (addresses 7 and 9 are in shard 0 of 2).
TEST_F(RedisEntryTest, PublisherWritesTheVectors) {
  ATOMIK_START_REDIS();
  for (std::uint32_t shards : {1u, 2u}) {
    RedisOptions o = options();
    o.shards = shards;
    o.table = "t" + std::to_string(shards);
    PersistentOptions storage;
    storage.origin = 0x0A;
    auto r = RedisReplicator::start(dir_.sub(o.table), storage, o);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const std::vector<FrameRecord> batch = {{7, 0xFF}, {9, 0x1234}};
    ASSERT_TRUE((*r)->accum_batch(batch).ok());
    ASSERT_TRUE((*r)->wait_published(30000).ok());
    transport::LinkConfig c;
    c.endpoint = *parse_redis_url(server_->url());
    transport::RedisLink link(c);
    auto range = link.run({"XRANGE", redis_stream_key(o.table, 0), "-", "+"});
    ASSERT_TRUE(range.ok()) << range.status().to_string();
    ASSERT_EQ(transport::reply_size(range->get()), 1u) << "shards " << shards;
    const redisReply* fields =
        transport::reply_at(transport::reply_at(range->get(), 0), 1);
    const std::string field(
        transport::reply_str(transport::reply_at(fields, 0)));
    const std::string value(
        transport::reply_str(transport::reply_at(fields, 1)));
    const auto want = testing::read_hex(shards == 1 ? "redis_entry_v2.hex"
                                                    : "redis_entry_v1.hex");
    EXPECT_EQ(field, shards == 1 ? "r" : "f");
    EXPECT_EQ(value, std::string(reinterpret_cast<const char*>(want.data()),
                                 want.size()))
        << "shards " << shards;
  }
}

// A directory that wrote version 1 entries (its REDIS_STATE has a stream
// seq published) keeps writing them, continuing its stream-origin seqs:
// readers hold its earlier deltas under its stream origins.
TEST_F(RedisEntryTest, DirectoryWithVersion1HistoryKeepsWritingVersion1) {
  ATOMIK_START_REDIS();
  std::filesystem::create_directories(dir_.sub("old"));
  transport::ShardState st;
  st.pub_vseq = 3;  // stream seqs 1..3 were published by an older atomik
  testing::write_bytes(
      dir_.sub("old") + "/" + transport::kStateFileName,
      transport::encode_state({.origins = {0x0A}, .shards = {st}}));
  PersistentOptions storage;
  storage.origin = 0x0A;
  auto r = RedisReplicator::start(dir_.sub("old"), storage, options());
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const std::vector<FrameRecord> batch = {{7, 0xFF}, {9, 0x1234}};
  ASSERT_TRUE((*r)->accum_batch(batch).ok());
  ASSERT_TRUE((*r)->wait_published(30000).ok());
  transport::LinkConfig c;
  c.endpoint = *parse_redis_url(server_->url());
  transport::RedisLink link(c);
  auto range = link.run({"XRANGE", redis_stream_key("atomik", 0), "-", "+"});
  ASSERT_TRUE(range.ok()) << range.status().to_string();
  ASSERT_EQ(transport::reply_size(range->get()), 1u);
  const redisReply* fields =
      transport::reply_at(transport::reply_at(range->get(), 0), 1);
  EXPECT_EQ(transport::reply_str(transport::reply_at(fields, 0)), "f");
  const std::string_view v =
      transport::reply_str(transport::reply_at(fields, 1));
  auto f = parse_frame(std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(v.data()), v.size()));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_EQ(f->header().origin, redis_stream_origin(0x0A, 0));
  EXPECT_EQ(f->header().base_seq, 4u);
  EXPECT_EQ(f->count(), 2u);
}

// The nodes of a pair started with start_node().
std::map<Addr, std::uint64_t> state_of_node(const RedisReplicator& r) {
  auto snap = r.snapshot();
  return snap.ok() ? std::map<Addr, std::uint64_t>(snap->begin(), snap->end())
                   : std::map<Addr, std::uint64_t>{};
}

// Two nodes joined by Redis and by TCP at once: every delta reaches the
// other node both ways and is applied once (a reference model with deltas
// that XOR would cancel if applied twice, and the same delta twice on
// purpose); each node counts the second copy as a duplicate.
TEST_F(RedisEntryTest, RedisAndTcpAtOnceApplyEachDeltaOnce) {
  ATOMIK_START_REDIS();
  auto a = RedisReplicator::start_node(node_options("a"), options());
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  NodeOptions bo = node_options("b");
  bo.peers = {(*a)->node()->listen_address()};
  auto b = RedisReplicator::start_node(bo, options());
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  auto connected = [](const RedisReplicator& r) {
    for (const PeerStatus& p : r.node()->status().peers) {
      if (p.connected && p.origin != 0) return true;
    }
    return false;
  };
  ASSERT_TRUE(wait_until([&] { return connected(**a) && connected(**b); }));
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(11);
  std::uint64_t sent[2] = {0, 0};
  for (int i = 0; i < 200; ++i) {
    const int k = i % 2;
    const Addr addr = static_cast<Addr>(rng() % 16);
    const std::uint64_t d = rng() | 1;
    RedisReplicator& n = k == 0 ? **a : **b;
    // Every fifth delta twice: they cancel, once each is applied.
    const int times = i % 5 == 0 ? 2 : 1;
    for (int t = 0; t < times; ++t) {
      ASSERT_TRUE(n.accum(addr, d).ok());
      want[addr] ^= d;
      ++sent[k];
    }
  }
  want = nonzero(want);
  // Both paths delivered everything: Redis once, TCP at least once.
  auto delivered = [&](const RedisReplicator& r, std::uint64_t n) {
    const NodeStats ns = r.node()->stats();
    const RedisStats rs = r.stats();
    return rs.deltas_applied + rs.deltas_duplicate == n &&
           ns.deltas_applied + ns.deltas_duplicate >= 2 * n;
  };
  ASSERT_TRUE(wait_until([&] {
    return state_of_node(**a) == want && state_of_node(**b) == want &&
           delivered(**a, sent[1]) && delivered(**b, sent[0]);
  })) << "a "
      << (*a)->node()->stats().deltas_applied << "+"
      << (*a)->node()->stats().deltas_duplicate << " b "
      << (*b)->node()->stats().deltas_applied << "+"
      << (*b)->node()->stats().deltas_duplicate;
  EXPECT_EQ((*a)->node()->stats().deltas_applied, sent[1]);
  EXPECT_EQ((*b)->node()->stats().deltas_applied, sent[0]);
  EXPECT_GE((*a)->node()->stats().deltas_duplicate, sent[1]);
  EXPECT_GE((*b)->node()->stats().deltas_duplicate, sent[0]);
  EXPECT_EQ((*a)->digest().value(), digest_of(want));
  EXPECT_EQ((*b)->digest().value(), digest_of(want));
  EXPECT_EQ((*a)->stats().frames_gap + (*b)->stats().frames_gap, 0u);
}

// Sharded tables write version 1 entries, which TCP frames cannot be
// deduped against: start_node() refuses TCP peers with them.
TEST_F(RedisEntryTest, StartNodeRefusesPeersWithShards) {
  ATOMIK_START_REDIS();
  RedisOptions o = options();
  o.shards = 2;
  NodeOptions no = node_options("a");
  no.peers = {"127.0.0.1:1"};
  auto a = RedisReplicator::start_node(no, o);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(a.status().message()),
              ::testing::HasSubstr("applied twice"));
}

// ... and a peer that connects to it is refused at the handshake (logged,
// counted), so no TCP link delivers its deltas a second time; clients still
// connect.
TEST_F(RedisEntryTest, StartNodeWithShardsRefusesIncomingPeers) {
  ATOMIK_START_REDIS();
  RedisOptions o = options();
  o.shards = 2;
  auto a = RedisReplicator::start_node(node_options("a"), o);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  NodeOptions bo = node_options("b");
  bo.peers = {(*a)->node()->listen_address()};
  auto b = Node::start(bo);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_TRUE(wait_until(
      [&] { return (*a)->node()->status().stats.handshake_failures > 0; }));
  for (const PeerStatus& p : (*a)->node()->status().peers) {
    EXPECT_FALSE(p.connected && p.origin != 0) << p.address;
  }
  auto c = NodeClient::connect((*a)->node()->listen_address());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE((*c)->accum(7, 0x5).ok());
  EXPECT_EQ((*a)->read(7).value(), 0x5u);
}

}  // namespace
}  // namespace atomik
