// SPDX-License-Identifier: Apache-2.0
// The CLI's metrics endpoint (tools/cli/metrics_server.cpp) in process:
// GET /healthz answers 200 "ok" while the health callback returns "", and
// 503 with its one line otherwise; a live Node whose table failed (an
// injected fdatasync error) makes it answer 503 naming the table's error.
#include "cli/metrics_server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "atomik/node.hpp"
#include "http_get.hpp"
#include "storage_test_util.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

using testing::http_get;

TEST(MetricsServerTest, HealthzFollowsTheHealthCallback) {
  // Atomic: the server's threads read it (a socket is no happens-before
  // edge for TSan).
  std::atomic<bool> failed{false};
  auto m = cli::MetricsServer::start(
      "127.0.0.1:0", [] { return std::string("x 1\n"); },
      [&failed] {
        return failed ? std::string("table failed: IoError: disk gone")
                      : std::string();
      });
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const std::string at = (*m)->address();
  EXPECT_EQ(http_get(at, "/healthz"), std::make_pair(200, std::string("ok\n")));
  failed = true;
  EXPECT_EQ(http_get(at, "/healthz"),
            std::make_pair(503, std::string("table failed: IoError: disk "
                                            "gone\n")));
  EXPECT_EQ(http_get(at, "/metrics"),
            std::make_pair(200, std::string("x 1\n")));
}

TEST(MetricsServerTest, WithoutHealthCallbackHealthzIsOk) {
  auto m =
      cli::MetricsServer::start("127.0.0.1:0", [] { return std::string(); });
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ(http_get((*m)->address(), "/healthz"),
            std::make_pair(200, std::string("ok\n")));
}

TEST(MetricsServerTest, FailedTableOfALiveNodeIs503) {
  testing::TempDir d;
  testing::FaultyFileSystem fs;
  NodeOptions o;
  o.data_dir = d.sub("a");
  o.listen = "127.0.0.1:0";
  o.log = false;
  o.storage.fs = &fs;
  auto n = Node::start(o);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  Node* node = n->get();
  auto m = cli::MetricsServer::start(
      "127.0.0.1:0", [node] { return node->status().to_prometheus(); },
      [node] { return node->status().health(); });
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  const std::string at = (*m)->address();
  ASSERT_TRUE(node->accum(1, 1).ok());
  EXPECT_EQ(http_get(at, "/healthz").first, 200);
  fs.arm(testing::Op::kSync, 1, /*sticky=*/true);
  ASSERT_FALSE(node->accum(2, 1).ok());
  const auto [code, body] = http_get(at, "/healthz");
  EXPECT_EQ(code, 503);
  EXPECT_THAT(body, HasSubstr("table failed: "));
  EXPECT_THAT(body, HasSubstr("injected failure"));
  EXPECT_THAT(http_get(at, "/metrics").second,
              HasSubstr("atomik_table_failed 1\n"));
  m->reset();  // no scrape of a stopping node
  fs.disarm();
}

}  // namespace
}  // namespace atomik
