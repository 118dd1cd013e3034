// SPDX-License-Identifier: Apache-2.0
#include "atomik/undo.hpp"

#include <gtest/gtest.h>

#include "atomik/concurrent_context.hpp"
#include "atomik/context.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

TEST(UndoHistoryTest, SeedPatternFourUndoesTheLastTwoEdits) {
  const std::uint64_t document_state = 0xD0C0;
  Context64 ctx;
  ctx.load(document_state);
  UndoHistory<> history(16);
  history.apply(ctx, 0x0001);
  history.apply(ctx, 0x0010);
  history.apply(ctx, 0x0100);
  EXPECT_EQ(history.undo(ctx), 0x0100U);
  EXPECT_EQ(history.undo(ctx), 0x0010U);
  EXPECT_EQ(ctx.read(), document_state ^ 0x0001);
}

TEST(UndoHistoryTest, UndoOnEmptyIsANoOp) {
  Context64 ctx(5);
  UndoHistory<> history(4);
  EXPECT_EQ(history.undo(ctx), std::nullopt);
  EXPECT_EQ(history.redo(ctx), std::nullopt);
  EXPECT_EQ(ctx.read(), 5U);
  EXPECT_EQ(ctx.delta_count(), 0U);
}

TEST(UndoHistoryTest, RedoReappliesAndNewEditDropsRedoBranch) {
  Context64 ctx(0);
  UndoHistory<> history(8);
  history.apply(ctx, 1);
  history.apply(ctx, 2);
  history.undo(ctx);
  EXPECT_EQ(history.redo_depth(), 1U);
  EXPECT_EQ(history.redo(ctx), 2U);
  EXPECT_EQ(ctx.read(), 3U);
  history.undo(ctx);
  history.apply(ctx, 4);  // new branch
  EXPECT_EQ(history.redo_depth(), 0U);
  EXPECT_EQ(history.redo(ctx), std::nullopt);
  EXPECT_EQ(ctx.read(), 5U);
}

TEST(UndoHistoryTest, FullRingDropsOldestAndCountsIt) {
  Context64 ctx(0);
  UndoHistory<> history(3);
  for (std::uint64_t d : {1ULL, 2ULL, 4ULL, 8ULL}) history.apply(ctx, d);
  EXPECT_EQ(history.dropped(), 1U);
  EXPECT_EQ(history.undo_depth(), 3U);
  while (history.undo(ctx)) {
  }
  EXPECT_EQ(ctx.read(), 1U);  // the dropped level cannot be undone
}

TEST(UndoHistoryTest, EightBytesPerLevel) {
  UndoHistory<> history(1000);
  EXPECT_EQ(history.memory_bytes(), 8000U);
  Context64 ctx;
  for (int i = 0; i < 5000; ++i)
    history.apply(ctx, static_cast<std::uint64_t>(i));
  EXPECT_EQ(history.memory_bytes(), 8000U);  // never grows
  UndoHistory<std::uint32_t> narrow(1000);
  EXPECT_EQ(narrow.memory_bytes(), 4000U);
}

TEST(UndoHistoryTest, AdditiveUndoNegates) {
  Counter64 c(100);
  UndoHistory<std::uint64_t, AddGroup> history(4);
  history.apply(c, 5);
  history.apply(c, 7);
  history.undo(c);
  EXPECT_EQ(c.read(), 105U);
}

TEST(UndoHistoryTest, RestoreRoundTripsAgainstAModel) {
  auto g = testing::rng(21);
  for (int trial = 0; trial < 50; ++trial) {
    const std::size_t levels = 1 + g() % 10;
    Context64 a(0);
    UndoHistory<> h(levels);
    for (int op = 0; op < 40; ++op) {
      const auto r = g() % 3;
      if (r == 0) {
        h.undo(a);
      } else if (r == 1) {
        h.redo(a);
      } else {
        h.apply(a, g());
      }
    }
    auto restored =
        UndoHistory<>::restore(levels, h.undo_deltas(), h.redo_deltas());
    ASSERT_TRUE(restored.ok());
    Context64 b(a.read());
    Context64 a2(a.read());
    // Both histories must undo and redo the same deltas from here on.
    for (int op = 0; op < 30; ++op) {
      const bool undo = (g() % 2) == 0;
      auto x = undo ? h.undo(a2) : h.redo(a2);
      auto y = undo ? restored->undo(b) : restored->redo(b);
      ASSERT_EQ(x, y);
      ASSERT_EQ(a2.read(), b.read());
    }
  }
  auto too_many = UndoHistory<>::restore(1, {1, 2}, {});
  EXPECT_EQ(too_many.status().code(), Code::kInvalidArgument);
}

TEST(UndoHistoryTest, WorksOnAConcurrentContext) {
  ConcurrentContext<> ctx(0);
  UndoHistory<> h(4);
  h.apply(ctx, 0xF);
  h.undo(ctx);
  EXPECT_EQ(ctx.read(), 0U);
}

}  // namespace
}  // namespace atomik
