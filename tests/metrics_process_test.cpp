// SPDX-License-Identifier: Apache-2.0
// `atomik node --metrics` as a process: its /metrics passes Debian's
// `promtool check metrics` and shows the node's figures (peer lag and
// connection, deltas), a real `prometheus` on loopback scrapes it and
// answers a query for one of its series, and `status --json` stays valid
// JSON for a Redis table name holding quotes and backslashes. Every wait
// polls with a deadline; nothing is timed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "cli_process.hpp"
#include "node_test_util.hpp"
#ifdef ATOMIK_HAVE_REDIS
#include "http_get.hpp"
#include "redis_server.hpp"
#endif

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::wait_until;

// A child process, killed (SIGTERM) and reaped when the test ends.
struct Child {
  pid_t pid = -1;
  std::string address;  // "listening on" address
  std::string text;     // its first stdout lines
  Child() = default;
  explicit Child(testing::SpawnedCli c)
      : pid(c.pid), address(std::move(c.address)), text(std::move(c.text)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int st = 0;
    ::waitpid(pid, &st, 0);
  }
  // The value of the stdout line starting with `tag` ("metrics on ").
  std::string line_after(const std::string& tag) const {
    const auto at = text.find(tag);
    if (at == std::string::npos) return "";
    const auto from = at + tag.size();
    return text.substr(from, text.find('\n', from) - from);
  }
};

using testing::http_get;

// Whether `program` is on PATH.
bool have(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) ==
         0;
}

// Runs a shell command: (exit code, stdout + stderr).
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, out};
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// A loopback port free at the time of the call.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

Child spawn_node(const TempDir& d, const std::string& name,
                 std::vector<std::string> extra) {
  std::vector<std::string> args = {
      ATOMIK_CLI_PATH, "node",      "--data", d.sub(name), "--listen",
      "127.0.0.1:0",   "--sync-ms", "50",     "--metrics", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return Child(
      testing::spawn_listening(args, d.sub(name + ".log"), "metrics on "));
}

const char* const kFamilies[] = {"atomik_deltas_applied_total",
                                 "atomik_deltas_duplicate_total",
                                 "atomik_deltas_refused_total",
                                 "atomik_peer_lag_deltas",
                                 "atomik_peer_connected",
                                 "atomik_wal_sync_seconds",
                                 "atomik_wal_bytes",
                                 "atomik_state_transfers_total",
                                 "atomik_divergence_total",
                                 "atomik_own_seq",
                                 "atomik_wal_lsn",
                                 "atomik_table_failed",
                                 "atomik_writes_held",
                                 "atomik_origins"};

TEST(MetricsProcessTest, LiveNodeMetricsPassPromtoolAndShowThePeers) {
  TempDir d("metrics");
  Child b = spawn_node(d, "b", {});
  ASSERT_GT(b.pid, 0) << "b did not start";
  Child a = spawn_node(d, "a", {"--peer", b.address});
  ASSERT_GT(a.pid, 0) << "a did not start";
  const std::string metrics = a.line_after("metrics on ");
  ASSERT_THAT(metrics, HasSubstr("127.0.0.1:"));

  auto c = NodeClient::connect(a.address);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  for (Addr i = 0; i < 3; ++i) ASSERT_TRUE((*c)->accum(i, 1).ok());
  // a's peer b: connected, and caught up once b reported its version
  // vector (the next SYNC after the deltas).
  const std::string peer = "{peer=\"" + b.address + "\"}";
  std::string body;
  ASSERT_TRUE(wait_until([&] {
    body = http_get(metrics, "/metrics").second;
    return body.find("atomik_peer_connected" + peer + " 1\n") !=
               std::string::npos &&
           body.find("atomik_peer_lag_deltas" + peer + " 0\n") !=
               std::string::npos &&
           body.find("atomik_deltas_local_total 3\n") != std::string::npos;
  })) << body;
  for (const char* f : kFamilies) {
    EXPECT_THAT(body, HasSubstr(std::string("# TYPE ") + f + " "));
  }
  EXPECT_THAT(body, HasSubstr("# TYPE atomik_wal_sync_seconds histogram\n"));
  EXPECT_THAT(body, HasSubstr("atomik_origins 1\n"));
  // b applied a's deltas: its own endpoint says so.
  const std::string b_metrics = b.line_after("metrics on ");
  ASSERT_TRUE(wait_until([&] {
    return http_get(b_metrics, "/metrics")
               .second.find("atomik_deltas_applied_total 3\n") !=
           std::string::npos;
  }));
  EXPECT_EQ(http_get(metrics, "/healthz"),
            std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(http_get(metrics, "/nothing").first, 404);

  if (!have("promtool")) {
    GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";
  }
  const std::string file = d.sub("metrics.txt");
  std::ofstream(file) << body;
  const auto [rc, out] = run("promtool check metrics < '" + file + "'");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "") << "promtool lint:\n" << out;
}

// A node restarted on its table with a peer that is not there yet holds
// its local writes (the timeout is an hour: the hold cannot end by it
// here): /healthz answers 503 saying so, and 200 once the peer starts and
// reports its marks.
TEST(MetricsProcessTest, HealthzIs503WhileWritesAreHeldThenOk) {
  TempDir d("metrics-held");
  {
    Child a = spawn_node(d, "a", {});
    ASSERT_GT(a.pid, 0);
    auto c = NodeClient::connect(a.address);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    ASSERT_TRUE((*c)->accum(1, 1).ok());
  }  // SIGTERM: a stops, its table stays
  const std::string peer = "127.0.0.1:" + std::to_string(free_port());
  Child a = spawn_node(d, "a",
                       {"--peer", peer, "--incarnation-timeout-ms", "3600000"});
  ASSERT_GT(a.pid, 0);
  const std::string metrics = a.line_after("metrics on ");
  const auto [code, body] = http_get(metrics, "/healthz");
  EXPECT_EQ(code, 503) << body;
  EXPECT_THAT(body, HasSubstr("local writes held"));
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << body;
  EXPECT_THAT(http_get(metrics, "/metrics").second,
              HasSubstr("atomik_writes_held 1\n"));
  Child b(
      testing::spawn_listening({ATOMIK_CLI_PATH, "node", "--data", d.sub("b"),
                                "--listen", peer, "--sync-ms", "50"},
                               d.sub("b.log"), "listening on "));
  ASSERT_GT(b.pid, 0) << "b did not start on " << peer;
  std::pair<int, std::string> last;
  EXPECT_TRUE(wait_until([&] {
    last = http_get(metrics, "/healthz");
    return last == std::make_pair(200, std::string("ok\n"));
  })) << last.first
      << " " << last.second;
  EXPECT_THAT(http_get(metrics, "/metrics").second,
              HasSubstr("atomik_writes_held 0\n"));
}

TEST(MetricsProcessTest, MetricsAddressInUseIsAClearError) {
  TempDir d("metrics-busy");
  Child a = spawn_node(d, "a", {});
  ASSERT_GT(a.pid, 0);
  // `timeout`: a node that did bind would run until killed.
  const auto [rc, out] =
      run(std::string("timeout 30 ") + ATOMIK_CLI_PATH + " node --data '" +
          d.sub("b") + "' --listen 127.0.0.1:0 --metrics " +
          a.line_after("metrics on "));
  EXPECT_EQ(rc, 1) << out;
  EXPECT_THAT(out, HasSubstr("cannot bind"));
}

TEST(MetricsProcessTest, PrometheusScrapesANodeAndAnswersAQuery) {
  if (!have("prometheus")) {
    GTEST_SKIP() << "prometheus not installed (apt-get install prometheus)";
  }
  TempDir d("metrics-prom");
  Child a = spawn_node(d, "a", {});
  ASSERT_GT(a.pid, 0);
  auto c = NodeClient::connect(a.address);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->accum(9, 1).ok());
  ASSERT_TRUE((*c)->accum(10, 1).ok());

  const std::string config = d.sub("prometheus.yml");
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n"
                        << "scrape_configs:\n  - job_name: atomik\n"
                        << "    static_configs:\n      - targets: ['"
                        << a.line_after("metrics on ") << "']\n";
  const std::string web = "127.0.0.1:" + std::to_string(free_port());
  std::vector<std::string> args = {
      "/usr/bin/prometheus", "--config.file=" + config,
      "--storage.tsdb.path=" + d.sub("tsdb"), "--web.listen-address=" + web};
  if (::access(args[0].c_str(), X_OK) != 0) args[0] = "prometheus";
  // prometheus prints nothing on stdout: spawn it without waiting for a
  // line (posix_spawnp, logs to a file).
  Child prom;
  {
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = d.sub("prometheus.log");
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    ASSERT_EQ(
        posix_spawnp(&prom.pid, argv[0], &fa, nullptr, argv.data(), environ),
        0);
    posix_spawn_file_actions_destroy(&fa);
  }
  std::string answer;
  const bool found = wait_until(
      [&] {
        answer = http_get(web, "/api/v1/query?query=atomik_deltas_local_total")
                     .second;
        const auto j = nlohmann::json::parse(answer, nullptr, false);
        if (j.is_discarded() || !j.contains("data")) return false;
        const auto& r = j["data"]["result"];
        return r.is_array() && !r.empty() && r[0]["value"][1] == "2";
      },
      std::chrono::seconds(90));
  EXPECT_TRUE(found) << "last answer: " << answer;
}

#ifdef ATOMIK_HAVE_REDIS
TEST(MetricsProcessTest,
     StatusJsonParsesForATableNameWithQuotesAndBackslashes) {
  testing::RedisServer::Options o;
  auto server = testing::RedisServer::start(o);
  if (!server) {
    GTEST_SKIP() << "redis-server cannot start: "
                 << testing::RedisServer::why_not();
  }
  TempDir d("metrics-redis");
  const std::string table = R"(t"a\b\"c)";
  Child a =
      spawn_node(d, "a", {"--redis", server->url(), "--redis-table", table});
  ASSERT_GT(a.pid, 0);
  auto c = NodeClient::connect(a.address);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE((*c)->accum(1, 1).ok());
  auto js = (*c)->status_json();
  ASSERT_TRUE(js.ok()) << js.status().to_string();
  const auto j = nlohmann::json::parse(*js, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << *js;
  EXPECT_EQ(j["redis"]["table"], table);
  EXPECT_EQ(j["stats"]["deltas_local"], 1);
  // The CLI prints the same JSON.
  const auto [rc, out] = testing::run_cli("status --json --node " + a.address);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded())
      << out;
  // And the metrics carry the Redis families.
  EXPECT_THAT(http_get(a.line_after("metrics on "), "/metrics").second,
              HasSubstr("# TYPE atomik_redis_unpublished gauge\n"));
}
#endif

}  // namespace
}  // namespace atomik
