// SPDX-License-Identifier: Apache-2.0
// `atomik demo`: the five seed patterns end to end on embedded defaults,
// each checked against what it must show. Exit 1 if any check fails.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"
#include "atomik/context.hpp"
#include "atomik/fingerprint.hpp"
#include "atomik/shared_context.hpp"
#include "atomik/stream.hpp"
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

// Pattern 3: a gate fed sensor frames with repeats skips every
// unchanged frame and catches every change, including swapped readings and
// the same bit flipped in two readings, which the reference's XOR-fold misses.
DemoResult pattern_fingerprint() {
  std::vector<std::uint64_t> frame(512);  // a 4 KiB frame
  std::mt19937_64 g(3);
  for (auto& r : frame) r = g() % 1000;
  FingerprintGate gate;
  FingerprintOptions ref_opts;
  ref_opts.mode = FingerprintMode::kLegacyXorFold;
  Result<FingerprintGate> ref = FingerprintGate::create(ref_opts);
  if (!ref.ok()) return {false, ref.status().to_string()};
  const auto bytes = [&] { return std::as_bytes(std::span(frame)); };
  (void)gate.check(bytes());
  (void)ref->check(bytes());
  std::uint64_t repeats = 0, acted_on_repeat = 0;
  std::uint64_t changes = 0, caught = 0, ref_caught = 0;
  for (int step = 0; step < 1000; ++step) {
    const std::uint64_t dice = g() % 4;
    const std::size_t i = g() % frame.size();
    const std::size_t j = (i + 1 + g() % (frame.size() - 1)) % frame.size();
    if (dice == 0 || dice == 1) {
      ++repeats;
      acted_on_repeat += gate.check(bytes()) ? 1u : 0u;
      (void)ref->check(bytes());
      continue;
    }
    if (dice == 2) {  // swap two different readings
      std::size_t k = j;
      while (frame[k] == frame[i]) k = (k + 1) % frame.size();
      std::swap(frame[i], frame[k]);
    } else {  // the same bit flipped in two readings
      const std::uint64_t bit = std::uint64_t{1} << (g() % 64);
      frame[i] ^= bit;
      frame[j] ^= bit;
    }
    ++changes;
    caught += gate.check(bytes()) ? 1u : 0u;
    ref_caught += ref->check(bytes()) ? 1u : 0u;
  }
  const bool ok = acted_on_repeat == 0 && caught == changes && ref_caught == 0;
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%llu unchanged frames skipped (%llu acted on), %llu/%llu "
                "swapped-reading and paired-flip changes caught; the "
                "reference's XOR-fold caught %llu/%llu",
                static_cast<unsigned long long>(repeats - acted_on_repeat),
                static_cast<unsigned long long>(acted_on_repeat),
                static_cast<unsigned long long>(caught),
                static_cast<unsigned long long>(changes),
                static_cast<unsigned long long>(ref_caught),
                static_cast<unsigned long long>(changes));
  return {ok, buf};
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

// Pattern 5: replicas exchange deltas over a network that drops, duplicates
// and reorders; exactly-once apply plus catch-up converges (equal digests,
// every state == XOR of all deltas); the reference's apply-everything does
// not.
DemoResult pattern_convergence() {
  // The seed snippet: A accumulates, B applies the 16-byte message.
  DeltaStream stream_a;
  DeltaStream stream_b;
  (void)stream_a.load(0, 0xCAFE);
  (void)stream_b.load(0, 0xCAFE);
  (void)stream_a.accum(0, 0x00FF);
  const auto wire = DeltaMessage{0, 0x00FF, 1}.to_bytes();
  (void)stream_b.apply(stream_a.origin(), *DeltaMessage::from_bytes(wire));
  (void)stream_b.apply(stream_a.origin(), *DeltaMessage::from_bytes(wire));
  const bool seed_ok = *stream_a.read(0) == *stream_b.read(0);

  constexpr std::size_t kReplicas = 4;
  constexpr Addr kAddrs = 256;
  std::mt19937_64 g(5);
  std::vector<StampedDelta> written;
  std::vector<std::pair<std::size_t, StampedDelta>> net;
  std::vector<Seq> next(kReplicas, 1);
  for (int k = 0; k < 40000; ++k) {
    const std::size_t w = g() % kReplicas;
    const StampedDelta d{w + 1, next[w]++, static_cast<Addr>(g() % kAddrs),
                         g()};
    written.push_back(d);
    for (std::size_t to = 0; to < kReplicas; ++to) {
      if (to == w || g() % 10 == 0) continue;  // 10% dropped
      net.emplace_back(to, d);
      if (g() % 10 == 0) net.emplace_back(to, d);  // 10% duplicated
    }
  }
  std::shuffle(net.begin(), net.end(), g);  // reordered
  std::vector<std::uint64_t> model(kAddrs, 0);
  for (const auto& d : written) model[d.addr] ^= d.delta;
  std::size_t ok_replicas[2] = {0, 0};
  bool digests_equal[2] = {true, true};
  std::vector<std::pair<std::size_t, StampedDelta>> repairs;
  for (int raw = 0; raw < 2; ++raw) {
    std::vector<DeltaStream> rs;
    for (std::size_t i = 0; i < kReplicas; ++i) {
      StreamOptions o;
      o.origin = i + 1;
      o.dense_contexts = kAddrs;
      o.window = 1 << 16;
      o.mode = raw != 0 ? ApplyMode::kRawCompat : ApplyMode::kExactlyOnce;
      rs.push_back(std::move(*DeltaStream::create(o)));
    }
    for (const auto& d : written) (void)rs[d.origin - 1].accum(d.addr, d.delta);
    for (const auto& [to, d] : net) (void)rs[to].apply(d);
    if (raw == 0) {
      for (std::size_t i = 0; i < kReplicas; ++i) {
        for (std::size_t j = 0; j < kReplicas; ++j) {
          if (i == j) continue;
          for (const auto& d : rs[j].missing(rs[i].dedup_state()).deltas) {
            (void)rs[i].apply(d);
            repairs.emplace_back(i, d);
          }
        }
      }
    } else {
      for (const auto& [to, d] : repairs) (void)rs[to].apply(d);
    }
    for (std::size_t i = 0; i < kReplicas; ++i) {
      bool same = true;
      for (Addr a = 0; a < kAddrs; ++a) {
        same = same && *rs[i].read(a) == model[a];
      }
      ok_replicas[raw] += same ? 1 : 0;
      digests_equal[raw] =
          digests_equal[raw] && rs[i].digest() == rs[0].digest();
    }
  }
  // The same across three node processes on loopback.
  std::string net_detail;
  const bool net_ok = run_node_cluster_demo(&net_detail);
  const bool ok =
      seed_ok && ok_replicas[0] == kReplicas && digests_equal[0] && net_ok;
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "seed snippet converged (%s, duplicate ignored); %zu replicas, "
                "%zu deltas over a network dropping 10%%, duplicating 10%%, "
                "reordering: exactly-once + catch-up (%zu resent): %zu/%zu "
                "replicas == XOR of all deltas, digests %s; reference "
                "apply-everything: %zu/%zu, digests %s",
                seed_ok ? "yes" : "NO", kReplicas, written.size(),
                repairs.size(), ok_replicas[0], kReplicas,
                digests_equal[0] ? "equal" : "DIFFER", ok_replicas[1],
                kReplicas, digests_equal[1] ? "equal" : "differ (diverged)");
  return {ok, std::string(buf) + "; " + net_detail};
}

int run_demo() {
  struct Pattern {
    const char* name;
    DemoResult (*run)();
  };
  const Pattern patterns[] = {
      {"1 accumulator fan-in", pattern_fan_in},
      {"2 epoch checkpointing", pattern_epochs},
      {"3 fingerprint gate", pattern_fingerprint},
      {"4 rollback chain", pattern_undo},
      {"5 multi-stream convergence", pattern_convergence},
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
