// SPDX-License-Identifier: Apache-2.0
// ConcurrentContext: no delta lost, none counted twice, each in exactly one
// epoch, while writers run; read() and swap() return only states that
// existed; thread exit and signal handlers. Run under TSan by .ci/run
// (label concurrency).
#include "atomik/concurrent_context.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <thread>
#include <vector>

#include "test_seed.hpp"

namespace atomik {
namespace {

#if defined(ATOMIK_SANITIZED)
constexpr std::uint64_t kPerWriter = 20000;
#else
constexpr std::uint64_t kPerWriter = 400000;
#endif

TEST(ConcurrentContextTest, SingleThreadMatchesContext) {
  ConcurrentContext<> c(0xCAFE);
  c.accum(0x00FF);
  EXPECT_EQ(c.read(), 0xCA01U);
  EXPECT_EQ(c.accumulator(), 0x00FFU);
  EXPECT_EQ(c.delta_count(), 1U);
  EXPECT_EQ(c.swap(), 0xCA01U);
  EXPECT_EQ(c.reference(), 0xCA01U);
  EXPECT_TRUE(c.is_clean());
  EXPECT_EQ(c.delta_count(), 0U);
  c.accum(1);
  c.rollback(1);
  EXPECT_EQ(c.read(), 0xCA01U);
  c.load(5);
  EXPECT_EQ(c.read(), 5U);
  EXPECT_EQ(c.delta_count(), 0U);
  EXPECT_EQ(c.swap(9), 5U);
  EXPECT_EQ(c.read(), 9U);
}

// Writers add 1 into their own 21-bit field while a swapper closes epochs
// with new_reference = 0, so each epoch's value is exactly its deltas. The
// epochs must sum to exactly kPerWriter per writer: a lost delta makes it
// smaller, a delta counted in two epochs makes it larger.
TEST(ConcurrentContextTest, EveryDeltaLandsInExactlyOneEpoch) {
  constexpr int kWriters = 3;
  ConcurrentContext<std::uint64_t, AddGroup> ctx(0);
  std::atomic<int> done{0};
  std::vector<std::uint64_t> epochs;
  std::thread swapper([&] {
    while (done.load() < kWriters) epochs.push_back(ctx.swap(0));
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::uint64_t one = std::uint64_t{1} << (21 * w);
      if (w == 0) {  // one writer through an explicit Writer handle
        auto writer = ctx.writer();
        ASSERT_TRUE(writer.ok());
        for (std::uint64_t i = 0; i < kPerWriter; ++i) writer->accum(one);
      } else {
        for (std::uint64_t i = 0; i < kPerWriter; ++i) ctx.accum(one);
      }
      done.fetch_add(1);
    });
  }
  for (auto& t : writers) t.join();
  swapper.join();
  epochs.push_back(ctx.swap(0));
  std::uint64_t per_writer[kWriters] = {};
  for (std::uint64_t e : epochs) {
    for (int w = 0; w < kWriters; ++w)
      per_writer[w] += (e >> (21 * w)) & ((1U << 21) - 1);
  }
  for (int w = 0; w < kWriters; ++w)
    EXPECT_EQ(per_writer[w], kPerWriter) << "writer " << w;
}

TEST(ConcurrentContextTest, XorOfAllEpochsIsXorOfAllDeltas) {
  constexpr int kWriters = 4;
  ConcurrentContext<> ctx(0);
  std::atomic<int> done{0};
  std::uint64_t epochs_xor = 0;
  std::thread swapper([&] {
    while (done.load() < kWriters) epochs_xor ^= ctx.swap(0);
  });
  std::vector<std::uint64_t> writer_xor(kWriters, 0);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto g = testing::rng(100 + static_cast<std::uint64_t>(w));
      std::uint64_t x = 0;
      for (std::uint64_t i = 0; i < kPerWriter / 2; ++i) {
        const std::uint64_t d = g();
        x ^= d;
        ctx.accum(d);
      }
      writer_xor[static_cast<std::size_t>(w)] = x;
      done.fetch_add(1);
    });
  }
  for (auto& t : writers) t.join();
  swapper.join();
  epochs_xor ^= ctx.swap(0);
  std::uint64_t all = 0;
  for (auto x : writer_xor) all ^= x;
  EXPECT_EQ(epochs_xor, all);
}

TEST(ConcurrentContextTest, WriterClaimFailsCleanlyWhenCellsRunOut) {
  ConcurrentContext<> ctx(0, 2);
  auto a = ctx.writer();
  auto b = ctx.writer();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  auto c = ctx.writer();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kResourceExhausted);
  EXPECT_NE(c.status().message().find("all 2 cells are claimed"),
            std::string::npos);
  a->accum(1);
  { auto moved = std::move(*a); }  // destroying the Writer returns its cell
  auto d = ctx.writer();
  ASSERT_TRUE(d.ok());
  d->accum(2);
  b->accum(4);
  EXPECT_EQ(ctx.read(), 7U);  // the returned cell kept its deltas
}

TEST(ConcurrentContextTest, ThreadsBeyondMaxWritersShareAFallbackCellExactly) {
  ConcurrentContext<std::uint64_t, AddGroup> ctx(0, 1);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) ctx.accum(1);
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ctx.read(), 40000U);
  EXPECT_EQ(ctx.delta_count(), 40000U);
}

TEST(ConcurrentContextTest, ExitingThreadReturnsItsCell) {
  ConcurrentContext<> ctx(0, 1);
  std::thread([&] { ctx.accum(0xF0); }).join();
  auto w = ctx.writer();  // the only cell is free again
  ASSERT_TRUE(w.ok());
  w->accum(0x0F);
  EXPECT_EQ(ctx.read(), 0xFFU);
}

TEST(ConcurrentContextTest, ThreadOutlivingContextIsSafe) {
  std::thread t;
  std::atomic<bool> used{false};
  std::atomic<bool> destroyed{false};
  {
    ConcurrentContext<> ctx(0);
    t = std::thread([&] {
      ctx.accum(1);
      used = true;
      while (!destroyed.load()) std::this_thread::yield();
      // Exiting must not touch the destroyed context's cells.
    });
    while (!used.load()) std::this_thread::yield();
    EXPECT_EQ(ctx.read(), 1U);
  }
  destroyed = true;
  t.join();
}

TEST(ConcurrentContextTest, SeedPatternOneFourThreads) {
  ConcurrentContext<std::uint32_t> ctx;
  ctx.load(0);
  std::vector<std::thread> ts;
  for (unsigned i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] { ctx.accum(0xFFU << (i * 8)); });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ctx.read(), 0xFFFFFFFFU);
}

// A thread_local whose destructor accums into a context. Constructed before
// the thread's first accum, so it is destroyed after the thread's cell
// registrations are.
struct AccumAtExit {
  ConcurrentContext<std::uint64_t, AddGroup>* ctx = nullptr;
  std::uint64_t n = 0;
  std::atomic<bool>* started = nullptr;
  ~AccumAtExit() {
    if (started != nullptr) started->store(true);
    for (std::uint64_t i = 0; i < n; ++i) ctx->accum(1);
  }
};

// The thread's registrations are gone when the destructor runs: the accum
// must neither read them (heap-use-after-free under ASan) nor write a cell
// the thread has returned. Two contexts make the destructor take the slow
// path (its cache points at the other context).
TEST(ConcurrentContextTest, AccumFromThreadLocalDestructorIsCounted) {
  ConcurrentContext<std::uint64_t, AddGroup> a(0, 1);
  ConcurrentContext<std::uint64_t, AddGroup> b(0, 1);
  std::thread([&] {
    thread_local AccumAtExit at_exit;
    at_exit.ctx = &a;
    at_exit.n = 3;
    a.accum(1);  // registers a, then b: b is the cached context at exit
    b.accum(1);
  }).join();
  EXPECT_EQ(a.read(), 4U);
  EXPECT_EQ(a.delta_count(), 4U);
  EXPECT_EQ(b.read(), 1U);
  auto w = a.writer();  // the thread returned a's only cell
  EXPECT_TRUE(w.ok());
}

// The destructor keeps accumulating after its thread returned its cell,
// while another thread claims that cell and writes to it: the two must not
// share it (deltas would be lost).
TEST(ConcurrentContextTest, AccumAfterThreadExitNeverSharesAReturnedCell) {
#if defined(ATOMIK_SANITIZED)
  constexpr std::uint64_t kEach = 100000;
#else
  constexpr std::uint64_t kEach = 2000000;
#endif
  ConcurrentContext<std::uint64_t, AddGroup> ctx(0, 1);
  std::atomic<bool> started{false};
  std::thread t([&] {
    thread_local AccumAtExit at_exit;
    at_exit.ctx = &ctx;
    at_exit.n = kEach;
    at_exit.started = &started;
    ctx.accum(1);  // the cached fast path points at cell 0 at exit
  });
  while (!started.load()) std::this_thread::yield();
  auto w = ctx.writer();  // cell 0 is free once the thread returned it
  ASSERT_TRUE(w.ok());
  for (std::uint64_t i = 0; i < kEach; ++i) w->accum(1);
  t.join();
  EXPECT_EQ(ctx.read(), 2 * kEach + 1);
  EXPECT_EQ(ctx.delta_count(), 2 * kEach + 1);
}

// After writers stop, delta_count() equals the number of deltas in the
// epoch, even though swaps ran while they wrote (each delta is +1, so the
// epoch's value is its count too).
TEST(ConcurrentContextTest, DeltaCountIsExactOnceWritersStop) {
  constexpr int kWriters = 2;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    ConcurrentContext<std::uint64_t, AddGroup> ctx(0);
    std::atomic<int> done{0};
    std::uint64_t swapped = 0;
    std::thread swapper([&] {
      while (done.load() < kWriters) swapped += ctx.swap(0);
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&] {
        for (std::uint64_t i = 0; i < kPerWriter / 4; ++i) ctx.accum(1);
        done.fetch_add(1);
      });
    }
    for (auto& t : writers) t.join();
    swapper.join();
    const std::uint64_t value = ctx.read();
    ASSERT_EQ(ctx.delta_count(), value) << "round " << round;
    ASSERT_EQ(swapped + value, kWriters * (kPerWriter / 4))
        << "round " << round;
  }
}

// Blocks (futex, no spinning) until `turn` holds `want`, so the token
// passes quickly even when the swapper and reader keep both CPUs busy.
void wait_for_turn(std::atomic<std::uint64_t>& turn, std::uint64_t want) {
  for (std::uint64_t t = turn.load(std::memory_order_acquire); t != want;
       t = turn.load(std::memory_order_acquire)) {
    turn.wait(t, std::memory_order_acquire);
  }
}

// Two writers pass a token: one adds 1 when it holds it, the other adds -1
// and passes it back, so the true state is always 0 or 1. A swapper and a
// reader run meanwhile; a cut that is not a single instant shows a state
// that never existed (2, or -1 as 2^64-1). Swaps keep the state as the
// reference, so the last swap must also return the final state.
TEST(ConcurrentContextTest, TokenPassingShowsOnlyStatesThatExisted) {
#if defined(ATOMIK_SANITIZED)
  constexpr std::uint64_t kPasses = 10000;
#else
  constexpr std::uint64_t kPasses = 100000;
#endif
  auto g = testing::rng(41);
  const std::uint64_t passes = kPasses / 2 + g() % (kPasses / 2);
  // The adder's cell is the first and the subtracter's the last of 4096:
  // a cut that reads cells one by one is then stretched over the whole
  // scan, and a handoff falls inside it often.
  constexpr std::size_t kCells = 4096;
  ConcurrentContext<std::uint64_t, AddGroup> ctx(0, kCells);
  auto adder_cell = ctx.writer();
  ASSERT_TRUE(adder_cell.ok());
  std::vector<ConcurrentContext<std::uint64_t, AddGroup>::Writer> idle;
  for (std::size_t i = 0; i + 2 < kCells; ++i) idle.push_back(*ctx.writer());
  std::atomic<std::uint64_t> turn{0};  // even: the adder's turn
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> bad_swaps{0};
  std::atomic<std::uint64_t> bad_reads{0};
  std::atomic<std::uint64_t> swaps{0};
  std::atomic<std::uint64_t> reads{0};
  std::thread adder([&] {
    auto& w = adder_cell;  // one writer through a Writer handle
    for (std::uint64_t i = 0; i < passes; ++i) {
      wait_for_turn(turn, 2 * i);
      w->accum(1);
      turn.store(2 * i + 1, std::memory_order_release);
      turn.notify_all();
    }
  });
  std::thread subtracter([&] {
    for (std::uint64_t i = 0; i < passes; ++i) {
      wait_for_turn(turn, 2 * i + 1);
      ctx.accum(~std::uint64_t{0});  // -1
      turn.store(2 * i + 2, std::memory_order_release);
      turn.notify_all();
    }
  });
  // The swapper and the reader make up to 8 closing calls per token
  // position, then sleep until the token moves, so the writers get CPU even
  // on a loaded machine while every handoff still races with closing calls.
  auto observer = [&](auto close, std::atomic<std::uint64_t>& bad,
                      std::atomic<std::uint64_t>& calls) {
    while (!done.load()) {
      const std::uint64_t t = turn.load(std::memory_order_acquire);
      for (int k = 0; k < 8 && turn.load(std::memory_order_acquire) == t; ++k) {
        if (close() > 1) bad.fetch_add(1);
        calls.fetch_add(1);
      }
      turn.wait(t, std::memory_order_acquire);
    }
  };
  std::thread swapper(
      [&] { observer([&] { return ctx.swap(); }, bad_swaps, swaps); });
  std::thread reader(
      [&] { observer([&] { return ctx.read(); }, bad_reads, reads); });
  adder.join();
  subtracter.join();
  done.store(true);
  turn.fetch_add(1);  // the writers are gone: wake the observers
  turn.notify_all();
  swapper.join();
  reader.join();
  std::printf("passes %llu, swaps %llu, reads %llu\n",
              static_cast<unsigned long long>(passes),
              static_cast<unsigned long long>(swaps.load()),
              static_cast<unsigned long long>(reads.load()));
  EXPECT_EQ(bad_swaps.load(), 0U);
  EXPECT_EQ(bad_reads.load(), 0U);
  EXPECT_EQ(ctx.swap(), 0U);
  EXPECT_EQ(ctx.delta_count(), 0U);
}

ConcurrentContext<std::uint64_t, AddGroup>* g_signal_ctx = nullptr;
std::atomic<std::uint64_t> g_signals_handled{0};

void accum_from_handler(int /*sig*/) {
  g_signal_ctx->accum(std::uint64_t{1} << 32);
  g_signals_handled.fetch_add(1);
}

// A signal handler that accums on the thread it interrupts, possibly in
// the middle of that thread's own accum: neither delta may be lost.
TEST(ConcurrentContextTest, AccumFromASignalHandlerLosesNothing) {
  constexpr std::uint64_t kSignals = 300;
  ConcurrentContext<std::uint64_t, AddGroup> ctx(0);
  g_signal_ctx = &ctx;
  g_signals_handled = 0;
  struct sigaction sa {};
  sa.sa_handler = accum_from_handler;
  sigemptyset(&sa.sa_mask);
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old), 0);
  std::atomic<bool> ready{false};
  std::uint64_t own = 0;
  std::thread writer([&] {
    ctx.accum(1);  // register before the first signal can arrive
    own = 1;
    ready.store(true);
    while (g_signals_handled.load() < kSignals) {
      ctx.accum(1);
      ++own;
    }
  });
  while (!ready.load()) std::this_thread::yield();
  for (std::uint64_t i = 0; i < kSignals; ++i) {
    while (g_signals_handled.load() < i) std::this_thread::yield();
    ::pthread_kill(writer.native_handle(), SIGUSR1);
  }
  writer.join();
  ::sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(ctx.read(), (kSignals << 32) + own);
}

}  // namespace
}  // namespace atomik
