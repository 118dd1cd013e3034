// SPDX-License-Identifier: Apache-2.0
// Counter tables through the real `atomik node` binary: `--group add` nodes
// replicate sums over TCP, UDP and Redis (5 + 5 on A reads 10 on B, also
// after both restart); a table of another group is refused at open (exit
// 1, both named) and a peer of another group is refused at the handshake.
// Every wait polls with a deadline; nothing sleeps to synchronise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "atomik/persistent_table.hpp"
#include "cli_process.hpp"
#include "node_test_util.hpp"
#ifdef ATOMIK_HAVE_REDIS
#include "redis_server.hpp"
#endif

extern char** environ;

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::run_cli;
using testing::TempDir;
using testing::wait_until;

constexpr auto kWait = std::chrono::milliseconds(30000);

using NodeProcess = testing::CliNode;

Status accum(const NodeProcess& n, Addr a, std::uint64_t d) {
  auto c = NodeClient::connect(n.address(), {}, 5000);
  if (!c.ok()) return c.status();
  return (*c)->accum(a, d);
}

// The value at `a` on `n` (nullopt if it cannot be read now).
std::optional<std::uint64_t> read(const NodeProcess& n, Addr a) {
  auto c = NodeClient::connect(n.address(), {}, 5000);
  if (!c.ok()) return std::nullopt;
  auto v = (*c)->read(a);
  if (!v.ok()) return std::nullopt;
  return *v;
}

bool reads(const NodeProcess& n, Addr a, std::uint64_t want) {
  return wait_until([&] { return read(n, a) == want; }, kWait);
}

// True if n's status JSON has counter `name` above 0.
bool counted(const NodeProcess& n, const std::string& name) {
  auto c = NodeClient::connect(n.address(), {}, 5000);
  if (!c.ok()) return false;
  auto st = (*c)->status_json();
  return st.ok() && st->find("\"" + name + "\":") != std::string::npos &&
         st->find("\"" + name + "\":0") == std::string::npos;
}

std::string file_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class NodeGroupProcessTest : public ::testing::Test {
 protected:
  // Common arguments of a node on data directory `name`.
  std::vector<std::string> args(const std::string& name,
                                const std::string& group = "add") {
    return {"--data",    dir_.sub(name), "--listen", "127.0.0.1:0",
            "--sync-ms", "50",           "--group",  group};
  }
  // A, then B peering A (over TCP, or UDP for live deltas with `udp`):
  // 5 + 5 on A reads 10 on both; both restart and still read 10; 7 more on
  // B reads 17 on A.
  void add_nodes_count(bool udp) {
    NodeProcess a, b;
    auto a_args = args("a");
    auto b_args = args("b");
    if (udp) {
      a_args.emplace_back("--udp");
      b_args.emplace_back("--udp");
    }
    ASSERT_TRUE(a.start(a_args, dir_.sub("a.log")));
    auto with_peer = [&](std::vector<std::string> v) {
      v.emplace_back("--peer");
      v.push_back(a.address());
      return v;
    };
    ASSERT_TRUE(b.start(with_peer(b_args), dir_.sub("b.log")));
    ASSERT_TRUE(accum(a, 7, 5).ok());
    ASSERT_TRUE(accum(a, 7, 5).ok());
    EXPECT_TRUE(reads(a, 7, 10));
    EXPECT_TRUE(reads(b, 7, 10)) << file_text(dir_.sub("b.log"));
    EXPECT_EQ(a.stop(SIGTERM), 0);
    EXPECT_EQ(b.stop(SIGTERM), 0);
    ASSERT_TRUE(a.start(a_args, dir_.sub("a.log")));
    ASSERT_TRUE(b.start(with_peer(b_args), dir_.sub("b.log")));
    EXPECT_EQ(read(a, 7), std::optional<std::uint64_t>(10));
    EXPECT_EQ(read(b, 7), std::optional<std::uint64_t>(10));
    // B sends live UDP datagrams to A once its TCP handshake passed.
    EXPECT_TRUE(wait_until([&] { return counted(b, "connects"); }, kWait));
    ASSERT_TRUE(accum(b, 7, 7).ok());
    EXPECT_TRUE(reads(a, 7, 17)) << file_text(dir_.sub("a.log"));
    EXPECT_TRUE(reads(b, 7, 17));
    if (udp) {
      EXPECT_TRUE(
          wait_until([&] { return counted(a, "udp_datagrams_in"); }, kWait));
    }
    EXPECT_EQ(a.stop(SIGTERM), 0);
    EXPECT_EQ(b.stop(SIGTERM), 0);
  }

  TempDir dir_{"node-group"};
};

TEST_F(NodeGroupProcessTest, AddNodesOverTcpCountAlsoAfterRestart) {
  add_nodes_count(/*udp=*/false);
}

TEST_F(NodeGroupProcessTest, AddNodesOverUdpCountAlsoAfterRestart) {
  add_nodes_count(/*udp=*/true);
}

TEST_F(NodeGroupProcessTest, TableOfAnotherGroupIsRefusedAtOpen) {
  {
    auto t = PersistentTable::open(dir_.sub("x"), {});
    ASSERT_TRUE(t.ok()) << t.status().to_string();
  }
  const auto r = run_cli("node --data " + dir_.sub("x") +
                         " --listen 127.0.0.1:0 --group add");
  EXPECT_EQ(r.first, 1) << r.second;
  EXPECT_THAT(r.second, HasSubstr("group xor/64, options say add/64"));
  const auto w = run_cli("node --data " + dir_.sub("y") +
                         " --listen 127.0.0.1:0 --group add --width 65");
  EXPECT_EQ(w.first, 2) << w.second;  // usage
}

TEST_F(NodeGroupProcessTest, PeerOfAnotherGroupIsRefusedNamingBoth) {
  NodeProcess a, b;
  ASSERT_TRUE(a.start(args("a", "xor"), dir_.sub("a.log")));
  auto b_args = args("b", "add");
  b_args.emplace_back("--peer");
  b_args.push_back(a.address());
  ASSERT_TRUE(b.start(b_args, dir_.sub("b.log")));
  ASSERT_TRUE(accum(b, 1, 5).ok());
  EXPECT_TRUE(wait_until(
      [&] {
        return file_text(dir_.sub("a.log"))
                   .find("has table group add/64, this node xor/64") !=
               std::string::npos;
      },
      kWait))
      << file_text(dir_.sub("a.log"));
  EXPECT_EQ(read(a, 1), std::optional<std::uint64_t>(0));
  EXPECT_TRUE(counted(a, "handshake_failures"));
}

#ifdef ATOMIK_HAVE_REDIS
// `atomik node --redis --group add`: the sum crosses Redis (no TCP peers),
// also after both restart; a node of another group on the same Redis
// table is refused (exit 1, both named: docs/format/redis.md, T:shape).
TEST_F(NodeGroupProcessTest, AddNodesThroughRedisCountAlsoAfterRestart) {
  auto server = testing::RedisServer::start({});
  if (!server) {
    GTEST_SKIP() << "redis-server cannot start: "
                 << testing::RedisServer::why_not();
  }
  auto redis_args = [&](const std::string& name, const std::string& group) {
    auto v = args(name, group);
    v.insert(v.end(), {"--redis", server->url(), "--redis-table", "counters"});
    return v;
  };
  NodeProcess a, b;
  ASSERT_TRUE(a.start(redis_args("a", "add"), dir_.sub("a.log")));
  ASSERT_TRUE(b.start(redis_args("b", "add"), dir_.sub("b.log")));
  ASSERT_TRUE(accum(a, 7, 5).ok());
  ASSERT_TRUE(accum(a, 7, 5).ok());
  EXPECT_TRUE(reads(b, 7, 10)) << file_text(dir_.sub("b.log"));
  EXPECT_EQ(a.stop(SIGTERM), 0);
  EXPECT_EQ(b.stop(SIGTERM), 0);
  ASSERT_TRUE(a.start(redis_args("a", "add"), dir_.sub("a.log")));
  ASSERT_TRUE(b.start(redis_args("b", "add"), dir_.sub("b.log")));
  EXPECT_EQ(read(a, 7), std::optional<std::uint64_t>(10));
  EXPECT_EQ(read(b, 7), std::optional<std::uint64_t>(10));
  ASSERT_TRUE(accum(b, 7, 7).ok());
  EXPECT_TRUE(reads(a, 7, 17)) << file_text(dir_.sub("a.log"));
  std::string cmd = "node";
  for (const auto& word : redis_args("x", "xor")) cmd += " " + word;
  const auto r = run_cli(cmd);
  EXPECT_EQ(r.first, 1) << r.second;
  EXPECT_THAT(r.second, HasSubstr("holds group add/64"));
  EXPECT_THAT(r.second, HasSubstr("this replicator's table is xor/64"));
}
#endif

}  // namespace
}  // namespace atomik
