// ConcurrentContext: no delta lost, none counted twice, each in exactly one
// epoch, while writers run. Run under TSan by .ci/run (label concurrency).
#include "atomik/concurrent_context.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace atomik
