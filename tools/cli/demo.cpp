// `atomik demo`: the five seed patterns end to end on embedded defaults,
// each checked against what it must show. Exit 1 if any check fails.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"
#include "atomik/context.hpp"
#include "atomik/shared_context.hpp"
#include "atomik/undo.hpp"
#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

struct DemoResult {
  bool ok;
  std::string detail;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

// Pattern 1: threads, then processes, accumulate into one context.
DemoResult pattern_fan_in() {
  constexpr unsigned kThreads = 4;
  constexpr std::uint64_t kEach = 2'000'000;
  ConcurrentContext<> ctx;
  ctx.load(0);
  std::vector<std::uint64_t> expect(kThreads);
  std::vector<std::thread> ts;
  ts.reserve(kThreads);
  const auto t0 = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < kThreads; ++i) {
    ts.emplace_back([&, i] {
      std::mt19937_64 g(i);
      std::uint64_t x = 0;
      for (std::uint64_t k = 0; k < kEach; ++k) {
        const std::uint64_t d = g();
        x ^= d;
        ctx.accum(d);
      }
      expect[i] = x;
    });
  }
  for (auto& t : ts) t.join();
  const double secs = seconds_since(t0);
  std::uint64_t want = 0;
  for (auto x : expect) want ^= x;
  const bool threads_ok =
      ctx.read() == want && ctx.delta_count() == kThreads * kEach;

  // Two forked processes through a shared-memory context.
  const std::string name = "/atomik-demo-" + std::to_string(::getpid());
  (void)SharedContext<std::uint64_t, AddGroup>::unlink(name);
  auto shm = SharedContext<std::uint64_t, AddGroup>::create(name, 0);
  bool procs_ok = shm.ok();
  constexpr std::uint64_t kProcEach = 1'000'000;
  if (procs_ok) {
    std::vector<pid_t> kids;
    for (int p = 0; p < 2; ++p) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        auto c = SharedContext<std::uint64_t, AddGroup>::open(name);
        if (!c.ok()) ::_exit(1);
        for (std::uint64_t k = 0; k < kProcEach; ++k) c->accum(1);
        ::_exit(0);
      }
      kids.push_back(pid);
    }
    for (pid_t pid : kids) {
      int st = 0;
      ::waitpid(pid, &st, 0);
      procs_ok = procs_ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    procs_ok = procs_ok && shm->read().value_or(0) == 2 * kProcEach;
  }
  (void)SharedContext<std::uint64_t, AddGroup>::unlink(name);
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%u threads x %llu random deltas, no lock: state == XOR of all "
                "deltas (%s), "
                "%.0f M deltas/s; 2 processes x %llu via shared memory: %s",
                kThreads, static_cast<unsigned long long>(kEach),
                threads_ok ? "yes" : "NO", kThreads * kEach / secs / 1e6,
                static_cast<unsigned long long>(kProcEach),
                procs_ok ? "none lost" : "LOST DELTAS");
  return {threads_ok && procs_ok, buf};
}

// Pattern 2: swap closes epochs while writers run; each delta in one epoch.
DemoResult pattern_epochs() {
  ConcurrentContext<std::uint64_t, AddGroup> ctx;
  constexpr std::uint64_t kEach = 1'000'000;
  std::atomic<int> running{2};
  std::vector<std::thread> ws;
  ws.reserve(2);
  for (int w = 0; w < 2; ++w) {
    ws.emplace_back([&] {
      for (std::uint64_t k = 0; k < kEach; ++k) ctx.accum(1);
      running.fetch_sub(1);
    });
  }
  std::uint64_t epochs = 0;
  std::uint64_t sum = 0;
  while (running.load() > 0) {
    sum += ctx.swap(0);  // new reference 0: each epoch's state is its deltas
    ++epochs;
  }
  for (auto& t : ws) t.join();
  sum += ctx.swap(0);
  ++epochs;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%llu epochs closed while 2 writers ran: %llu of %llu deltas, "
                "each in exactly one epoch",
                static_cast<unsigned long long>(epochs),
                static_cast<unsigned long long>(sum),
                static_cast<unsigned long long>(kEach) * 2);
  return {sum == 2 * kEach, buf};
}

// Pattern 4: undo by re-applying the delta, 8 bytes per level.
DemoResult pattern_undo() {
  const std::uint64_t document_state = 0xD0C5;
  Context64 ctx(document_state);
  UndoHistory<> history(1024);
  history.apply(ctx, 0x0001);
  history.apply(ctx, 0x0010);
  history.apply(ctx, 0x0100);
  history.undo(ctx);
  history.undo(ctx);
  const bool ok = ctx.read() == (document_state ^ 0x0001);
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "3 edits, 2 undone: state == document_state ^ 0x0001 (%s); %zu "
                "levels in %zu "
                "bytes",
                ok ? "yes" : "NO", history.max_levels(),
                history.memory_bytes());
  return {ok, buf};
}

int run_demo() {
  struct Pattern {
    const char* name;
    DemoResult (*run)();
  };
  const Pattern patterns[] = {
      {"1 accumulator fan-in", pattern_fan_in},
      {"2 epoch checkpointing", pattern_epochs},
      {"4 rollback chain", pattern_undo},
  };
  int failures = 0;
  for (const Pattern& p : patterns) {
    const DemoResult r = p.run();
    std::printf("[%s] pattern %s: %s\n", r.ok ? " ok " : "FAIL", p.name,
                r.detail.c_str());
    if (!r.ok) ++failures;
  }
  std::printf("%d passed, %d failed\n",
              static_cast<int>(std::size(patterns)) - failures, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app, int* exit_code) {
  CLI::App* demo =
      app.add_subcommand("demo", "Run the five seed patterns end to end");
  demo->callback([exit_code] { *exit_code = run_demo(); });
}

}  // namespace atomik::cli
