// SPDX-License-Identifier: Apache-2.0
// Spawning `atomik node` child processes for tests (tests only).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace atomik::testing {

// A spawned CLI that announced "listening on HOST:PORT".
struct SpawnedCli {
  pid_t pid = -1;       // -1: it did not start or did not announce in time
  std::string address;  // HOST:PORT from the announcement
  std::string text;     // stdout read so far (whole lines up to `until`)
};

// Runs `args` (args[0] the executable) with stdout on a pipe and stderr
// appended to `log`, and waits up to 20 s for its first stdout line. Once it
// announced "listening on HOST:PORT" (and, when `until` is not empty, a
// whole line holding `until`, e.g. "metrics on "), returns its pid (still
// running; the caller kills and reaps it) and address. Otherwise (no start, no
// announcement in time) the child is killed and reaped and pid is -1.
inline SpawnedCli spawn_listening(std::vector<std::string> args,
                                  const std::string& log,
                                  const std::string& until = "") {
  SpawnedCli out;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return out;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return out;
  }
  std::string text;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto have_all = [&] {
    if (text.find('\n') == std::string::npos) return false;
    if (until.empty()) return true;
    const auto at = text.find(until);
    return at != std::string::npos && text.find('\n', at) != std::string::npos;
  };
  while (!have_all() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  constexpr const char* kTag = "listening on ";
  const auto at = text.find(kTag);
  if (at == std::string::npos) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return out;
  }
  out.pid = pid;
  out.text = text;
  out.address = text.substr(at + std::string(kTag).size());
  out.address = out.address.substr(0, out.address.find('\n'));
  return out;
}

#ifdef ATOMIK_CLI_PATH
// One `atomik node ARGS...` child process with the arguments as given
// (at construction, or to start()); stderr goes to `log`. Killed with
// SIGKILL and reaped when destroyed.
class CliNode {
 public:
  CliNode() = default;
  explicit CliNode(std::vector<std::string> args) : args_(std::move(args)) {}
  ~CliNode() { stop(SIGKILL); }
  CliNode(const CliNode&) = delete;
  CliNode& operator=(const CliNode&) = delete;

  // Starts it and reads "listening on HOST:PORT" (spawn_listening); false if
  // it did not start or announce.
  bool start(const std::string& log) { return start(args_, log); }
  bool start(const std::vector<std::string>& args, const std::string& log) {
    std::vector<std::string> argv = {ATOMIK_CLI_PATH, "node"};
    argv.insert(argv.end(), args.begin(), args.end());
    const SpawnedCli c = spawn_listening(argv, log);
    if (c.pid <= 0) return false;
    pid_ = c.pid;
    address_ = c.address;
    return true;
  }
  // Sends `sig` and reaps it; its exit code (-1 if signalled or not running).
  int stop(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  const std::string& address() const { return address_; }

 private:
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  std::string address_;
};

// One `atomik node` child process on loopback: `atomik node --data DATA
// --listen 127.0.0.1:PORT --sync-ms 100` plus a --peer per peer and the
// extra arguments given to start(); stderr goes to `log`. Killed with
// SIGKILL and reaped when destroyed.
class NodeProcess {
 public:
  NodeProcess(std::string data, std::string log,
              std::vector<std::string> peers = {})
      : data_(std::move(data)),
        log_(std::move(log)),
        peers_(std::move(peers)) {}
  ~NodeProcess() { kill(SIGKILL); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // Starts it on `port` (0: any) and reads "listening on HOST:PORT"; false
  // if it did not start or announce (spawn_listening).
  bool start(std::uint16_t port = 0,
             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {
        ATOMIK_CLI_PATH, "node",     "--data",
        data_,           "--listen", "127.0.0.1:" + std::to_string(port),
        "--sync-ms",     "100"};
    for (const auto& p : peers_) {
      args.push_back("--peer");
      args.push_back(p);
    }
    args.insert(args.end(), extra.begin(), extra.end());
    const SpawnedCli c = spawn_listening(args, log_);
    if (c.pid <= 0) return false;
    pid_ = c.pid;
    port_ = static_cast<std::uint16_t>(
        std::stoul(c.address.substr(c.address.rfind(':') + 1)));
    return true;
  }
  // Sends `sig` and reaps the process; nothing if it is not running.
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Everything it wrote to stderr so far.
  std::string log_text() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in),
            std::istreambuf_iterator<char>()};
  }

 private:
  std::string data_, log_;
  std::vector<std::string> peers_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Runs the CLI with `args` (shell words); returns (exit code or -1 if it
// did not exit normally, stdout + stderr).
inline std::pair<int, std::string> run_cli(const std::string& args) {
  std::string out;
  FILE* f = ::popen(
      (std::string(ATOMIK_CLI_PATH) + " " + args + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, out};
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  const int st = ::pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
#endif

}  // namespace atomik::testing
