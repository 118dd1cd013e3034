// SPDX-License-Identifier: Apache-2.0
// Test helper: runs a private redis-server (or a 3-master Redis Cluster) on
// free loopback ports with its own temp directory, persistence off unless
// asked (AOF for restart tests), and stops it at the end. Tests call
// GTEST_SKIP() with RedisServer::why_not() when redis-server cannot start.
//
//   atomik::testing::RedisServer::Options o;
//   o.aof = true;
//   auto srv = atomik::testing::RedisServer::start(o);
//   if (!srv) GTEST_SKIP() << atomik::testing::RedisServer::why_not();
//   srv->url();        // "redis://127.0.0.1:PORT/0"
//   srv->restart();    // SIGTERM, then the same port and dir (AOF reloads)
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace atomik::testing {

// Sends `cmd` (inline command) to 127.0.0.1:port and returns the first reply
// line ("" on failure), waiting at most timeout_ms.
inline std::string redis_inline_command(std::uint16_t port,
                                        const std::string& cmd,
                                        int timeout_ms = 500) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string line = cmd + "\r\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(line.size())) {
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// A port that was free a moment ago (bind 127.0.0.1:0, read, close).
inline std::uint16_t pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

class RedisServer {
 public:
  struct Options {
    bool aof = false;         // appendonly yes, appendfsync always
    std::string requirepass;  // non-empty: --requirepass
    bool cluster = false;     // --cluster-enabled yes
    bool quiet = true;        // redis output to <dir>/redis.log
  };

  // Starts redis-server on a free port (retrying on a port conflict) and
  // waits (10 s deadline) until it answers. nullptr if it cannot start;
  // why_not() says why.
  static std::unique_ptr<RedisServer> start(const Options& o) {
    char tmpl[] = "/tmp/atomik-redis-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      why() = "mkdtemp failed";
      return nullptr;
    }
    std::unique_ptr<RedisServer> s(new RedisServer(o, tmpl));
    for (int attempt = 0; attempt < 8; ++attempt) {
      std::uint16_t p = pick_free_port();
      // A cluster node also needs port + 10000 (the cluster bus).
      if (p == 0 || (o.cluster && p > 55000)) continue;
      s->port_ = p;
      if (s->launch()) return s;
    }
    why() =
        "redis-server did not start (is it installed? apt-get install "
        "redis-server): see " +
        s->dir_ + "/redis.log";
    s->keep_dir_ = true;
    return nullptr;
  }
  static const std::string& why_not() { return why(); }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() {
    stop();
    if (!keep_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string url() const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/0";
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return pid_ > 0; }

  // SIGTERM (Redis flushes the AOF and exits), waits up to 10 s, then
  // SIGKILL. Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!wait_exit(10000)) {
      ::kill(pid_, SIGKILL);
      wait_exit(10000);
    }
    pid_ = -1;
  }
  // stop(), then the same port and directory again.
  bool restart() {
    stop();
    for (int i = 0; i < 50; ++i) {
      if (launch()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

 private:
  RedisServer(const Options& o, std::string dir)
      : opt_(o), dir_(std::move(dir)) {}
  static std::string& why() {
    static std::string w;
    return w;
  }

  bool wait_exit(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || r < 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  bool launch() {
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--dir",
                                     dir_,
                                     "--daemonize",
                                     "no",
                                     "--appendonly",
                                     opt_.aof ? "yes" : "no"};
    if (opt_.aof) {
      args.insert(args.end(), {"--appendfsync", "always"});
    }
    if (!opt_.requirepass.empty())
      args.insert(args.end(), {"--requirepass", opt_.requirepass});
    if (opt_.cluster) {
      args.insert(args.end(),
                  {"--cluster-enabled", "yes", "--cluster-config-file",
                   "nodes.conf", "--cluster-node-timeout", "5000"});
    }
    const pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) {
      // Dies with the test or bench process, even if that one crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      const std::string log = dir_ + "/redis.log";
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-server", argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;  // exited: port taken, or no redis-server
        return false;
      }
      const std::string r = redis_inline_command(port_, "PING", 200);
      if (r.rfind("+PONG", 0) == 0 || r.rfind("-NOAUTH", 0) == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    return false;
  }

  Options opt_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool keep_dir_ = false;
};

// Three cluster-enabled redis-servers joined by `redis-cli --cluster create`
// into a 3-master cluster (no replicas). nullptr (and why_not()) if it does
// not come up within 30 s.
class RedisCluster {
 public:
  static std::unique_ptr<RedisCluster> start() {
    std::unique_ptr<RedisCluster> c(new RedisCluster());
    for (int i = 0; i < 3; ++i) {
      RedisServer::Options co;
      co.cluster = true;
      auto s = RedisServer::start(co);
      if (!s) {
        why() = RedisServer::why_not();
        return nullptr;
      }
      c->nodes_.push_back(std::move(s));
    }
    std::vector<std::string> args = {"redis-cli", "--cluster", "create"};
    for (auto& n : c->nodes_) args.push_back(n->address());
    args.push_back("--cluster-yes");
    const pid_t pid = ::fork();
    if (pid == 0) {
      const std::string log = c->nodes_[0]->dir() + "/cluster-create.log";
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("redis-cli", argv.data());
      ::_exit(127);
    }
    if (pid < 0) {
      why() = "fork failed";
      return nullptr;
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int st = 0;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      why() = "redis-cli --cluster create timed out";
      return nullptr;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      why() = "redis-cli --cluster create failed (see " + c->nodes_[0]->dir() +
              "/cluster-create.log)";
      return nullptr;
    }
    // Every node must agree the cluster is ok.
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = true;
      for (auto& n : c->nodes_) {
        const std::string info =
            redis_inline_command(n->port(), "CLUSTER INFO", 500);
        if (info.find("cluster_state:ok") == std::string::npos) ok = false;
      }
      if (ok) return c;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why() = "the cluster did not reach cluster_state:ok within 30 s";
    return nullptr;
  }
  static const std::string& why_not() { return why(); }
  // A seed URL (node 0); the client follows MOVED to the others.
  std::string url() const { return nodes_[0]->url(); }
  const std::vector<std::unique_ptr<RedisServer>>& nodes() const {
    return nodes_;
  }

 private:
  RedisCluster() = default;
  static std::string& why() {
    static std::string w;
    return w;
  }
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

}  // namespace atomik::testing
