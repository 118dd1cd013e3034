// SPDX-License-Identifier: Apache-2.0
// Crash test: a child process changes a PersistentTable and reports each
// acknowledged change to the parent through a pipe *after* the call returned;
// the parent kills it with SIGKILL at random points (seeded) and reopens the
// table. Every acknowledged change must be there, at most the one change in
// flight may be there too, and the state must be exactly the state after
// those changes: nothing else wrong. Policies rotate: every record, group
// commit, none (a SIGKILL keeps the page cache, so kNone acks survive too).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "atomik/persistent_table.hpp"
#include "atomik/table.hpp"
#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

constexpr std::uint64_t kOrigin = 42;

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
std::uint32_t addr_of(std::uint64_t i) {
  return static_cast<std::uint32_t>(mix(i) % 16);
}
bool is_load(std::uint64_t i) { return i % 7 == 0; }
// Changes kBatch at a time go in one accum_batch (one DELTA_RUN frame): seqs
// i .. i + kBatch - 1 when i % 10 == 1 and none of them is a load.
constexpr std::uint64_t kBatch = 4;
bool starts_batch(std::uint64_t i) {
  if (i % 10 != 1) return false;
  for (std::uint64_t k = i; k < i + kBatch; ++k) {
    if (is_load(k)) return false;
  }
  return true;
}
// True if seq n falls strictly inside a batch (a batch must be all or
// nothing after recovery).
bool inside_batch(std::uint64_t n) {
  for (std::uint64_t start = n > kBatch ? n - kBatch + 2 : 1; start <= n;
       ++start) {
    if (starts_batch(start) && n <= start + kBatch - 2) return true;
  }
  return false;
}

PersistentOptions options(SyncPolicy p) {
  return {.sync = p,
          .group_records = 8,
          .group_interval_us = 200,
          .segment_bytes = 4096,
          .origin = kOrigin};
}

// The child: continue the deterministic sequence of changes from where the
// table stands, reporting each acknowledged seq, until killed.
[[noreturn]] void child(const std::string& dir, SyncPolicy p, int fd) {
  auto t = PersistentTable::open(dir, options(p));
  if (!t.ok()) {
    std::fprintf(stderr, "child: %s\n", t.status().to_string().c_str());
    ::_exit(3);
  }
  std::uint64_t n = 0;
  for (const auto& [o, s] : (*t)->version_vector())
    if (o == kOrigin) n = s;
  for (std::uint64_t i = n + 1; i < n + 100000; ++i) {
    Status s;
    if (starts_batch(i)) {
      std::vector<std::pair<std::uint32_t, std::uint64_t>> b;
      for (std::uint64_t k = i; k < i + kBatch; ++k) {
        b.emplace_back(addr_of(k), mix(k));
      }
      auto first = (*t)->accum_batch(b);
      s = first.status();
      if (s.ok() && *first != i) ::_exit(7);
      i += kBatch - 1;
    } else {
      s = is_load(i) ? (*t)->load(addr_of(i), mix(i ^ 0xABCD))
                     : (*t)->accum(addr_of(i), mix(i));
    }
    if (!s.ok()) ::_exit(4);
    if (::write(fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(5);
    if (i % 25 == 0 && !(*t)->swap().ok()) ::_exit(6);
  }
  ::_exit(0);
}

TEST(CrashTest, EveryAcknowledgedChangeSurvivesSigkill) {
  testing::TempDir tmp;
  const std::string dir = tmp.sub("table");
  auto g = testing::rng(77);
  auto model = DeltaTable<>::sparse();
  std::uint64_t model_n = 0;
  constexpr int kKills = 60;
  const SyncPolicy policies[] = {SyncPolicy::kEveryRecord, SyncPolicy::kGroup,
                                 SyncPolicy::kNone};
  int torn_tails = 0;
  for (int round = 0; round < kKills; ++round) {
    const SyncPolicy p = policies[round % 3];
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      child(dir, p, fds[1]);
    }
    ::close(fds[1]);
    // Wait for a random number of acknowledgements, spin a random while so
    // the kill lands anywhere in the next append, then kill.
    const std::uint64_t want = g() % 30;
    std::uint64_t acked = model_n;  // recovered (and sealed) last round
    std::uint64_t count = 0;
    bool eof = false;
    while (count < want) {
      std::uint64_t v = 0;
      const ssize_t r = ::read(fds[0], &v, sizeof v);
      if (r == 0) {
        eof = true;
        break;
      }
      ASSERT_EQ(r, static_cast<ssize_t>(sizeof v));
      acked = v;
      ++count;
    }
    volatile std::uint64_t spin = 0;
    for (std::uint64_t k = 0, n = g() % 200000; k < n; ++k) spin = spin + k;
    ::kill(pid, SIGKILL);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    ASSERT_FALSE(eof) << "child died early, status " << st;
    ASSERT_TRUE(WIFSIGNALED(st)) << "child exited " << WEXITSTATUS(st);
    // Acks the child wrote before it died are acknowledged too.
    for (;;) {
      std::uint64_t v = 0;
      const ssize_t r = ::read(fds[0], &v, sizeof v);
      if (r <= 0) break;
      acked = v;
    }
    ::close(fds[0]);

    auto t = PersistentTable::open(dir, options(p));
    ASSERT_TRUE(t.ok()) << "round " << round << ": " << t.status().to_string();
    if ((*t)->recovery_report().torn) ++torn_tails;
    std::uint64_t n = 0;
    for (const auto& [o, s] : (*t)->version_vector())
      if (o == kOrigin) n = s;
    ASSERT_GE(n, acked) << "round " << round << ": acknowledged change lost";
    ASSERT_LE(n, acked + kBatch) << "round " << round;
    ASSERT_FALSE(inside_batch(n))
        << "round " << round << ": seq " << n << " splits a batch";
    ASSERT_GE(n, model_n) << "round " << round << ": state went backwards";
    for (; model_n < n; ++model_n) {
      const std::uint64_t i = model_n + 1;
      if (is_load(i)) {
        (void)model.load(addr_of(i), mix(i ^ 0xABCD));
      } else {
        (void)model.accum(addr_of(i), mix(i));
      }
    }
    ASSERT_EQ(*(*t)->snapshot(), model.snapshot()) << "round " << round;
  }
  std::printf("%d kills, %llu changes, %d torn tails truncated\n", kKills,
              static_cast<unsigned long long>(model_n), torn_tails);
}

}  // namespace
}  // namespace atomik
