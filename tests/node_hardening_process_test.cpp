// SPDX-License-Identifier: Apache-2.0
// A real `atomik node` process against hostile and careless peers:
// 64 connections that complete the keyless handshake and declare 256 MiB
// SNAPSHOT bodies without sending them leave the node's RSS under 64 MiB
// (bodies are allocated as their bytes arrive); an idle client is closed
// after --idle-timeout; a client over --max-connections is told the node is
// at its connection limit. Memory is measured, never time: every wait polls
// for a condition with a generous deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "cli_process.hpp"
#include "node_test_util.hpp"
#include "transport/packet.hpp"

namespace atomik {
namespace {

namespace tp = transport;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
using testing::TempDir;
using Clock = std::chrono::steady_clock;

// A spawned `atomik node`, killed and reaped on destruction.
struct NodeProc {
  pid_t pid = -1;
  std::string address;
  std::uint16_t port = 0;
  ~NodeProc() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  }
};

void start_node(NodeProc* n, const TempDir& dir,
                const std::vector<std::string>& extra) {
  std::vector<std::string> args = {ATOMIK_CLI_PATH, "node",     "--data",
                                   dir.sub("data"), "--listen", "127.0.0.1:0",
                                   "--sync-ms",     "100"};
  args.insert(args.end(), extra.begin(), extra.end());
  const testing::SpawnedCli c = testing::spawn_listening(args, dir.sub("log"));
  ASSERT_GT(c.pid, 0) << "node did not start; see " << dir.sub("log");
  n->pid = c.pid;
  n->address = c.address;
  n->port = static_cast<std::uint16_t>(
      std::stoul(c.address.substr(c.address.rfind(':') + 1)));
}

// A connected, blocking TCP socket to 127.0.0.1:port, or -1.
int dial(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::vector<std::byte>& b) {
  std::size_t at = 0;
  while (at < b.size()) {
    const ssize_t n = ::send(fd, b.data() + at, b.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly n bytes within 20 s; false on EOF, error or deadline.
bool read_exact(int fd, std::size_t n, std::vector<std::byte>* out) {
  out->assign(n, std::byte{0});
  std::size_t at = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (at < n && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t got = ::recv(fd, out->data() + at, n - at, 0);
    if (got <= 0) return false;
    at += static_cast<std::size_t>(got);
  }
  return at == n;
}

// Sends a keyless HELLO (as a peer with `origin`, or as a client) and reads
// the node's HELLO reply.
bool handshake(int fd, OriginId origin, bool client) {
  tp::Hello h{.flags = client ? tp::kHelloFlagClient : std::uint16_t{0},
              .origin = client ? 0 : origin,
              .nonce = tp::random_nonce()};
  if (!send_all(fd,
                tp::seal_packet(tp::PacketType::kHello, 0, tp::encode_hello(h),
                                nullptr, tp::Direction::kFromConnector))) {
    return false;
  }
  std::vector<std::byte> reply;
  return read_exact(fd, tp::kPacketHeaderSize + tp::kHelloBodySize, &reply) &&
         reply[5] ==
             std::byte{static_cast<std::uint8_t>(tp::PacketType::kHello)};
}

// VmRSS of `pid` in bytes, or 0.
std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

// Bytes waiting unread in the receive queues of the sockets listening-side
// on `port` whose peers are `remote_ports` (/proc/net/tcp: rx_queue).
std::uint64_t unread_bytes(std::uint16_t port,
                           const std::set<std::uint16_t>& remote_ports,
                           std::size_t* sockets) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  std::uint64_t total = 0;
  *sockets = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, queues;
    f >> sl >> local >> remote >> st >> queues;
    const auto lport = static_cast<std::uint16_t>(
        std::stoul(local.substr(local.find(':') + 1), nullptr, 16));
    const auto rport = static_cast<std::uint16_t>(
        std::stoul(remote.substr(remote.find(':') + 1), nullptr, 16));
    if (lport != port || remote_ports.count(rport) == 0) continue;
    ++*sockets;
    total += std::stoull(queues.substr(queues.find(':') + 1), nullptr, 16);
  }
  return total;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(NodeHardeningProcessTest, DeclaredSnapshotBodiesDoNotAllocateMemory) {
  TempDir dir("harden_rss");
  NodeProc node;
  // 64 hostile peers plus the status client below.
  ASSERT_NO_FATAL_FAILURE(
      start_node(&node, dir, {"--max-connections", "80", "--quiet"}));
  // Under a sanitizer the node starts far above 64 MiB (shadow memory,
  // quarantine): there the bound applies to what the connections add.
  const std::uint64_t base = kSanitized ? rss_bytes(node.pid) : 0;
  constexpr int kPeers = 64;
  constexpr std::uint32_t kDeclared = 256u << 20;
  std::vector<int> fds;
  std::set<std::uint16_t> ports;
  for (int i = 0; i < kPeers; ++i) {
    const int fd = dial(node.port);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
    ports.insert(local_port(fd));
    ASSERT_TRUE(handshake(fd, 0x1000 + static_cast<OriginId>(i), false))
        << "peer " << i;
    // A SNAPSHOT header declaring 256 MiB; no body byte follows.
    std::vector<std::byte> h(tp::kPacketHeaderSize);
    tp::write_header(
        tp::PacketHeader{tp::PacketType::kSnapshot, 0, kDeclared, 1},
        std::span<std::byte, tp::kPacketHeaderSize>(h));
    ASSERT_TRUE(send_all(fd, h));
  }
  // Wait until the node has read every header (nothing left unread on its
  // sockets), then make a request: the node's one network thread handles
  // it after the header reads, so the allocations they cause are done.
  std::size_t sockets = 0;
  std::uint64_t unread = 1;
  testing::wait_until(
      [&] {
        unread = unread_bytes(node.port, ports, &sockets);
        return unread == 0 && sockets == kPeers;
      },
      std::chrono::seconds(30));
  ASSERT_EQ(sockets, static_cast<std::size_t>(kPeers));
  ASSERT_EQ(unread, 0u);
  auto c = NodeClient::connect(node.address);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto status = (*c)->status_json();
  ASSERT_TRUE(status.ok()) << status.status().to_string();
  EXPECT_NE(status->find("\"connects\":65"), std::string::npos) << *status;
  const std::uint64_t rss = rss_bytes(node.pid);
  ASSERT_GT(rss, 0u);
  std::printf("node RSS with %d declared bodies: %llu bytes (before: %llu)\n",
              kPeers, static_cast<unsigned long long>(rss),
              static_cast<unsigned long long>(base));
  EXPECT_LT(rss, base + (std::uint64_t{64} << 20))
      << "RSS " << rss << " bytes (before: " << base << ") with " << kPeers
      << " declared " << kDeclared << "-byte bodies";
  for (int fd : fds) ::close(fd);
}

TEST(NodeHardeningProcessTest, IdleClientIsClosedAfterTheTimeout) {
  TempDir dir("harden_idle");
  NodeProc node;
  ASSERT_NO_FATAL_FAILURE(start_node(&node, dir, {"--idle-timeout", "1"}));
  const int fd = dial(node.port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(handshake(fd, 0, true));
  // Say nothing; the node must close the connection (EOF). The deadline is
  // far above the 1 s timeout.
  bool eof = false;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!eof && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    eof = n <= 0;
  }
  ::close(fd);
  EXPECT_TRUE(eof) << "the idle client was not closed";
  auto c = NodeClient::connect(node.address);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  auto status = (*c)->status_json();
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("\"idle_disconnects\":1"), std::string::npos)
      << *status;
  std::ifstream log(dir.sub("log"));
  const std::string text((std::istreambuf_iterator<char>(log)),
                         std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("(idle timeout)"), std::string::npos) << text;
}

TEST(NodeHardeningProcessTest, ClientOverTheConnectionLimitIsToldSo) {
  TempDir dir("harden_limit");
  NodeProc node;
  ASSERT_NO_FATAL_FAILURE(start_node(&node, dir, {"--max-connections", "2"}));
  std::vector<int> fds;
  for (int i = 0; i < 2; ++i) {
    fds.push_back(dial(node.port));
    ASSERT_GE(fds.back(), 0);
    ASSERT_TRUE(handshake(fds.back(), 0, true));
  }
  auto c = NodeClient::connect(node.address);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kResourceExhausted)
      << c.status().to_string();
  EXPECT_NE(c.status().to_string().find("at its connection limit "
                                        "(max_connections 2)"),
            std::string::npos)
      << c.status().to_string();
  EXPECT_EQ(c.status().to_string().find("wrong key"), std::string::npos);
  // The CLI says the same (exit 1: a connection problem).
  const auto [code, out] =
      testing::run_cli("status --node " + node.address + " --timeout-ms 10000");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("connection limit"), std::string::npos) << out;
  for (int fd : fds) ::close(fd);
  // A slot freed: clients get in again (the node notices the closes).
  const bool in = testing::wait_until(
      [&] { return NodeClient::connect(node.address).ok(); },
      std::chrono::seconds(30));
  EXPECT_TRUE(in);
}

// A key file of 64 hex digits with `mode`.
std::string write_key(const TempDir& dir, const std::string& name,
                      mode_t mode) {
  const std::string path = dir.sub(name);
  std::ofstream(path) << std::string(64, 'a') << "\n";
  ::chmod(path.c_str(), mode);
  return path;
}

// The node's start-up checks run before the table opens: an unusable
// --data ('/dev/null/x') shows that they passed.
constexpr const char* kBadData = " --data /dev/null/x --listen 127.0.0.1:0";

TEST(NodeHardeningProcessTest, KeyFileReadableByOthersIsRefused) {
  TempDir dir("harden_key");
  for (const mode_t mode : {0644u, 0666u, 0640u, 0604u}) {
    const std::string k = write_key(dir, "k" + std::to_string(mode), mode);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    for (const char* cmd : {"node", "status"}) {
      const auto [code, out] = testing::run_cli(
          std::string(cmd) + " --key-file " + k +
          (std::string(cmd) == "node" ? kBadData : " --node 127.0.0.1:1"));
      EXPECT_EQ(code, 1) << cmd << " " << out;
      EXPECT_NE(out.find(std::string("permissions ") + octal + " are too open"),
                std::string::npos)
          << cmd << " " << out;
    }
  }
  // 0600 (and 0400) pass the check; the node then fails on --data.
  for (const mode_t mode : {0600u, 0400u}) {
    const std::string k = write_key(dir, "ok" + std::to_string(mode), mode);
    const auto [code, out] =
        testing::run_cli("node --key-file " + k + kBadData);
    EXPECT_EQ(code, 1) << out;
    EXPECT_EQ(out.find("too open"), std::string::npos) << out;
    EXPECT_NE(out.find("/dev/null/x"), std::string::npos) << out;
  }
}

TEST(NodeHardeningProcessTest, KeyFileThatIsADirectoryIsNamed) {
  TempDir dir("harden_keydir");
  ::mkdir(dir.sub("keys").c_str(), 0700);
  for (const char* cmd : {"node", "status"}) {
    const auto [code, out] = testing::run_cli(
        std::string(cmd) + " --key-file " + dir.sub("keys") +
        (std::string(cmd) == "node" ? kBadData : " --node 127.0.0.1:1"));
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find("is a directory, expected a key file"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("underflow"), std::string::npos) << out;
  }
  // The library's reader says the same (no exception).
  auto k = read_node_key_file(dir.sub("keys"));
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().to_string().find("is a directory"), std::string::npos);
}

TEST(NodeHardeningProcessTest, KeylessBeyondLoopbackIsRefused) {
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:7400"}) {
    const auto [code, out] = testing::run_cli(
        std::string("node --data /dev/null/x --listen ") + listen);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("without --key-file"), std::string::npos) << out;
    EXPECT_NE(out.find("--insecure-no-key"), std::string::npos) << out;
  }
  // --insecure-no-key passes the check (then --data fails), with the
  // warning every keyless start gives.
  const auto [code, out] = testing::run_cli(
      "node --data /dev/null/x --listen 0.0.0.0:0 --insecure-no-key");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("warn cli: no --key-file"), std::string::npos) << out;
  // On loopback: started, warned.
  const auto [code2, out2] = testing::run_cli(std::string("node") + kBadData);
  EXPECT_EQ(code2, 1) << out2;
  EXPECT_NE(out2.find("warn cli: no --key-file"), std::string::npos) << out2;
}

TEST(NodeHardeningProcessTest, RedisPasswordNeverPrinted) {
  TempDir dir("harden_redact");
  // Malformed URLs (refused at once) and an unreachable server (refused
  // after the connect timeout), through `node --redis` and `redis-node`.
  for (const char* url :
       {"redis://u:secret@127.0.0.1:xx", "redis://u:secret@127.0.0.1:1/zz",
        "rediss://u:secret@h", "redis://u:secret@",
        "redis://u:secret@127.0.0.1:1"}) {
    for (const std::string& cmd :
         {"node --listen 127.0.0.1:0 --data " + dir.sub("n") + " --redis ",
          "redis-node --no-stdin --data " + dir.sub("r") + " --redis "}) {
      const auto [code, out] = testing::run_cli(cmd + url);
      EXPECT_NE(code, 0) << out;
      EXPECT_EQ(out.find("secret"), std::string::npos) << cmd << url << out;
      // Messages that quote the URL show it redacted.
      if (out.find("redis URL") != std::string::npos) {
        EXPECT_NE(out.find("u:***@"), std::string::npos) << cmd << url << out;
      }
    }
  }
  // A parse error that echoes the value.
  const auto [code, out] =
      testing::run_cli("node --redis redis://u:secret@h --listen nonsense");
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
}

TEST(NodeHardeningProcessTest, LogLevelAndJsonFormat) {
  {
    const auto [code, out] =
        testing::run_cli(std::string("node --log-format json") + kBadData);
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find(R"({"time":")"), std::string::npos) << out;
    EXPECT_NE(out.find(R"("component":"cli","level":"warn","message":"no )"),
              std::string::npos)
        << out;
  }
  {
    const auto [code, out] =
        testing::run_cli(std::string("node --log-level error") + kBadData);
    EXPECT_EQ(code, 1) << out;
    EXPECT_EQ(out.find("no --key-file"), std::string::npos) << out;
  }
  for (const char* bad : {"--log-level verbose", "--log-format xml"}) {
    const auto [code, out] =
        testing::run_cli(std::string("node ") + bad + kBadData);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find(std::string(bad).substr(0, 11)), std::string::npos)
        << out;
  }
  {
    // --idle-timeout must exceed the sync period.
    const auto [code, out] = testing::run_cli(
        std::string("node --idle-timeout 1 --sync-ms 2000") + kBadData);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("--idle-timeout"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace atomik
