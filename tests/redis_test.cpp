// SPDX-License-Identifier: Apache-2.0
// Redis Streams replication: the snapshot / state layouts, URL
// parsing and sharding (unit), and RedisReplicator against a private
// redis-server started by tests/redis_server.hpp (label net). Every wait
// polls with a deadline; nothing sleeps to synchronise.
#include "atomik/redis.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "redis_test_util.hpp"
#include "test_seed.hpp"
#include "transport/redis_client.hpp"
#include "transport/redis_format.hpp"
#include "vector_files.hpp"

namespace atomik {
namespace {

using testing::digest_of;
using ::testing::HasSubstr;
using testing::nonzero;
using testing::RedisServer;
using testing::state_of;

using testing::read_hex;

// Polls `pred` until true or `timeout_ms` passes.
bool eventually(const std::function<bool()>& pred, int timeout_ms = 30000) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// --- unit: layouts, URL, sharding -------------------------------------------

TEST(RedisFormatTest, SnapshotMatchesVector) {
  transport::SnapshotData s;
  s.positions = {{5, 1}};
  s.vv = {{0x0a, 2}};
  s.states = {{7, 0xff}};
  auto bytes = transport::encode_redis_snapshot(s);
  ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
  const std::vector<std::byte> vec = read_hex("redis_snapshot_v1.hex");
  EXPECT_EQ(*bytes, vec);
  auto back = transport::decode_redis_snapshot(vec);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, s);
}

TEST(RedisFormatTest, SnapshotEveryFlippedByteIsRejected) {
  transport::SnapshotData s;
  s.num_contexts = 100;
  s.positions = {{5, 1}, {6, 0}};
  s.vv = {{1, 2}, {9, 4}};
  s.states = {{3, 1}, {99, 0xabc}};
  auto bytes = transport::encode_redis_snapshot(s);
  ASSERT_TRUE(bytes.ok());
  for (std::size_t i = 0; i < bytes->size(); ++i) {
    std::vector<std::byte> b = *bytes;
    b[i] ^= std::byte{0x40};
    auto r = transport::decode_redis_snapshot(b);
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_TRUE(r.status().code() == Code::kCorruption ||
                r.status().code() == Code::kUnimplemented)
        << r.status().to_string();
  }
  for (std::size_t n = 0; n < bytes->size(); ++n) {
    auto r = transport::decode_redis_snapshot(std::span(bytes->data(), n));
    ASSERT_FALSE(r.ok()) << "truncated to " << n;
  }
  auto r = transport::decode_redis_snapshot(std::span(bytes->data(), 10));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("too short"));
}

TEST(RedisFormatTest, SnapshotEncoderRefusesBrokenRules) {
  transport::SnapshotData s;
  s.positions = {{1, 0}};
  s.states = {{5, 1}, {5, 2}};
  auto r = transport::encode_redis_snapshot(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  s.states = {{5, 0}};
  EXPECT_FALSE(transport::encode_redis_snapshot(s).ok());
  s.states = {};
  s.positions = {};
  EXPECT_FALSE(transport::encode_redis_snapshot(s).ok());
}

// Both versions of REDIS_STATE against vectors from an independent writer
// (tests/vectors/redis_state_gen.py): version 2 is written and read back,
// version 1 (no origins) is still read.
TEST(RedisFormatTest, StateMatchesVersion1And2Vectors) {
  transport::StateFile want;
  want.shards.resize(2);
  want.shards[0] = {.read = {1700000000000, 3}, .pub_seq = 17, .pub_vseq = 0};
  want.shards[1] = {.read = {5, 0}, .pub_seq = 12, .pub_vseq = 9};
  want.origins = {0x0123456789ABCDEF, 0x0FEDCBA987654321};
  const std::vector<std::byte> v2 = read_hex("redis_state_v2.hex");
  EXPECT_EQ(transport::encode_state(want), v2);
  auto back = transport::decode_state(v2, "REDIS_STATE");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, want);
  auto old = transport::decode_state(read_hex("redis_state_v1.hex"), "v1");
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_TRUE(old->origins.empty());
  EXPECT_EQ(old->shards, want.shards);
  transport::StateFile twice = want;
  twice.origins = {7, 7};
  auto dup = transport::decode_state(transport::encode_state(twice), "d");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(dup.status().message()), HasSubstr("listed twice"));
  std::vector<std::byte> v3 = v2;
  v3[4] = std::byte{3};
  auto later = transport::decode_state(v3, "dir/REDIS_STATE");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().code(), Code::kUnimplemented);
}

TEST(RedisFormatTest, StateRoundTripsAndRejectsDamage) {
  transport::StateFile st;
  st.origins = {0x0A};
  st.shards.resize(3);
  st.shards[1].read = {1700000000000, 3};
  st.shards[1].pub_seq = 17;
  st.shards[2].pub_vseq = 9;
  const std::vector<std::byte> bytes = transport::encode_state(st);
  auto back = transport::decode_state(bytes, "REDIS_STATE");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, st);
  std::vector<std::byte> bad = bytes;
  bad[40] ^= std::byte{1};
  auto r = transport::decode_state(bad, "dir/REDIS_STATE");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("checksum"));
}

TEST(RedisFormatTest, StreamIdParsesAndOrders) {
  auto a = transport::parse_stream_id("1700000000000-5");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ms, 1700000000000u);
  EXPECT_EQ(a->seq, 5u);
  EXPECT_EQ(a->to_string(), "1700000000000-5");
  EXPECT_LT(*transport::parse_stream_id("5-9"),
            *transport::parse_stream_id("6-0"));
  EXPECT_FALSE(transport::parse_stream_id("").ok());
  EXPECT_FALSE(transport::parse_stream_id("x-1").ok());
  EXPECT_FALSE(transport::parse_stream_id("99999999999999999999999-1").ok());
}

TEST(RedisUrlTest, ParsesEveryPart) {
  auto e = parse_redis_url("redis://bob:pw@10.0.0.1:6380/3");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "10.0.0.1");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 3u);
  EXPECT_EQ(e->user, "bob");
  EXPECT_EQ(e->password, "pw");
  e = parse_redis_url("redis://localhost");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0u);
  for (const char* bad : {"http://x", "redis://", "redis://h:0",
                          "redis://h:70000", "redis://h:1/x"}) {
    auto r = parse_redis_url(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(bad));
  }
}

TEST(RedisShardTest, ShardsAreContiguousAddressRanges) {
  EXPECT_EQ(redis_shard_of(0, 1), 0u);
  EXPECT_EQ(redis_shard_of(0xffffffff, 1), 0u);
  EXPECT_EQ(redis_shard_of(0, 4), 0u);
  EXPECT_EQ(redis_shard_of(0x3fffffff, 4), 0u);
  EXPECT_EQ(redis_shard_of(0x40000000, 4), 1u);
  EXPECT_EQ(redis_shard_of(0xffffffff, 4), 3u);
  EXPECT_EQ(redis_shard_of(0xffffffff, 3), 2u);
  std::uint32_t prev = 0;
  for (std::uint64_t a = 0; a <= 0xffffffff; a += 0x1000000) {
    const std::uint32_t k = redis_shard_of(static_cast<Addr>(a), 7);
    EXPECT_GE(k, prev);
    EXPECT_LT(k, 7u);
    prev = k;
  }
  EXPECT_EQ(redis_stream_key("t", 2), "t:{t-shard-2}:deltas");
  EXPECT_NE(redis_stream_origin(5, 0), redis_stream_origin(5, 1));
  EXPECT_NE(redis_stream_origin(5, 0), redis_stream_origin(6, 0));
  EXPECT_NE(redis_stream_origin(5, 0), 0u);
}

// --- net: RedisReplicator against a real redis-server ----------------------

RedisServer::Options with_aof() {
  RedisServer::Options o;
  o.aof = true;
  return o;
}
RedisServer::Options with_password(const std::string& p) {
  RedisServer::Options o;
  o.requirepass = p;
  return o;
}

class RedisNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/atomik-redis-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  bool start_server(const RedisServer::Options& o = {}) {
    server_ = RedisServer::start(o);
    return server_ != nullptr;
  }
  std::string dir(const std::string& name) const { return root_ + "/" + name; }
  RedisOptions options() const {
    return testing::fast_redis_options(server_->url());
  }
  std::unique_ptr<RedisReplicator> start(const std::string& name,
                                         const RedisOptions& o) {
    auto r = RedisReplicator::start(dir(name), {}, o);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<RedisReplicator> start(const std::string& name) {
    return start(name, options());
  }
  transport::RedisLink raw() const {
    transport::LinkConfig c;
    c.endpoint = *parse_redis_url(server_->url());
    return transport::RedisLink(c);
  }

  std::string root_;
  std::unique_ptr<RedisServer> server_;
};

#define ATOMIK_START_REDIS(...)   \
  if (!start_server(__VA_ARGS__)) \
  GTEST_SKIP() << "redis-server cannot start: " << RedisServer::why_not()

TEST_F(RedisNetTest, TwoNodesConvergeExactlyOnce) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(1);
  for (int i = 0; i < 300; ++i) {
    const Addr addr = static_cast<Addr>(rng() % 50);
    const std::uint64_t d = rng();
    RedisReplicator& n = (i % 2 == 0) ? *a : *b;
    ASSERT_TRUE(n.accum(addr, d).ok());
    want[addr] ^= d;
  }
  want = nonzero(want);
  ASSERT_TRUE(eventually([&] {
    return state_of(*a) == want && state_of(*b) == want;
  })) << "a "
      << a->digest().value().to_hex() << " b " << b->digest().value().to_hex();
  EXPECT_EQ(a->digest().value(), digest_of(want));
  EXPECT_EQ(b->digest().value(), a->digest().value());
  ASSERT_TRUE(a->wait_published(10000).ok());
  EXPECT_EQ(a->stats().deltas_local, 150u);
  // A reader counts an entry a moment after its deltas are visible: wait
  // for the counts, then check that they are not above.
  ASSERT_TRUE(eventually([&] {
    return a->stats().deltas_applied >= 150 && b->stats().deltas_applied >= 150;
  }));
  EXPECT_EQ(b->stats().deltas_applied, 150u);
  EXPECT_EQ(a->stats().deltas_applied, 150u);
  EXPECT_EQ(a->stats().entries_malformed, 0u);
}

// REDIS_STATE follows the positions while the replicator runs (written by
// its state writer within state_flush_ms), not only at stop: the file on
// disk comes to show node b's read position at the entry it applied and
// node a's own seq published.
TEST_F(RedisNetTest, TheStateFileFollowsThePositionsWhileRunning) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  const std::vector<FrameRecord> batch = {{1, 0x11}, {2, 0x22}};
  ASSERT_TRUE(a->accum_batch(batch).ok());
  ASSERT_TRUE(eventually([&] { return b->stats().deltas_applied == 2; }));
  ASSERT_TRUE(a->wait_published(10000).ok());
  auto on_disk = [&](const std::string& name) {
    std::ifstream in(dir(name) + "/" + transport::kStateFileName,
                     std::ios::binary);
    const std::string raw((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
    return transport::decode_state(
        std::span<const std::byte>(
            reinterpret_cast<const std::byte*>(raw.data()), raw.size()),
        name);
  };
  // b's position moves once the entry is durable there.
  ASSERT_TRUE(eventually([&] { return b->positions()[0].read_id != "0-0"; }));
  const std::string b_read = b->positions()[0].read_id;
  ASSERT_TRUE(eventually([&] {
    auto sa = on_disk("a");
    auto sb = on_disk("b");
    return sa.ok() && sb.ok() && sa->shards.size() == 1 &&
           sb->shards.size() == 1 &&
           sa->origins == std::vector<std::uint64_t>{a->origin()} &&
           sa->shards[0].pub_seq == 2 &&
           sb->shards[0].read.to_string() == b_read;
  }));
  // Counted once the file is renamed into place and its directory synced,
  // a moment after the new file is visible.
  EXPECT_TRUE(eventually([&] {
    return a->stats().state_writes > 0 && b->stats().state_writes > 0;
  }));
}

TEST_F(RedisNetTest, DuplicateEntryChangesNothing) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  std::vector<FrameRecord> batch = {{1, 0x11}, {2, 0x22}, {3, 0x33}};
  ASSERT_TRUE(a->accum_batch(batch).ok());
  ASSERT_TRUE(eventually([&] { return b->stats().deltas_applied == 3; }));
  const auto before = state_of(*b);
  // Re-add the exact stored entry (Redis delivering it again).
  transport::RedisLink link = raw();
  const std::string key = redis_stream_key("atomik", 0);
  auto range = link.run({"XRANGE", key, "-", "+"});
  ASSERT_TRUE(range.ok()) << range.status().to_string();
  ASSERT_EQ(transport::reply_size(range->get()), 1u);
  const redisReply* fields =
      transport::reply_at(transport::reply_at(range->get(), 0), 1);
  const std::string frame(transport::reply_str(transport::reply_at(fields, 1)));
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(link.run({"XADD", key, "*", "f", frame}).ok());
  ASSERT_TRUE(a->accum(9, 0x99).ok());  // a marker behind the duplicates
  ASSERT_TRUE(eventually([&] { return b->stats().deltas_applied == 4; }));
  EXPECT_EQ(b->stats().deltas_duplicate, 6u);
  auto after = state_of(*b);
  after.erase(9);
  EXPECT_EQ(after, before);
  EXPECT_EQ(b->digest().value(), a->digest().value());
}

TEST_F(RedisNetTest, MalformedEntryIsSkippedCountedAndLogged) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  transport::RedisLink link = raw();
  const std::string key = redis_stream_key("atomik", 0);
  ::testing::internal::CaptureStderr();
  ASSERT_TRUE(link.run({"XADD", key, "*", "f", "not a frame"}).ok());
  ASSERT_TRUE(link.run({"XADD", key, "*", "x", "1", "y", "2"}).ok());
  // A valid frame with one flipped record byte: checksum mismatch.
  auto enc = encode_frame({.origin = 77, .epoch = 0, .base_seq = 1},
                          std::vector<FrameRecord>{{4, 0x44}});
  ASSERT_TRUE(enc.ok());
  std::string bad(reinterpret_cast<const char*>(enc->data()), enc->size());
  bad[50] = static_cast<char>(bad[50] ^ 1);
  ASSERT_TRUE(link.run({"XADD", key, "*", "f", bad}).ok());
  ASSERT_TRUE(a->accum(5, 0x55).ok());
  ASSERT_TRUE(eventually([&] {
    return b->read(5).ok() && *b->read(5) == 0x55 &&
           b->stats().entries_malformed == 3 &&
           a->stats().entries_malformed == 3;
  }));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("skipped malformed entry"));
  EXPECT_THAT(err, HasSubstr("checksum mismatch"));
  EXPECT_THAT(err, HasSubstr("expected exactly one field 'r' or 'f'"));
  EXPECT_EQ(state_of(*b), (std::map<Addr, std::uint64_t>{{5, 0x55}}));
}

TEST_F(RedisNetTest, WrongPasswordIsAClearError) {
  ATOMIK_START_REDIS(with_password("s3cret"));
  RedisOptions o = options();
  o.password = "wrong";
  auto r = RedisReplicator::start(dir("a"), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("AUTH failed"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("WRONGPASS"));
  o.password.clear();
  r = RedisReplicator::start(dir("a"), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("NOAUTH"));
  o.password = "s3cret";
  auto a = start("a", o);
  auto b = start("b", o);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->accum(1, 2).ok());
  EXPECT_TRUE(eventually([&] { return b->read(1).ok() && *b->read(1) == 2; }));
}

TEST_F(RedisNetTest, UnreachableRedisFailsStartWithinTimeout) {
  RedisOptions o;
  o.url = "redis://127.0.0.1:" + std::to_string(testing::pick_free_port());
  o.start_timeout_ms = 300;
  auto r = RedisReplicator::start(dir("a"), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("did not answer within 300 ms"));
}

TEST_F(RedisNetTest, RedisOutageStallsPublishingAndResumes) {
  ATOMIK_START_REDIS(with_aof());
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->accum(1, 1).ok());
  ASSERT_TRUE(eventually([&] { return b->read(1).ok() && *b->read(1) == 1; }));
  server_->stop();
  // Acknowledged while Redis is down: waits in the WAL.
  for (Addr i = 10; i < 20; ++i) ASSERT_TRUE(a->accum(i, i).ok());
  EXPECT_GE(a->unpublished(), 1u);
  EXPECT_EQ(a->wait_published(100).code(), Code::kUnavailable);
  auto sw = a->swap();  // refused: the WAL must keep them
  ASSERT_FALSE(sw.ok());
  EXPECT_EQ(sw.status().code(), Code::kUnavailable);
  ASSERT_TRUE(server_->restart());
  ASSERT_TRUE(a->wait_published(20000).ok());
  ASSERT_TRUE(eventually([&] { return state_of(*b) == state_of(*a); }));
  EXPECT_EQ(state_of(*b).size(), 11u);
  EXPECT_GT(a->stats().connection_errors, 0u);
  EXPECT_TRUE(a->swap().ok());
}

TEST_F(RedisNetTest, RestartResumesWithoutLossOrDoubleApply) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->accum(1, 0xa).ok());
  ASSERT_TRUE(b->accum(2, 0xb).ok());
  ASSERT_TRUE(eventually([&] { return state_of(*a) == state_of(*b); }));
  ASSERT_TRUE(b->stop().ok());
  b.reset();
  for (Addr i = 0; i < 20; ++i) ASSERT_TRUE(a->accum(i, 0x100 + i).ok());
  b = start("b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(eventually([&] {
    return state_of(*a) == state_of(*b) && b->stats().deltas_applied >= 20;
  }));
  // Only the 20 new deltas were applied after the restart.
  EXPECT_EQ(b->stats().deltas_applied, 20u);
  EXPECT_EQ(b->digest().value(), a->digest().value());
}

TEST_F(RedisNetTest, SnapshotBootstrapsNewNodeAndTrimsBelowIt) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  auto late = start("late");  // will be behind the trim
  ASSERT_TRUE(a && b && late);
  ASSERT_TRUE(late->stop().ok());
  late.reset();
  for (Addr i = 0; i < 100; ++i) {
    ASSERT_TRUE(a->accum(i, i + 1).ok());
    ASSERT_TRUE(b->accum(i + 1000, i + 7).ok());
  }
  ASSERT_TRUE(eventually([&] {
    return state_of(*a) == state_of(*b) && state_of(*a).size() == 200;
  }));
  ASSERT_TRUE(a->wait_published(10000).ok());
  transport::RedisLink link = raw();
  const std::string key = redis_stream_key("atomik", 0);
  auto len = link.run({"XLEN", key});
  ASSERT_TRUE(len.ok());
  const long long before = transport::reply_integer(len->get());
  Status s = a->publish_snapshot(/*trim=*/true);
  ASSERT_TRUE(s.ok()) << s.to_string();
  len = link.run({"XLEN", key});
  EXPECT_LT(transport::reply_integer(len->get()), before);
  EXPECT_EQ(a->stats().snapshots_published, 1u);

  ASSERT_TRUE(b->accum(5000, 0x5000).ok());  // after the snapshot
  auto c = start("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stats().bootstrapped, 1u);
  ASSERT_TRUE(c->accum(6000, 0x6000).ok());
  ASSERT_TRUE(eventually([&] {
    return state_of(*c) == state_of(*a) && state_of(*b) == state_of(*a) &&
           state_of(*a).size() == 202;
  }));
  EXPECT_LT(c->stats().deltas_applied, 200u);  // not a full replay

  // A node whose position is below the trim refuses to start.
  auto r = RedisReplicator::start(dir("late"), {}, options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("trimmed"));

  // An older snapshot never replaces a newer one.
  ASSERT_TRUE(link.run({"HSET", redis_snapshot_key("atomik"), "pos",
                        "99999999999999-0"})
                  .ok());
  s = b->publish_snapshot(false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(b->stats().snapshots_refused, 1u);
}

TEST_F(RedisNetTest, ShardedStreamsConvergeAndNodesReadHeldShards) {
  ATOMIK_START_REDIS();
  RedisOptions o = options();
  o.shards = 4;
  auto a = start("a", o);
  auto b = start("b", o);
  RedisOptions half = o;
  half.held_shards = {0, 1};
  auto h = start("h", half);
  ASSERT_TRUE(a && b && h);
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(2);
  for (int i = 0; i < 400; ++i) {
    const Addr addr = static_cast<Addr>(rng());
    const std::uint64_t d = rng() | 1;
    ASSERT_TRUE((i % 2 ? *a : *b).accum(addr, d).ok());
    want[addr] ^= d;
  }
  want = nonzero(want);
  std::map<Addr, std::uint64_t> low;
  for (const auto& [k, v] : want)
    if (redis_shard_of(k, 4) < 2) low[k] = v;
  ASSERT_TRUE(eventually([&] {
    return state_of(*a) == want && state_of(*b) == want && state_of(*h) == low;
  }));
  transport::RedisLink link = raw();
  for (std::uint32_t k = 0; k < 4; ++k) {
    auto len = link.run({"XLEN", redis_stream_key("atomik", k)});
    ASSERT_TRUE(len.ok());
    EXPECT_GT(transport::reply_integer(len->get()), 0) << "shard " << k;
  }
  // Each (node, shard) pair is its own stream origin with a dense seq space.
  const VersionVector vv = a->version_vector();
  std::uint64_t sum = 0;
  for (std::uint32_t k = 0; k < 4; ++k)
    sum += vv.get(redis_stream_origin(b->origin(), k));
  EXPECT_EQ(sum, 200u);
}

// The acceptance run: 4 nodes through one Redis, random deltas, node 3 is a
// child process killed with SIGKILL and restarted, Redis restarted once
// mid-run (AOF on). All digests end equal and every state is the XOR of the
// acknowledged deltas.
TEST_F(RedisNetTest, FourNodesSurviveNodeKillAndRedisRestart) {
  ATOMIK_START_REDIS(with_aof());
  const std::uint64_t seed = testing::test_seed();
  // Node 3's deltas are a pure function of i, so the parent knows them.
  auto child_delta = [seed](std::uint64_t i) {
    std::mt19937_64 g(seed ^ (i * 0x9E3779B97F4A7C15ULL) ^ 0x33);
    const Addr a = static_cast<Addr>(g() % 64);
    return std::pair<Addr, std::uint64_t>(a, g() | 1);
  };
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const RedisOptions o = options();
  const std::string dir3 = dir("n3");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(fds[0]);
    RedisOptions co = o;
    co.log = false;
    auto r = RedisReplicator::start(dir3, {}, co);
    if (!r.ok()) ::_exit(3);
    for (std::uint64_t i = 0; i < 1000000; ++i) {
      const auto [a, d] = child_delta(i);
      if (!(*r)->accum(a, d).ok()) ::_exit(4);
      // Written after the ack: the parent counts it as acknowledged.
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(5);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<std::unique_ptr<RedisReplicator>> n(4);
  for (int i = 0; i < 3; ++i) {
    n[static_cast<std::size_t>(i)] = start("n" + std::to_string(i));
    ASSERT_TRUE(n[static_cast<std::size_t>(i)]);
  }
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(3);
  auto round = [&](int nodes) {
    for (int i = 0; i < 40; ++i) {
      const auto k =
          static_cast<std::size_t>(rng() % static_cast<unsigned>(nodes));
      const Addr a = static_cast<Addr>(rng() % 64);
      const std::uint64_t d = rng() | 1;
      ASSERT_TRUE(n[k]->accum(a, d).ok());
      want[a] ^= d;
    }
  };
  // Let the child acknowledge some deltas, then kill it.
  std::uint64_t acked = 0;
  for (int r = 0; r < 3; ++r) round(3);
  while (acked < 50) {
    std::uint64_t i = 0;
    ASSERT_EQ(::read(fds[0], &i, sizeof i), static_cast<ssize_t>(sizeof i))
        << "node 3 child died";
    acked = i + 1;
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  for (std::uint64_t i = 0; ::read(fds[0], &i, sizeof i) == sizeof i;)
    acked = i + 1;
  ::close(fds[0]);
  for (int r = 0; r < 3; ++r) round(3);
  // Redis restarts mid-run; the nodes keep acknowledging meanwhile.
  server_->stop();
  for (int r = 0; r < 2; ++r) round(3);
  ASSERT_TRUE(server_->restart());
  for (int r = 0; r < 3; ++r) round(3);
  // Node 3 restarts from its directory: every acknowledged delta survives.
  n[3] = start("n3");
  ASSERT_TRUE(n[3]);
  const std::uint64_t durable = n[3]->version_vector().get(n[3]->origin());
  ASSERT_GE(durable, acked) << "an acknowledged delta was lost";
  ASSERT_LE(durable, acked + 1);
  for (std::uint64_t i = 0; i < durable; ++i) {
    const auto [a, d] = child_delta(i);
    want[a] ^= d;
  }
  for (int r = 0; r < 3; ++r) round(4);
  want = nonzero(want);
  const Digest expect = digest_of(want);
  ASSERT_TRUE(eventually(
      [&] {
        for (auto& x : n)
          if (x->digest().value() != expect) return false;
        return true;
      },
      60000))
      << "digests: " << n[0]->digest().value().to_hex() << " "
      << n[1]->digest().value().to_hex() << " "
      << n[2]->digest().value().to_hex() << " "
      << n[3]->digest().value().to_hex() << " want " << expect.to_hex();
  for (auto& x : n) {
    EXPECT_EQ(state_of(*x), want);
    EXPECT_EQ(x->stats().entries_malformed, 0u);
    EXPECT_EQ(x->stats().frames_gap, 0u);
  }
}

TEST_F(RedisNetTest, ClusterOfThreeMastersSpreadsShards) {
  auto cluster = testing::RedisCluster::start();
  if (!cluster) {
    GTEST_SKIP() << "redis cluster cannot start: "
                 << testing::RedisCluster::why_not();
  }
  RedisOptions o;
  o.url = cluster->url();
  o.cluster = true;
  o.shards = 6;
  o.block_ms = 50;
  o.retry_min_ms = 10;
  o.retry_max_ms = 200;
  auto a = RedisReplicator::start(dir("a"), {}, o);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = RedisReplicator::start(dir("b"), {}, o);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(4);
  for (int i = 0; i < 300; ++i) {
    const Addr addr = static_cast<Addr>(rng());
    const std::uint64_t d = rng() | 1;
    ASSERT_TRUE(((i % 2) ? **a : **b).accum(addr, d).ok());
    want[addr] ^= d;
  }
  want = nonzero(want);
  ASSERT_TRUE(eventually(
      [&] { return state_of(**a) == want && state_of(**b) == want; }));
  int masters_with_keys = 0;
  for (const auto& node : cluster->nodes()) {
    const std::string r =
        testing::redis_inline_command(node->port(), "DBSIZE", 500);
    if (r.size() > 1 && r[0] == ':' && std::stol(r.substr(1)) > 0)
      ++masters_with_keys;
  }
  // 6 hash tags over 3 masters: at least 2 masters hold shards.
  EXPECT_GE(masters_with_keys, 2);
}

}  // namespace
}  // namespace atomik
