// SPDX-License-Identifier: Apache-2.0
// NodeStatus health and own positions from a live in-process Node: a table
// whose log failed (an injected fdatasync error) makes health() name the
// table's error and the metrics say atomik_table_failed 1; a restarted node
// whose peer never answers reports its writes as held; own_applied and
// own_durable follow acknowledged deltas. Every wait polls with a deadline;
// nothing is timed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "atomik/node.hpp"
#include "storage_test_util.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

NodeOptions options(const std::string& dir) {
  NodeOptions o;
  o.data_dir = dir;
  o.listen = "127.0.0.1:0";
  o.log = false;
  return o;
}

TEST(NodeHealthTest, HealthyNodeReportsOwnPositions) {
  testing::TempDir d;
  auto n = Node::start(options(d.sub("a")));
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  for (Addr i = 0; i < 3; ++i) ASSERT_TRUE((*n)->accum(i, 1).ok());
  const NodeStatus s = (*n)->status();
  EXPECT_EQ(s.health(), "");
  EXPECT_EQ(s.own_applied, 3u);
  EXPECT_EQ(s.own_durable, 3u);
  EXPECT_FALSE(s.writes_held);
  // Every acknowledged record is durable (SyncPolicy::kEveryRecord).
  EXPECT_GT(s.wal.appended_lsn, 0u);
  EXPECT_EQ(s.wal.durable_lsn, s.wal.appended_lsn);
  const std::string p = s.to_prometheus();
  EXPECT_THAT(p, HasSubstr("atomik_own_seq{state=\"applied\"} 3\n"));
  EXPECT_THAT(p, HasSubstr("atomik_own_seq{state=\"durable\"} 3\n"));
  EXPECT_THAT(p, HasSubstr("atomik_table_failed 0\n"));
  EXPECT_THAT(p, HasSubstr("atomik_writes_held 0\n"));
  EXPECT_THAT(s.to_text(), HasSubstr("\nhealth  ok"));
}

TEST(NodeHealthTest, FailedTableIsUnhealthyWithItsError) {
  testing::TempDir d;
  testing::FaultyFileSystem fs;
  NodeOptions o = options(d.sub("a"));
  o.storage.fs = &fs;
  auto n = Node::start(o);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  ASSERT_TRUE((*n)->accum(7, 0xFF).ok());
  EXPECT_EQ((*n)->status().health(), "");
  fs.arm(testing::Op::kSync, 1, /*sticky=*/true);
  const Status failed = (*n)->accum(8, 0x11);
  ASSERT_FALSE(failed.ok());
  const NodeStatus s = (*n)->status();
  EXPECT_THAT(s.health(), HasSubstr("table failed: "));
  EXPECT_THAT(s.health(), HasSubstr("injected failure"));
  EXPECT_EQ(s.health().find('\n'), std::string::npos) << s.health();
  EXPECT_THAT(s.to_prometheus(), HasSubstr("atomik_table_failed 1\n"));
  // The failed write was logged but never acknowledged.
  EXPECT_EQ(s.own_durable, 1u);
  EXPECT_EQ(s.own_applied, 2u);
  fs.disarm();
}

TEST(NodeHealthTest, RestartWithSilentPeerHoldsWrites) {
  testing::TempDir d;
  {
    auto n = Node::start(options(d.sub("a")));
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    ASSERT_TRUE((*n)->accum(1, 1).ok());
  }
  NodeOptions o = options(d.sub("a"));
  // Port 1 on loopback: nothing answers, so the hold lasts until the
  // timeout, which this test never reaches.
  o.peers = {"127.0.0.1:1"};
  o.incarnation_timeout_ms = 3600 * 1000;
  auto n = Node::start(o);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  const NodeStatus s = (*n)->status();
  EXPECT_TRUE(s.writes_held);
  EXPECT_THAT(s.health(), HasSubstr("local writes held"));
  EXPECT_THAT(s.to_prometheus(), HasSubstr("atomik_writes_held 1\n"));
  EXPECT_EQ(s.own_applied, 1u);
  EXPECT_EQ(s.own_durable, 1u);
}

}  // namespace
}  // namespace atomik
