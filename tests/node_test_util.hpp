// SPDX-License-Identifier: Apache-2.0
// Helpers for the node tests: deadline polling, temp dirs, a raw
// TCP socket that speaks (or abuses) the node protocol. Loopback only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "atomik/node.hpp"
#include "transport/packet.hpp"
#include "wait_until.hpp"

namespace atomik::testing {

// The options an in-process node test starts from: loopback on a free
// port, a 50 ms sync period, short reconnect backoff, logs on stderr when
// ATOMIK_TEST_NODE_LOG is set.
inline NodeOptions node_options(const std::string& dir) {
  NodeOptions o;
  o.data_dir = dir;
  o.listen = "127.0.0.1:0";
  o.sync_interval_ms = 50;
  o.reconnect_min_ms = 10;
  o.reconnect_max_ms = 200;
  o.log = std::getenv("ATOMIK_TEST_NODE_LOG") != nullptr;
  return o;
}

// Node::start; a failure fails the test (with its status) and gives null.
inline std::unique_ptr<Node> start_node(const NodeOptions& o) {
  auto n = Node::start(o);
  EXPECT_TRUE(n.ok()) << n.status().to_string();
  return n.ok() ? std::move(*n) : nullptr;
}

// A fresh directory under the temp dir, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    std::random_device rd;
    path_ = (std::filesystem::temp_directory_path() /
             ("atomik-" + tag + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(rd())))
                .string();
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A raw blocking TCP connection to 127.0.0.1:port with receive timeouts.
class RawConn {
 public:
  explicit RawConn(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ =
        ::connect(fd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    timeval tv{5, 0};
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool ok() const { return ok_; }
  bool write(std::span<const std::byte> b) {
    std::size_t at = 0;
    while (at < b.size()) {
      const ssize_t n = ::send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL);
      if (n <= 0) return false;
      at += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads exactly n bytes (nullopt on EOF/timeout).
  std::optional<std::vector<std::byte>> read(std::size_t n) {
    std::vector<std::byte> out(n);
    std::size_t at = 0;
    while (at < n) {
      const ssize_t r = ::recv(fd_, out.data() + at, n - at, 0);
      if (r <= 0) return std::nullopt;
      at += static_cast<std::size_t>(r);
    }
    return out;
  }
  // True once the peer closed the connection (EOF) within the timeout.
  bool closed_by_peer() {
    std::byte b[4096];
    for (;;) {
      const ssize_t r = ::recv(fd_, b, sizeof b, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// A peer session over RawConn: handshake as a (fake) node, then sealed
// packets with the session key.
struct RawSession {
  transport::Key shared{};
  bool keyed = false;
  transport::Key skey{};
  std::uint64_t counter = 0;
  OriginId origin = 0x5eed;

  // Sends HELLO and reads the reply; false if the node closed instead.
  bool handshake(RawConn& c, const transport::Key* sign_with = nullptr) {
    const transport::Nonce mine = transport::random_nonce();
    transport::Hello h{.origin = origin, .nonce = mine};
    const transport::Key* k =
        sign_with != nullptr ? sign_with : (keyed ? &shared : nullptr);
    if (!c.write(transport::seal_packet(transport::PacketType::kHello, 0,
                                        transport::encode_hello(h), k,
                                        transport::Direction::kFromConnector)))
      return false;
    auto head = c.read(transport::kPacketHeaderSize);
    if (!head) return false;
    transport::PacketHeader ph;
    std::string why;
    if (transport::parse_header(
            std::span<const std::byte, transport::kPacketHeaderSize>(
                head->data(), transport::kPacketHeaderSize),
            1 << 20, &ph, &why) != transport::HeaderError::kNone)
      return false;
    auto rest = c.read(std::size_t{ph.body_len} + ph.tag_len);
    if (!rest) return false;
    auto hello = transport::decode_hello({rest->data(), ph.body_len});
    if (!hello.ok()) return false;
    if (keyed) skey = transport::session_key(shared, mine, hello->nonce);
    return true;
  }
  std::vector<std::byte> seal(transport::PacketType type,
                              std::span<const std::byte> body) {
    return transport::seal_packet(type, ++counter, body,
                                  keyed ? &skey : nullptr,
                                  transport::Direction::kFromConnector);
  }
};

}  // namespace atomik::testing
