// SPDX-License-Identifier: Apache-2.0
// atomik/log.hpp: the sink, the level threshold, redaction, and the node's
// events arriving through it with their component and level; Node::start
// naming each bad option in its own message.
#include "atomik/log.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "node_test_util.hpp"

namespace atomik {
namespace {

struct Captured {
  LogLevel level;
  std::string component;
  std::string message;
};

// Installs a capturing sink for the test's lifetime; restores the default
// sink and level afterwards.
class LogCapture {
 public:
  LogCapture() {
    set_log_sink([this](const LogRecord& r) {
      std::lock_guard<std::mutex> lk(mu_);
      records_.push_back(
          {r.level, std::string(r.component), std::string(r.message)});
    });
  }
  ~LogCapture() {
    set_log_sink({});
    set_log_level(LogLevel::kInfo);
  }
  std::vector<Captured> records() {
    std::lock_guard<std::mutex> lk(mu_);
    return records_;
  }
  bool has(const std::string& component, const std::string& part) {
    for (const Captured& c : records()) {
      if (c.component == component &&
          c.message.find(part) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<Captured> records_;
};

TEST(LogTest, RecordsReachTheSinkAtOrAboveTheLevel) {
  LogCapture cap;
  set_log_level(LogLevel::kWarn);
  EXPECT_FALSE(log_enabled(LogLevel::kInfo));
  EXPECT_TRUE(log_enabled(LogLevel::kWarn));
  EXPECT_FALSE(log_enabled(LogLevel::kOff));
  log(LogLevel::kInfo, "wal", "dropped");
  log(LogLevel::kError, "wal", "kept");
  const auto r = cap.records();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].level, LogLevel::kError);
  EXPECT_EQ(r[0].component, "wal");
  EXPECT_EQ(r[0].message, "kept");
  set_log_level(LogLevel::kOff);
  log(LogLevel::kError, "wal", "off");
  EXPECT_EQ(cap.records().size(), 1u);
}

TEST(LogTest, LevelNamesRoundTrip) {
  for (const LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo,
                           LogLevel::kWarn, LogLevel::kError, LogLevel::kOff}) {
    auto p = parse_log_level(log_level_name(l));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, l);
  }
  EXPECT_EQ(*parse_log_level("warning"), LogLevel::kWarn);
  auto bad = parse_log_level("verbose");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().is_invalid_argument());
  EXPECT_NE(bad.status().to_string().find("'verbose'"), std::string::npos);
}

TEST(LogTest, PasswordsAreRedacted) {
  EXPECT_EQ(redact_secrets("redis://u:secret@h:1/0"), "redis://u:***@h:1/0");
  EXPECT_EQ(redact_secrets("redis://:secret@h"), "redis://:***@h");
  EXPECT_EQ(redact_secrets("a redis://u:p@h and b://x:y@z/w"),
            "a redis://u:***@h and b://x:***@z/w");
  EXPECT_EQ(redact_secrets("URL 'redis://u:p:q@h': bad"),
            "URL 'redis://u:***@h': bad");
  // No credentials, or a usage template: unchanged.
  EXPECT_EQ(redact_secrets("redis://h:6379/0"), "redis://h:6379/0");
  EXPECT_EQ(redact_secrets("redis://user@h"), "redis://user@h");
  EXPECT_EQ(redact_secrets("redis://[user[:password]@]host"),
            "redis://[user[:password]@]host");
  EXPECT_EQ(redact_secrets("no url"), "no url");
  // Through log(): the sink never sees the password.
  LogCapture cap;
  log(LogLevel::kError, "redis", "cannot reach redis://u:secret@h");
  ASSERT_EQ(cap.records().size(), 1u);
  EXPECT_EQ(cap.records()[0].message, "cannot reach redis://u:***@h");
}

TEST(LogTest, NodeEventsArriveWithComponentAndLevel) {
  LogCapture cap;
  testing::TempDir dir("log_node");
  NodeOptions o;
  o.data_dir = dir.sub("a");
  o.sync_interval_ms = 50;
  auto a = Node::start(o);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  o.data_dir = dir.sub("b");
  o.peers = {(*a)->listen_address()};
  auto b = Node::start(o);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_TRUE(testing::wait_until([&] {
    for (const Captured& c : cap.records()) {
      if (c.component == "node" && c.level == LogLevel::kInfo &&
          c.message.find("connected to peer") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  // Every record of the node is a "node" or "replica" record.
  for (const Captured& c : cap.records()) {
    EXPECT_TRUE(c.component == "node" || c.component == "replica")
        << c.component << ": " << c.message;
  }
  (void)(*b)->stop();
  (void)(*a)->stop();
}

TEST(LogTest, PeerRefusedAtTheConnectionLimitLogsWhy) {
  LogCapture cap;
  testing::TempDir dir("log_limit");
  NodeOptions o;
  o.data_dir = dir.sub("a");
  o.max_connections = 1;
  auto a = Node::start(o);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto c = NodeClient::connect((*a)->listen_address());  // takes the slot
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  NodeOptions p;
  p.data_dir = dir.sub("b");
  p.peers = {(*a)->listen_address()};
  auto b = Node::start(p);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_TRUE(testing::wait_until([&] {
    return cap.has("node",
                   "refused the connection: node at its connection "
                   "limit (max_connections 1)");
  }));
  EXPECT_TRUE(cap.has("node", "refusing a connection from 127.0.0.1"));
  EXPECT_GE((*a)->stats().rejected_connections, 1u);
  EXPECT_GE((*b)->stats().handshake_failures, 1u);
}

TEST(LogTest, NodeStartNamesEachBadOption) {
  testing::TempDir dir("log_opts");
  struct Case {
    const char* name;
    void (*set)(NodeOptions*);
  };
  const Case cases[] = {
      {"max_packet_bytes", [](NodeOptions* o) { o->max_packet_bytes = 1; }},
      {"max_frame_records", [](NodeOptions* o) { o->max_frame_records = 0; }},
      {"sync_interval_ms", [](NodeOptions* o) { o->sync_interval_ms = 0; }},
      {"reconnect_min_ms", [](NodeOptions* o) { o->reconnect_min_ms = 0; }},
      {"reconnect_max_ms", [](NodeOptions* o) { o->reconnect_max_ms = 1; }},
      {"max_snapshot_bytes",
       [](NodeOptions* o) { o->max_snapshot_bytes = std::size_t{1} << 33; }},
      {"max_connections", [](NodeOptions* o) { o->max_connections = 0; }},
      {"idle_timeout_ms", [](NodeOptions* o) { o->idle_timeout_ms = 500; }},
  };
  for (const Case& c : cases) {
    NodeOptions o;
    o.data_dir = dir.sub(c.name);
    c.set(&o);
    auto n = Node::start(o);
    ASSERT_FALSE(n.ok()) << c.name;
    EXPECT_TRUE(n.status().is_invalid_argument()) << c.name;
    const std::string m = n.status().to_string();
    EXPECT_NE(m.find(c.name), std::string::npos) << m;
    // One option per message: no other option's name in it.
    for (const Case& other : cases) {
      const std::string on = other.name;
      if (on == c.name || m.find(on) == std::string::npos) continue;
      // reconnect_max_ms is compared with reconnect_min_ms, the idle
      // timeout with the sync interval: the pair is named together.
      const bool pair = (on == "reconnect_min_ms" &&
                         std::string(c.name) == "reconnect_max_ms") ||
                        (on == "sync_interval_ms" &&
                         std::string(c.name) == "idle_timeout_ms");
      EXPECT_TRUE(pair) << c.name << ": " << m;
    }
  }
  // 0 disables the idle timeout: accepted.
  NodeOptions o;
  o.data_dir = dir.sub("ok");
  o.idle_timeout_ms = 0;
  auto n = Node::start(o);
  EXPECT_TRUE(n.ok()) << n.status().to_string();
}

}  // namespace
}  // namespace atomik
