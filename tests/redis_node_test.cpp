// SPDX-License-Identifier: Apache-2.0
// `atomik node --redis`: a Node whose own deltas also go
// through Redis Streams (RedisReplicator::start_node), in-process and as
// CLI processes, against a private redis-server (tests/redis_server.hpp).
// Also Redis and TCP at once (each delta applied once), and the bounded
// outage queue (RedisOptions::max_unpublished): Redis is
// stopped, accum runs until refused, Redis restarts, and every
// acknowledged delta arrives on the other node exactly once. Every wait
// polls with a deadline; nothing sleeps to synchronise.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "atomik/redis.hpp"
#include "cli_process.hpp"
#include "node_test_util.hpp"
#include "redis_server.hpp"
#include "redis_test_util.hpp"
#include "test_seed.hpp"

extern char** environ;

namespace atomik {
namespace {

using testing::digest_of;
using ::testing::HasSubstr;
using testing::nonzero;
using testing::RedisServer;
using testing::state_of;
using testing::TempDir;
using testing::wait_until;

constexpr auto kWait = std::chrono::milliseconds(30000);

std::map<Addr, std::uint64_t> state_of(const Node& n) {
  const auto snap = n.snapshot();
  return std::map<Addr, std::uint64_t>(snap.begin(), snap.end());
}

class RedisNodeTest : public ::testing::Test {
 protected:
  bool start_server(bool aof = false, const std::string& pass = "") {
    RedisServer::Options o;
    o.aof = aof;
    o.requirepass = pass;
    server_ = RedisServer::start(o);
    return server_ != nullptr;
  }
  RedisOptions redis_options() const {
    return testing::fast_redis_options(server_->url());
  }
  NodeOptions node_options(const std::string& name) const {
    NodeOptions o;
    o.data_dir = dir_.sub(name);
    o.listen = "127.0.0.1:0";
    o.sync_interval_ms = 50;
    o.reconnect_min_ms = 10;
    o.reconnect_max_ms = 200;
    o.storage.num_contexts = dense_;
    return o;
  }
  std::unique_ptr<RedisReplicator> start(const std::string& name,
                                         const RedisOptions& ro) {
    auto r = RedisReplicator::start_node(node_options(name), ro);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::unique_ptr<RedisReplicator> start(const std::string& name) {
    return start(name, redis_options());
  }

  std::uint64_t dense_ = 0;  // NodeOptions::storage.num_contexts
  TempDir dir_{"redis-node"};
  std::unique_ptr<RedisServer> server_;
};

#define ATOMIK_START_REDIS(...)   \
  if (!start_server(__VA_ARGS__)) \
  GTEST_SKIP() << "redis-server cannot start: " << RedisServer::why_not()

TEST(RedisNodeOptionsTest, StartNodeRefusesHooksItWouldOverwrite) {
  NodeOptions o;
  o.hooks.after_swap = [] {};
  auto r = RedisReplicator::start_node(o, RedisOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("hooks"));
}

TEST_F(RedisNodeTest, TwoNodesConvergeThroughRedisExactlyOnce) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  // Deltas through the replicator, the Node and a client of each node.
  auto ca = NodeClient::connect(a->node()->listen_address());
  auto cb = NodeClient::connect(b->node()->listen_address());
  ASSERT_TRUE(ca.ok() && cb.ok());
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(1);
  std::uint64_t per_node[2] = {0, 0};
  for (int i = 0; i < 400; ++i) {
    const Addr addr = static_cast<Addr>(rng() % 64);
    const std::uint64_t d = rng() | 1;
    const int k = i % 2;
    Status s;
    switch ((i / 2) % 3) {
      case 0:
        s = (k == 0 ? a : b)->accum(addr, d);
        break;
      case 1:
        s = (k == 0 ? a : b)->node()->accum(addr, d);
        break;
      default:
        s = (k == 0 ? *ca : *cb)->accum(addr, d);
        break;
    }
    ASSERT_TRUE(s.ok()) << s.to_string();
    want[addr] ^= d;
    ++per_node[k];
  }
  want = nonzero(want);
  ASSERT_TRUE(wait_until(
      [&] { return state_of(*a) == want && state_of(*b) == want; }, kWait))
      << "a " << a->digest().value().to_hex() << " b "
      << b->digest().value().to_hex();
  EXPECT_EQ(a->digest().value(), digest_of(want));
  EXPECT_EQ(b->digest().value(), a->digest().value());
  ASSERT_TRUE(a->wait_published(10000).ok());
  ASSERT_TRUE(b->wait_published(10000).ok());
  EXPECT_EQ(a->unpublished(), 0u);
  // Exactly once: each node applied each of the other's deltas once. (The
  // replicator counts after the node applied: wait for the count, then
  // check that it is not above.)
  ASSERT_TRUE(wait_until(
      [&] {
        return a->stats().deltas_applied >= per_node[1] &&
               b->stats().deltas_applied >= per_node[0];
      },
      kWait));
  EXPECT_EQ(a->stats().deltas_local, per_node[0]);
  EXPECT_EQ(b->stats().deltas_applied, per_node[0]);
  EXPECT_EQ(a->stats().deltas_applied, per_node[1]);
  EXPECT_EQ(a->node()->stats().deltas_applied, per_node[1]);
  EXPECT_EQ(a->stats().entries_malformed, 0u);
  EXPECT_EQ(a->stats().frames_gap, 0u);
  // A client sees the Redis part of the status.
  auto j = (*ca)->status_json();
  ASSERT_TRUE(j.ok());
  EXPECT_THAT(*j, HasSubstr("\"redis\":{\"connected\":true"));
  EXPECT_THAT(*j, HasSubstr("\"unpublished\":0"));
  EXPECT_THAT(*j, HasSubstr("\"deltas_local\":" + std::to_string(per_node[0])));
  // A swap through a client works once everything is published.
  EXPECT_TRUE((*ca)->swap().ok());
  // Restart: nothing applied again, nothing lost.
  ASSERT_TRUE(b->stop().ok());
  b.reset();
  b = start("b");
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->accum(1000, 5).ok());
  want[1000] = 5;
  // The node counts a delta a moment after the table shows it: wait for
  // both, then check that the count is not above.
  ASSERT_TRUE(wait_until(
      [&] {
        return state_of(*b) == want && b->node()->stats().deltas_applied >= 1;
      },
      kWait));
  EXPECT_EQ(b->node()->stats().deltas_applied, 1u);
  ASSERT_TRUE(wait_until([&] { return b->stats().deltas_applied >= 1; }));
  EXPECT_EQ(b->stats().deltas_applied, 1u);
}

// publish_snapshot() from a Node-backed replicator: a new Node-backed
// replicator on an empty directory bootstraps from it and converges.
TEST_F(RedisNodeTest, NodeSnapshotBootstrapsANewNode) {
  ATOMIK_START_REDIS();
  dense_ = 8192;  // the snapshot must carry the dense size
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  std::map<Addr, std::uint64_t> want;
  for (Addr i = 0; i < 100; ++i) {
    ASSERT_TRUE(a->accum(i, i + 1).ok());
    ASSERT_TRUE(b->accum(i + 1000, i + 7).ok());
    want[i] = i + 1;
    want[i + 1000] = i + 7;
  }
  ASSERT_TRUE(wait_until(
      [&] { return state_of(*a) == want && state_of(*b) == want; }, kWait));
  ASSERT_TRUE(a->wait_published(10000).ok());
  const Status s = a->publish_snapshot(/*trim=*/true);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(a->stats().snapshots_published, 1u);
  ASSERT_TRUE(b->accum(5000, 0x5000).ok());  // after the snapshot
  want[5000] = 0x5000;
  auto c = start("c");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stats().bootstrapped, 1u);
  ASSERT_TRUE(c->accum(6000, 0x6000).ok());
  want[6000] = 0x6000;
  ASSERT_TRUE(wait_until(
      [&] {
        return state_of(*a) == want && state_of(*b) == want &&
               state_of(*c) == want;
      },
      kWait));
  EXPECT_LT(c->stats().deltas_applied, 200u);  // not a full replay
  EXPECT_EQ(c->digest().value(), digest_of(want));
}

// A plain TCP peer of a Redis-backed node gets everything that node has:
// its own deltas and those it applied from Redis.
TEST_F(RedisNodeTest, TcpPeerOfARedisNodeConverges) {
  ATOMIK_START_REDIS();
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(a && b);
  NodeOptions co = node_options("c");
  co.peers = {a->node()->listen_address()};
  auto c = Node::start(co);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(2);
  for (int i = 0; i < 100; ++i) {
    const Addr addr = static_cast<Addr>(rng() % 32);
    const std::uint64_t d = rng() | 1;
    ASSERT_TRUE((i % 2 == 0 ? a : b)->accum(addr, d).ok());
    want[addr] ^= d;
  }
  want = nonzero(want);
  ASSERT_TRUE(wait_until(
      [&] {
        return state_of(*a) == want && state_of(*b) == want &&
               state_of(**c) == want;
      },
      kWait));
  EXPECT_EQ((*c)->digest(), a->digest().value());
}

// The bounded outage queue, for both kinds of replicator: with Redis down,
// exactly max_unpublished deltas are acknowledged, the next is refused
// (kResourceExhausted, nothing written), and after Redis restarts every
// acknowledged delta arrives on the other node exactly once.
class RedisOutageTest : public RedisNodeTest,
                        public ::testing::WithParamInterface<bool> {};

TEST_P(RedisOutageTest, QueueIsBoundedAndNothingAcknowledgedIsLost) {
  const bool with_node = GetParam();
  ATOMIK_START_REDIS(/*aof=*/true);
  constexpr std::uint64_t kLimit = 40;
  RedisOptions ro = redis_options();
  ro.max_unpublished = kLimit;
  auto open = [&](const std::string& name) -> std::unique_ptr<RedisReplicator> {
    if (with_node) return start(name, ro);
    auto r = RedisReplicator::start(dir_.sub(name), {}, ro);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(*r) : nullptr;
  };
  auto a = open("a");
  auto b = open("b");
  ASSERT_TRUE(a && b);
  std::map<Addr, std::uint64_t> want;
  ASSERT_TRUE(a->accum(1, 1).ok());
  want[1] = 1;
  ASSERT_TRUE(wait_until([&] { return state_of(*b) == want; }, kWait));
  ASSERT_TRUE(a->wait_published(10000).ok());

  server_->stop();
  auto rng = testing::rng(3);
  std::uint64_t accepted = 0;
  Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    const Addr addr = static_cast<Addr>(100 + rng() % 16);
    const std::uint64_t d = rng() | 1;
    refused = a->accum(addr, d);
    if (refused.ok()) {
      want[addr] ^= d;
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, kLimit);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), Code::kResourceExhausted) << refused.to_string();
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("40 own deltas are acknowledged but not yet "
                        "published"));
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("beyond max_unpublished 40"));
  EXPECT_EQ(a->unpublished(), kLimit);
  EXPECT_EQ(a->stats().deltas_refused, 1u);
  // Nothing of the refused delta was written.
  EXPECT_EQ(state_of(*a), nonzero(want));
  if (with_node) {
    // A client is refused the same way; a swap waits for Redis.
    auto c = NodeClient::connect(a->node()->listen_address());
    ASSERT_TRUE(c.ok());
    const Status cs = (*c)->accum(200, 1);
    EXPECT_EQ(cs.code(), Code::kResourceExhausted) << cs.to_string();
    EXPECT_THAT(cs.to_string(), HasSubstr("max_unpublished 40"));
    auto sw = (*c)->swap();
    ASSERT_FALSE(sw.ok());
    EXPECT_EQ(sw.status().code(), Code::kUnavailable);
    auto j = (*c)->status_json();
    ASSERT_TRUE(j.ok());
    EXPECT_THAT(*j, HasSubstr("\"unpublished\":40"));
    EXPECT_THAT(*j, HasSubstr("\"deltas_refused\":2"));
  }
  EXPECT_EQ(state_of(*a), nonzero(want));

  ASSERT_TRUE(server_->restart());
  ASSERT_TRUE(a->wait_published(30000).ok());
  want = nonzero(want);
  ASSERT_TRUE(wait_until(
      [&] { return state_of(*b) == want && state_of(*a) == want; }, kWait))
      << "a " << a->digest().value().to_hex() << " b "
      << b->digest().value().to_hex();
  EXPECT_EQ(b->digest().value(), digest_of(want));
  ASSERT_TRUE(
      wait_until([&] { return b->stats().deltas_applied >= 1 + kLimit; }));
  EXPECT_EQ(b->stats().deltas_applied, 1 + kLimit);
  // Accepting again.
  EXPECT_TRUE(a->accum(2, 2).ok());
  ASSERT_TRUE(a->wait_published(10000).ok());
  EXPECT_TRUE(a->swap().ok());
}

INSTANTIATE_TEST_SUITE_P(NodeAndTable, RedisOutageTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Node" : "Table";
                         });

// --- `atomik node --redis` processes ----------------------------------------
#ifdef ATOMIK_CLI_PATH  // built with the tools

using testing::run_cli;

// One `atomik node --redis ...` child process.
using RedisNodeProcess = testing::CliNode;

std::string json_string(const std::string& json, const std::string& key) {
  const std::string tag = "\"" + key + "\":\"";
  const auto at = json.find(tag);
  if (at == std::string::npos) return "";
  const auto from = at + tag.size();
  return json.substr(from, json.find('"', from) - from);
}

TEST_F(RedisNodeTest, CliNodesServeClientsAndConvergeThroughRedis) {
  ATOMIK_START_REDIS();
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{
        "--data",  dir_.sub(name), "--listen",      "127.0.0.1:0",
        "--redis", server_->url(), "--redis-table", "clitest"};
  };
  RedisNodeProcess a(args("a"));
  RedisNodeProcess b(args("b"));
  ASSERT_TRUE(a.start(dir_.sub("a.log")));
  ASSERT_TRUE(b.start(dir_.sub("b.log")));
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(4);
  for (int i = 0; i < 20; ++i) {
    const Addr addr = static_cast<Addr>(rng() % 8);
    const std::uint64_t d = rng() | 1;
    const auto r =
        run_cli("accum --node " + (i % 2 == 0 ? a : b).address() + " " +
                std::to_string(addr) + " " + std::to_string(d));
    ASSERT_EQ(r.first, 0) << r.second;
    ASSERT_THAT(r.second, HasSubstr("acknowledged"));
    want[addr] ^= d;
  }
  // Each accepted delta is visible on the other node.
  for (const auto& entry : want) {
    const Addr addr = entry.first;  // clang 14: no lambda capture of bindings
    const std::uint64_t v = entry.second;
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%016llx\n",
                  static_cast<unsigned long long>(v));
    for (const RedisNodeProcess* n : {&a, &b}) {
      EXPECT_TRUE(wait_until(
          [&] {
            return run_cli("read --node " + n->address() + " " +
                           std::to_string(addr))
                       .second == hex;
          },
          kWait))
          << "addr " << addr << " on " << n->address();
    }
  }
  const auto sa = run_cli("status --json --node " + a.address());
  const auto sb = run_cli("status --json --node " + b.address());
  ASSERT_EQ(sa.first, 0) << sa.second;
  EXPECT_EQ(json_string(sa.second, "digest"),
            digest_of(nonzero(want)).to_hex());
  EXPECT_EQ(json_string(sb.second, "digest"), json_string(sa.second, "digest"));
  EXPECT_THAT(sa.second, HasSubstr("\"redis\":{\"connected\":true"));
  EXPECT_THAT(sa.second, HasSubstr("\"table\":\"clitest\""));
  EXPECT_EQ(a.stop(SIGTERM), 0);
  EXPECT_EQ(b.stop(SIGTERM), 0);
}

// The value of member `key` of the first object holding it in `json`, an
// object or array matched by brackets ("" if none). String contents are
// not parsed (status JSON has no brackets inside strings).
std::string json_member(const std::string& json, const std::string& key) {
  const std::string tag = "\"" + key + "\":";
  const auto at = json.find(tag);
  if (at == std::string::npos) return "";
  const auto from = at + tag.size();
  if (json[from] != '{' && json[from] != '[') {
    return json.substr(from, json.find_first_of(",}]", from) - from);
  }
  int depth = 0;
  for (auto i = from; i < json.size(); ++i) {
    if (json[i] == '{' || json[i] == '[') ++depth;
    if ((json[i] == '}' || json[i] == ']') && --depth == 0) {
      return json.substr(from, i + 1 - from);
    }
  }
  return "";
}

// A node's counter `key`: of the node (`redis` false) or of its Redis
// replication (the "redis" member); -1 if absent.
long long node_counter(const std::string& status, bool redis,
                       const std::string& key) {
  const std::string r = json_member(status, "redis");
  std::string node = status;
  if (!r.empty()) node.erase(node.find(r), r.size());
  const std::string v =
      json_member(json_member(redis ? r : node, "stats"), key);
  return v.empty() ? -1 : std::stoll(v);
}

// Two `atomik node` processes joined by Redis and by TCP (--peer) at once:
// every delta reaches the other node both ways and is applied once. The
// deltas are not idempotent under XOR (one applied twice cancels), some
// are sent twice on purpose; both nodes end at the reference model with
// equal digests, and their counters show each second copy as a duplicate.
TEST_F(RedisNodeTest, CliRedisAndTcpAtOnceApplyEachDeltaOnce) {
  ATOMIK_START_REDIS();
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"--data",   dir_.sub(name),
                                    "--listen", "127.0.0.1:0",
                                    "--redis",  server_->url()};
  };
  RedisNodeProcess a(args("a"));
  ASSERT_TRUE(a.start(dir_.sub("a.log")));
  auto bargs = args("b");
  bargs.insert(bargs.end(), {"--peer", a.address()});
  RedisNodeProcess b(bargs);
  ASSERT_TRUE(b.start(dir_.sub("b.log")));
  auto status = [&](const RedisNodeProcess& n) {
    return run_cli("status --json --node " + n.address()).second;
  };
  // The TCP link is up before the deltas, so each one goes both ways.
  ASSERT_TRUE(wait_until(
      [&] {
        return json_member(status(a), "peers").find("\"connected\":true") !=
                   std::string::npos &&
               json_member(status(b), "peers").find("\"connected\":true") !=
                   std::string::npos;
      },
      kWait));
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(12);
  long long sent[2] = {0, 0};
  for (int i = 0; i < 24; ++i) {
    const int k = i % 2;
    const Addr addr = static_cast<Addr>(rng() % 8);
    const std::uint64_t d = rng() | 1;
    for (int t = 0; t < (i % 4 == 0 ? 2 : 1); ++t) {  // some twice
      const auto r =
          run_cli("accum --node " + (k == 0 ? a : b).address() + " " +
                  std::to_string(addr) + " " + std::to_string(d));
      ASSERT_EQ(r.first, 0) << r.second;
      want[addr] ^= d;
      ++sent[k];
    }
  }
  const std::string digest = digest_of(nonzero(want)).to_hex();
  // Each node got the other's deltas once through Redis and at least once
  // through TCP, and applied them once.
  auto settled = [&](const RedisNodeProcess& n, long long other) {
    const std::string s = status(n);
    return json_string(s, "digest") == digest &&
           node_counter(s, true, "deltas_applied") +
                   node_counter(s, true, "deltas_duplicate") ==
               other &&
           node_counter(s, false, "deltas_applied") +
                   node_counter(s, false, "deltas_duplicate") >=
               2 * other;
  };
  EXPECT_TRUE(wait_until([&] { return settled(a, sent[1]); }, kWait))
      << status(a);
  EXPECT_TRUE(wait_until([&] { return settled(b, sent[0]); }, kWait))
      << status(b);
  const std::string sa = status(a);
  const std::string sb = status(b);
  EXPECT_EQ(node_counter(sa, false, "deltas_applied"), sent[1]) << sa;
  EXPECT_EQ(node_counter(sb, false, "deltas_applied"), sent[0]) << sb;
  EXPECT_GE(node_counter(sa, false, "deltas_duplicate"), sent[1]) << sa;
  EXPECT_GE(node_counter(sb, false, "deltas_duplicate"), sent[0]) << sb;
  for (const auto& entry : nonzero(want)) {
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%016llx\n",
                  static_cast<unsigned long long>(entry.second));
    for (const RedisNodeProcess* n : {&a, &b}) {
      EXPECT_EQ(run_cli("read --node " + n->address() + " " +
                        std::to_string(entry.first))
                    .second,
                hex);
    }
  }
  EXPECT_EQ(json_string(sb, "digest"), json_string(sa, "digest"));
  EXPECT_EQ(a.stop(SIGTERM), 0);
  EXPECT_EQ(b.stop(SIGTERM), 0);
}

// The outage bound through the CLI: --redis-max-unpublished, a client's
// accum refused with exit 1 and the numbers, everything acknowledged
// arriving on the other node once Redis is back.
TEST_F(RedisNodeTest, CliOutageRefusesBeyondTheBoundAndLosesNothing) {
  ATOMIK_START_REDIS(/*aof=*/true);
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"--data",
                                    dir_.sub(name),
                                    "--listen",
                                    "127.0.0.1:0",
                                    "--redis",
                                    server_->url(),
                                    "--redis-max-unpublished",
                                    "5"};
  };
  RedisNodeProcess a(args("a"));
  RedisNodeProcess b(args("b"));
  ASSERT_TRUE(a.start(dir_.sub("a.log")));
  ASSERT_TRUE(b.start(dir_.sub("b.log")));
  auto read_on = [&](const RedisNodeProcess& n, Addr addr) {
    return run_cli("read --node " + n.address() + " " + std::to_string(addr))
        .second;
  };
  ASSERT_EQ(run_cli("accum --node " + a.address() + " 1 1").first, 0);
  ASSERT_TRUE(wait_until(
      [&] { return read_on(b, 1) == "0x0000000000000001\n"; }, kWait));
  // Published before the outage (so exactly 5 more fit).
  ASSERT_TRUE(wait_until(
      [&] {
        return run_cli("status --json --node " + a.address())
                   .second.find("\"unpublished\":0,") != std::string::npos;
      },
      kWait));
  server_->stop();
  for (Addr i = 10; i < 15; ++i) {
    const auto r = run_cli("accum --node " + a.address() + " " +
                           std::to_string(i) + " " + std::to_string(i));
    ASSERT_EQ(r.first, 0) << r.second;
  }
  const auto refused = run_cli("accum --node " + a.address() + " 15 15");
  EXPECT_EQ(refused.first, 1) << refused.second;
  EXPECT_THAT(refused.second, HasSubstr("ResourceExhausted"));
  EXPECT_THAT(refused.second, HasSubstr("5 own deltas are acknowledged"));
  EXPECT_THAT(refused.second, HasSubstr("max_unpublished 5"));
  EXPECT_EQ(read_on(a, 15), "0x0000000000000000\n");
  ASSERT_TRUE(server_->restart());
  for (Addr i = 10; i < 15; ++i) {
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%016llx\n",
                  static_cast<unsigned long long>(i));
    EXPECT_TRUE(wait_until([&] { return read_on(b, i) == hex; }, kWait))
        << "addr " << i;
  }
  EXPECT_EQ(read_on(b, 15), "0x0000000000000000\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return json_string(
                   run_cli("status --json --node " + b.address()).second,
                   "digest") ==
               json_string(
                   run_cli("status --json --node " + a.address()).second,
                   "digest");
      },
      kWait));
  EXPECT_EQ(a.stop(SIGTERM), 0);
  EXPECT_EQ(b.stop(SIGTERM), 0);
}

TEST_F(RedisNodeTest, CliWrongPasswordIsAClearError) {
  ATOMIK_START_REDIS(/*aof=*/false, "s3cret");
  const std::string pw = dir_.sub("pw");
  std::ofstream(pw) << "wrong\n";
  const auto r = run_cli("node --data " + dir_.sub("a") +
                         " --listen 127.0.0.1:0 --redis " + server_->url() +
                         " --redis-password-file " + pw);
  EXPECT_EQ(r.first, 1) << r.second;
  EXPECT_THAT(r.second, HasSubstr("Redis AUTH failed"));
  EXPECT_THAT(r.second, HasSubstr("--redis-password-file"));
  EXPECT_THAT(r.second, ::testing::Not(HasSubstr("wrong")));
}

// `atomik redis-node` answers its stdin commands and, at the end of its
// input, stops as on SIGTERM (exit 0); numbers use the CLI's strict syntax.
// A node that did not stop would hang here until ctest's timeout.
TEST_F(RedisNodeTest, CliRedisNodeStopsAtEndOfInput) {
  ATOMIK_START_REDIS();
  const std::string input = dir_.sub("commands");
  std::ofstream(input) << "accum 7 0x10\nread 7\nread 010\nread 0x-1\n";
  const auto r = run_cli("redis-node --data " + dir_.sub("cli") + " --redis " +
                         server_->url() + " < " + input);
  EXPECT_EQ(r.first, 0) << r.second;
  EXPECT_THAT(r.second, HasSubstr("ready\nok\n0x0000000000000010\nerror: "));
  EXPECT_THAT(r.second, HasSubstr("end of input, stopping"));
  // Both refused numbers answer errors, not a read of address 8 or 2^64-1.
  EXPECT_EQ(r.second.find("0x0000000000000000"), std::string::npos) << r.second;
}

#endif  // ATOMIK_CLI_PATH

}  // namespace
}  // namespace atomik
