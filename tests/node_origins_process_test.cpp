// SPDX-License-Identifier: Apache-2.0
// Many delta origins into one keyless `atomik node` process: 300 one-delta
// frames, each from its own origin, over TCP and over UDP. Every delta is
// readable, the node restarts on the same data and still accepts those
// origins; with --max-origins below 300 the surplus is refused, counted and
// logged, and nothing of it becomes visible. Every wait has a deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomik/node.hpp"
#include "cli_process.hpp"
#include "node_test_util.hpp"

namespace atomik {
namespace {

namespace tp = transport;
using testing::NodeProcess;
using testing::RawConn;
using testing::RawSession;
using testing::TempDir;
using testing::wait_until;

constexpr int kOrigins = 300;

OriginId origin_of(int i) {
  const auto k = static_cast<std::uint64_t>(i);
  return (std::uint64_t{0x0A} << 56) + (k << 8);
}
std::uint64_t value_of(int i, Seq seq) {
  const auto k = static_cast<std::uint64_t>(i);
  return (k + 1) * std::uint64_t{0x1111} + seq * std::uint64_t{0x10000};
}

std::vector<std::byte> frame(int i, Seq seq) {
  const std::vector<FrameRecord> one = {
      {static_cast<Addr>(i), value_of(i, seq)}};
  return encode_frame(FrameHeader{.origin = origin_of(i), .base_seq = seq}, one)
      .value();
}

// A TCP session that sent seq `seq` of every origin. Keep it open until the
// node has read them: closing a socket with unread input (the node's SYNC
// packets) resets the connection, and the node may lose what it had not yet
// read.
struct TcpSender {
  RawSession s;
  RawConn c;
  TcpSender(std::uint16_t port, Seq seq) : c(port) {
    EXPECT_TRUE(s.handshake(c));
    for (int i = 0; i < kOrigins; ++i) {
      EXPECT_TRUE(c.write(s.seal(tp::PacketType::kDeltas, frame(i, seq))));
    }
  }
};

// Sends seq `seq` of the origins in `which` as datagrams.
void send_udp(std::uint16_t port, Seq seq, const std::vector<int>& which,
              std::uint64_t* counter) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i : which) {
    const auto pkt =
        tp::seal_packet(tp::PacketType::kDeltas, ++*counter, frame(i, seq),
                        nullptr, tp::Direction::kDatagram);
    (void)::sendto(fd, pkt.data(), pkt.size(), 0,
                   reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  }
  ::close(fd);
}

// The origins whose address does not yet read value_of(i, seq) (all of them
// if the node does not answer).
std::vector<int> unread(const std::string& address, Seq seq) {
  std::vector<int> out;
  auto c = NodeClient::connect(address, {}, 2000);
  for (int i = 0; i < kOrigins; ++i) {
    const std::uint64_t want =
        seq == 1 ? value_of(i, 1) : value_of(i, 1) ^ value_of(i, 2);
    if (!c.ok() || (*c)->read(static_cast<Addr>(i)).value_or(~0ull) != want) {
      out.push_back(i);
    }
  }
  return out;
}

void run(bool udp) {
  TempDir d(udp ? "origins-udp" : "origins-tcp");
  NodeProcess n(d.sub("n"), d.sub("n.log"));
  std::vector<std::string> extra;
  if (udp) extra.push_back("--udp");
  ASSERT_TRUE(n.start(0, extra));
  std::uint64_t counter = 0;
  if (udp) {
    // Datagrams may be lost: resend what is not yet visible.
    std::vector<int> all(kOrigins);
    for (int i = 0; i < kOrigins; ++i) all[static_cast<std::size_t>(i)] = i;
    send_udp(n.port(), 1, all, &counter);
    ASSERT_TRUE(wait_until([&] {
      const auto left = unread(n.address(), 1);
      if (!left.empty()) send_udp(n.port(), 1, left, &counter);
      return left.empty();
    }));
  } else {
    TcpSender sender(n.port(), 1);
    ASSERT_TRUE(wait_until([&] { return unread(n.address(), 1).empty(); }));
  }
  n.kill(SIGTERM);
  // Restarted on the same data: every origin is there and still accepted.
  ASSERT_TRUE(n.start(0, extra));
  EXPECT_TRUE(unread(n.address(), 1).empty());
  TcpSender sender(n.port(), 2);
  ASSERT_TRUE(wait_until([&] { return unread(n.address(), 2).empty(); }));
  auto c = NodeClient::connect(n.address()).value();
  const std::string js = c->status_json().value();
  EXPECT_NE(js.find("\"origins_refused\":0"), std::string::npos) << js;
}

TEST(NodeOriginsProcessTest,
     ThreeHundredOriginsOverTcpAreReadAndSurviveARestart) {
  run(false);
}

TEST(NodeOriginsProcessTest,
     ThreeHundredOriginsOverUdpAreReadAndSurviveARestart) {
  run(true);
}

TEST(NodeOriginsProcessTest, OriginsAboveMaxOriginsAreRefusedCountedAndLogged) {
  TempDir d("origins-limit");
  NodeProcess n(d.sub("n"), d.sub("n.log"));
  ASSERT_TRUE(n.start(0, {"--max-origins", "100"}));
  TcpSender sender(n.port(), 1);
  auto c = NodeClient::connect(n.address()).value();
  // The node's own origin counts: the first 99 sent are accepted, the
  // other 201 refused.
  ASSERT_TRUE(wait_until([&] {
    const std::string js = c->status_json().value_or("");
    return js.find("\"origins_refused\":201") != std::string::npos;
  }));
  for (int i = 0; i < kOrigins; ++i) {
    EXPECT_EQ(c->read(static_cast<Addr>(i)).value(),
              i < 99 ? value_of(i, 1) : 0u)
        << i;
  }
  EXPECT_NE(n.log_text().find("max_origins 100"), std::string::npos)
      << n.log_text();
}

}  // namespace
}  // namespace atomik
