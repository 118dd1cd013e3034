// SPDX-License-Identifier: Apache-2.0
// Pattern 5 across processes: three `atomik node` child processes
// of this binary on loopback, random deltas into each through NodeClient,
// one SIGKILLed mid-run and restarted on its data directory, then all
// digests equal and every state == XOR of every acknowledged delta.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "atomik/node.hpp"
#include "cli/commands.hpp"

extern char** environ;

namespace atomik::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::string addr() const { return "127.0.0.1:" + std::to_string(port); }
};

// Spawns `self node ...` and reads its "listening on" line (10 s deadline).
bool spawn_node(const std::string& self, const std::string& data,
                std::uint16_t port, const std::vector<std::string>& peers,
                Child* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  std::vector<std::string> args = {
      self,        "node",     "--data",
      data,        "--listen", "127.0.0.1:" + std::to_string(port),
      "--sync-ms", "100",      "--quiet"};
  for (const auto& p : peers) {
    args.emplace_back("--peer");
    args.push_back(p);
  }
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  const int rc =
      posix_spawn(&out->pid, self.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    out->pid = -1;
    return false;
  }
  std::string text;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (text.find('\n') == std::string::npos && Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  constexpr const char* kTag = "listening on 127.0.0.1:";
  const auto at = text.find(kTag);
  if (at == std::string::npos) return false;
  out->port = static_cast<std::uint16_t>(
      std::stoul(text.substr(at + std::strlen(kTag))));
  return true;
}

void stop_child(Child* c, int sig) {
  if (c->pid <= 0) return;
  ::kill(c->pid, sig);
  int st = 0;
  ::waitpid(c->pid, &st, 0);
  c->pid = -1;
}

}  // namespace

bool run_node_cluster_demo(std::string* detail) {
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    *detail = "cannot find this binary (/proc/self/exe)";
    return false;
  }
  self[n] = '\0';
  std::random_device rd;
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("atomik-demo5-" + std::to_string(::getpid()) + "-" +
                            std::to_string(rd())))
                              .string();
  std::filesystem::create_directories(dir);
  Child nodes[3];
  bool ok = spawn_node(self, dir + "/n0", 0, {}, &nodes[0]) &&
            spawn_node(self, dir + "/n1", 0, {nodes[0].addr()}, &nodes[1]) &&
            spawn_node(self, dir + "/n2", 0, {nodes[0].addr(), nodes[1].addr()},
                       &nodes[2]);
  std::map<Addr, std::uint64_t> model;
  std::uint64_t acked = 0;
  std::uint64_t refused = 0;
  std::mt19937_64 g(5);
  constexpr Addr kAddrs = 32;
  auto write_round = [&](int rounds, bool skip_1) {
    std::unique_ptr<NodeClient> cs[3];
    for (int i = 0; i < 3; ++i) {
      if (skip_1 && i == 1) continue;
      auto c = NodeClient::connect(nodes[i].addr(), {}, 3000);
      if (c.ok()) cs[i] = std::move(*c);
    }
    for (int k = 0; k < rounds; ++k) {
      const int i = static_cast<int>(g() % 3);
      const auto a = static_cast<Addr>(g() % kAddrs);
      const std::uint64_t d = g() | 1;
      if (!cs[i] || !cs[i]->accum(a, d).ok()) {
        ++refused;
        continue;
      }
      model[a] ^= d;
      ++acked;
    }
  };
  bool converged = false;
  bool states_ok = false;
  if (ok) {
    write_round(150, false);
    stop_child(&nodes[1], SIGKILL);  // mid-run: replication is in flight
    write_round(150, true);
    ok = spawn_node(self, dir + "/n1", nodes[1].port, {nodes[0].addr()},
                    &nodes[1]);
    if (ok) write_round(150, false);
  }
  if (ok) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    while (!converged && Clock::now() < deadline) {
      Digest d[3];
      bool all = true;
      for (int i = 0; i < 3 && all; ++i) {
        auto c = NodeClient::connect(nodes[i].addr(), {}, 2000);
        auto x = c.ok() ? (*c)->digest() : Result<Digest>(c.status());
        all = x.ok();
        if (all) d[i] = *x;
      }
      converged = all && d[0] == d[1] && d[1] == d[2];
      if (!converged) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    states_ok = converged;
    for (int i = 0; i < 3 && states_ok; ++i) {
      auto c = NodeClient::connect(nodes[i].addr(), {}, 2000);
      if (!c.ok()) {
        states_ok = false;
        break;
      }
      for (Addr a = 0; a < kAddrs && states_ok; ++a) {
        auto v = (*c)->read(a);
        const auto it = model.find(a);
        states_ok = v.ok() && *v == (it == model.end() ? 0 : it->second);
      }
    }
  }
  for (Child& c : nodes) stop_child(&c, SIGTERM);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  char buf[300];
  std::snprintf(buf, sizeof buf,
                "3 node processes on loopback, %llu acknowledged deltas "
                "(%llu refused while a node was down), node 1 SIGKILLed and "
                "restarted mid-run: digests %s, states %s XOR of "
                "acknowledged deltas",
                static_cast<unsigned long long>(acked),
                static_cast<unsigned long long>(refused),
                converged ? "equal" : "DIFFER", states_ok ? "==" : "!=");
  *detail = ok ? buf : "could not start the node processes";
  return ok && converged && states_ok;
}

}  // namespace atomik::cli
