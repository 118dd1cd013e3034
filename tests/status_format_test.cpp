// SPDX-License-Identifier: Apache-2.0
// NodeStatus and RedisStatus as JSON, text and Prometheus text: strings
// that need escaping (quotes, backslashes, newlines) stay valid JSON and
// valid label values, every counter reaches the JSON and (when non-zero)
// the text, and the WAL sync histogram is cumulative.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "atomik/node.hpp"
#include "transport/node_stats_fields.hpp"
#ifdef ATOMIK_HAVE_REDIS
#include "atomik/redis.hpp"
#endif

namespace atomik {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kNasty = "a\"b\\c\nd";

NodeStatus sample_status() {
  NodeStatus s;
  s.origin = 0xA1;
  s.listen = kNasty;
  s.peers.push_back({.address = kNasty,
                     .outgoing = true,
                     .connected = true,
                     .origin = 0xB2,
                     .lag = 7,
                     .queued_bytes = 3});
  s.stats.deltas_applied = 5;
  s.stats.own_conflicts = 2;
  s.origins = 2;
  s.wal.sync_time.add(0.0002);  // bucket le=0.00025
  s.wal.sync_time.add(2.0);     // only +Inf
  return s;
}

TEST(StatusFormatTest, NodeJsonEscapesStringsAndKeepsEveryCounter) {
  const NodeStatus s = sample_status();
  const auto j = nlohmann::json::parse(s.to_json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << s.to_json();
  EXPECT_EQ(j["listen"], kNasty);
  EXPECT_EQ(j["peers"][0]["address"], kNasty);
  EXPECT_EQ(j["peers"][0]["lag"], 7);
  EXPECT_EQ(j["stats"]["deltas_applied"], 5);
  EXPECT_EQ(j["stats"]["own_conflicts"], 2);
  std::size_t counters = 0;
  transport::detail::for_each_node_stat(
      s.stats, [&](const char* name, std::uint64_t v) {
        ++counters;
        EXPECT_EQ(j["stats"][name], v) << name;
      });
  EXPECT_EQ(j["stats"].size(), counters);
  EXPECT_GE(counters, 28u);
  EXPECT_EQ(j["origins"], 2);
}

TEST(StatusFormatTest, ExtraValueThatIsNotJsonBecomesAString) {
  NodeStatus s;
  s.extra = {{"good", R"({"x":1})"}, {"bad", "{not json"}};
  const auto j = nlohmann::json::parse(s.to_json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << s.to_json();
  EXPECT_EQ(j["good"]["x"], 1);
  EXPECT_EQ(j["bad"], "{not json");
}

TEST(StatusFormatTest, TextListsNonZeroCountersFromTheStruct) {
  const std::string t = sample_status().to_text();
  EXPECT_THAT(t, HasSubstr("\n  deltas_applied  5"));
  EXPECT_THAT(t, HasSubstr("\n  own_conflicts  2"));
  EXPECT_THAT(t, Not(HasSubstr("deltas_duplicate")));
  EXPECT_THAT(t, HasSubstr("lag 7"));
}

TEST(StatusFormatTest, PrometheusEscapesLabelsAndHistogramIsCumulative) {
  const std::string p = sample_status().to_prometheus();
  EXPECT_THAT(
      p, HasSubstr("atomik_peer_lag_deltas{peer=\"a\\\"b\\\\c\\nd\"} 7\n"));
  EXPECT_THAT(p,
              HasSubstr("atomik_peer_connected{peer=\"a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_THAT(p,
              HasSubstr("atomik_wal_sync_seconds_bucket{le=\"0.0001\"} 0\n"));
  EXPECT_THAT(p,
              HasSubstr("atomik_wal_sync_seconds_bucket{le=\"0.00025\"} 1\n"));
  EXPECT_THAT(p, HasSubstr("atomik_wal_sync_seconds_bucket{le=\"1\"} 1\n"));
  EXPECT_THAT(p, HasSubstr("atomik_wal_sync_seconds_bucket{le=\"+Inf\"} 2\n"));
  EXPECT_THAT(p, HasSubstr("atomik_wal_sync_seconds_count 2\n"));
  EXPECT_THAT(p, HasSubstr("atomik_wal_sync_seconds_sum 2.0002\n"));
  EXPECT_THAT(p, HasSubstr("atomik_deltas_applied_total 5\n"));
  EXPECT_THAT(p, HasSubstr("atomik_origins 2\n"));
}

TEST(StatusFormatTest, IncomingPeersAreLabelledByOriginAndMerged) {
  NodeStatus s;
  s.peers.push_back({.address = "127.0.0.1:5001",
                     .connected = false,
                     .origin = 0xC3,
                     .lag = 4});
  s.peers.push_back({.address = "127.0.0.1:5002",
                     .connected = true,
                     .origin = 0xC3,
                     .lag = 1});
  const std::string p = s.to_prometheus();
  EXPECT_THAT(
      p, HasSubstr("atomik_peer_connected{peer=\"0x00000000000000c3\"} 1\n"));
  EXPECT_THAT(
      p, HasSubstr("atomik_peer_lag_deltas{peer=\"0x00000000000000c3\"} 4\n"));
  EXPECT_THAT(p, Not(HasSubstr("5001")));
}

#ifdef ATOMIK_HAVE_REDIS
TEST(StatusFormatTest, RedisJsonEscapesTheTableName) {
  RedisStatus r;
  r.table = kNasty;
  r.endpoint = "127.0.0.1:6379/0";
  r.unpublished = 9;
  r.positions.push_back({.shard = 0, .read_id = "1-0", .published_seq = 3});
  const auto j = nlohmann::json::parse(r.to_json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.to_json();
  EXPECT_EQ(j["table"], kNasty);
  EXPECT_EQ(j["positions"][0]["read"], "1-0");
  EXPECT_THAT(r.to_prometheus(), HasSubstr("atomik_redis_unpublished 9\n"));
}
#endif

}  // namespace
}  // namespace atomik
