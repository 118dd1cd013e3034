// SPDX-License-Identifier: Apache-2.0
// FaultProxy (node tests): a loopback TCP proxy in front of a node that
// cuts the byte stream into node-protocol packets (24-byte header, body,
// tag; docs/format/node_protocol.md) and, from a seeded RNG, drops,
// duplicates, delays and reorders packets and cuts connections. The first
// packet each way (the HELLO) is always forwarded, so handshakes complete.
// A mutator (set_mutator) may also rewrite packets before they go on, for
// tests that corrupt one packet of one type.
// Threads: one acceptor, two pumps per connection; stop() joins them all.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace atomik::testing {

struct FaultRates {
  double drop = 0.03;
  double duplicate = 0.03;
  double reorder = 0.03;  // hold a packet back behind the next one
  double delay = 0.03;    // forward it after 1-5 ms
  double cut = 0.002;     // close both sides of the connection
};

struct FaultCounts {
  std::atomic<std::uint64_t> forwarded{0}, dropped{0}, duplicated{0},
      reordered{0}, delayed{0}, cuts{0}, mutated{0};
};

class FaultProxy {
 public:
  FaultProxy(std::uint16_t target_port, std::uint64_t seed, FaultRates rates)
      : target_(target_port), seed_(seed), rates_(rates) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    (void)::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    (void)::bind(lfd_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    (void)::listen(lfd_, 64);
    socklen_t len = sizeof sa;
    (void)::getsockname(lfd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FaultProxy() { stop(); }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return port_; }
  const FaultCounts& counts() const { return counts_; }
  // Stops injecting faults (forwards everything) from now on.
  void calm() { calm_.store(true); }
  // Called with every packet after the HELLOs (header, body, tag), both
  // directions, before it is forwarded; returns true if it changed the
  // packet (counted in counts().mutated). Called under a lock.
  using Mutator = std::function<bool(std::vector<std::uint8_t>&)>;
  void set_mutator(Mutator m) {
    std::lock_guard<std::mutex> lk(mu_);
    mutator_ = std::move(m);
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    ::shutdown(lfd_, SHUT_RDWR);
    ::close(lfd_);
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> ts;
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
      ts.swap(threads_);
    }
    for (auto& t : ts) t.join();
    std::lock_guard<std::mutex> lk(mu_);
    for (int fd : fds_) ::close(fd);
    fds_.clear();
  }

 private:
  void accept_loop() {
    std::uint64_t n = 0;
    for (;;) {
      const int down = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (down < 0) {
        if (stopped_.load()) return;
        continue;
      }
      const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sa.sin_port = htons(target_);
      if (::connect(up, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) !=
          0) {
        ::close(up);
        ::close(down);
        continue;
      }
      std::lock_guard<std::mutex> lk(mu_);
      if (stopped_.load()) {
        ::close(up);
        ::close(down);
        return;
      }
      fds_.push_back(down);
      fds_.push_back(up);
      ++n;
      threads_.emplace_back([this, down, up, n] { pump(down, up, n * 2); });
      threads_.emplace_back([this, down, up, n] { pump(up, down, n * 2 + 1); });
    }
  }

  static bool read_exact(int fd, std::uint8_t* p, std::size_t n) {
    std::size_t at = 0;
    while (at < n) {
      const ssize_t r = ::recv(fd, p + at, n - at, 0);
      if (r <= 0) return false;
      at += static_cast<std::size_t>(r);
    }
    return true;
  }
  static bool write_all(int fd, const std::vector<std::uint8_t>& b) {
    std::size_t at = 0;
    while (at < b.size()) {
      const ssize_t r = ::send(fd, b.data() + at, b.size() - at, MSG_NOSIGNAL);
      if (r <= 0) return false;
      at += static_cast<std::size_t>(r);
    }
    return true;
  }

  // Forwards packets from `from` to `to` with faults.
  void pump(int from, int to, std::uint64_t stream) {
    std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + stream);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::optional<std::vector<std::uint8_t>> held;
    bool first = true;
    for (;;) {
      std::vector<std::uint8_t> pkt(24);
      if (!read_exact(from, pkt.data(), 24)) break;
      std::uint32_t body = 0;
      std::uint16_t tag = 0;
      std::memcpy(&tag, pkt.data() + 6, 2);
      std::memcpy(&body, pkt.data() + 8, 4);
      const std::size_t rest = std::size_t{body} + tag;
      if (rest > (64u << 20)) break;  // not a packet stream: give up
      pkt.resize(24 + rest);
      if (!read_exact(from, pkt.data() + 24, rest)) break;
      if (!first) {
        std::lock_guard<std::mutex> lk(mu_);
        if (mutator_ && mutator_(pkt)) ++counts_.mutated;
      }
      bool ok = true;
      if (first || calm_.load()) {
        first = false;
        ok = write_all(to, pkt);
        ++counts_.forwarded;
      } else if (u(rng) < rates_.cut) {
        ++counts_.cuts;
        break;
      } else if (u(rng) < rates_.drop) {
        ++counts_.dropped;
      } else if (!held && u(rng) < rates_.reorder) {
        ++counts_.reordered;
        held = std::move(pkt);
        continue;
      } else {
        if (u(rng) < rates_.delay) {
          ++counts_.delayed;
          std::this_thread::sleep_for(std::chrono::milliseconds(1 + rng() % 5));
        }
        ok = write_all(to, pkt);
        ++counts_.forwarded;
        if (ok && u(rng) < rates_.duplicate) {
          ++counts_.duplicated;
          ok = write_all(to, pkt);
        }
      }
      if (ok && held) {
        ok = write_all(to, *held);
        held.reset();
      }
      if (!ok) break;
    }
    ::shutdown(from, SHUT_RDWR);
    ::shutdown(to, SHUT_RDWR);
  }

  std::uint16_t target_;
  std::uint64_t seed_;
  FaultRates rates_;
  int lfd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> calm_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  Mutator mutator_;
  FaultCounts counts_;
};

}  // namespace atomik::testing
