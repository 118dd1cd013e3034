// SPDX-License-Identifier: Apache-2.0
// Context<W, G>: the reference's semantics and the group laws, for every
// word width and both groups, on seeded random inputs.
#include "atomik/context.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "test_seed.hpp"

namespace atomik {
namespace {

template <DeltaWord W>
W random_word(std::mt19937_64& g) {
  if constexpr (std::is_same_v<W, Word128>) {
    return Word128{g(), g()};
  } else {
    return static_cast<W>(g());
  }
}

template <typename P>
class ContextLawTest : public ::testing::Test {};

template <DeltaWord W, typename G>
struct Param {
  using Word = W;
  using Group = G;
};
using AllContexts = ::testing::Types<
    Param<std::uint8_t, XorGroup>, Param<std::uint16_t, XorGroup>,
    Param<std::uint32_t, XorGroup>, Param<std::uint64_t, XorGroup>,
    Param<Word128, XorGroup>, Param<std::uint8_t, AddGroup>,
    Param<std::uint32_t, AddGroup>, Param<std::uint64_t, AddGroup>,
    Param<Word128, AddGroup>>;
TYPED_TEST_SUITE(ContextLawTest, AllContexts);

constexpr int kTrials = 200;

TYPED_TEST(ContextLawTest, IdentityDeltaChangesNothing) {
  using W = typename TypeParam::Word;
  using G = typename TypeParam::Group;
  auto g = testing::rng(1);
  for (int t = 0; t < kTrials; ++t) {
    Context<W, G> c(random_word<W>(g));
    const W before = c.read();
    c.accum(G::template identity<W>());
    EXPECT_EQ(c.read(), before);
    EXPECT_TRUE(c.is_clean());
    EXPECT_EQ(c.delta_count(), 1U);
  }
}

TYPED_TEST(ContextLawTest, RollbackUndoesAccum) {
  using W = typename TypeParam::Word;
  using G = typename TypeParam::Group;
  auto g = testing::rng(2);
  for (int t = 0; t < kTrials; ++t) {
    Context<W, G> c(random_word<W>(g));
    const W before = c.read();
    const W d = random_word<W>(g);
    c.accum(d);
    c.rollback(d);
    EXPECT_EQ(c.read(), before);
    EXPECT_TRUE(c.is_clean());
  }
}

TYPED_TEST(ContextLawTest, OrderAndGroupingDoNotMatter) {
  using W = typename TypeParam::Word;
  using G = typename TypeParam::Group;
  auto g = testing::rng(3);
  for (int t = 0; t < kTrials; ++t) {
    const W init = random_word<W>(g);
    std::vector<W> deltas(static_cast<std::size_t>(g() % 40));
    for (W& d : deltas) d = random_word<W>(g);
    Context<W, G> forward(init);
    for (W d : deltas) forward.accum(d);
    std::vector<W> shuffled = deltas;
    std::shuffle(shuffled.begin(), shuffled.end(), g);
    Context<W, G> permuted(init);
    for (W d : shuffled) permuted.accum(d);
    // Associativity: split into two partial contexts, merge.
    Context<W, G> left(init);
    Context<W, G> right;
    const std::size_t cut = deltas.empty() ? 0 : g() % deltas.size();
    for (std::size_t i = 0; i < deltas.size(); ++i)
      (i < cut ? left : right).accum(deltas[i]);
    left.merge(right);
    Context<W, G> batched(init);
    batched.accum_batch(deltas);
    EXPECT_EQ(forward.read(), permuted.read());
    EXPECT_EQ(forward.read(), left.read());
    EXPECT_EQ(forward.read(), batched.read());
    EXPECT_EQ(forward.delta_count(), deltas.size());
    EXPECT_EQ(left.delta_count(), deltas.size());
    EXPECT_EQ(batched.delta_count(), deltas.size());
  }
}

TYPED_TEST(ContextLawTest, SwapReturnsStateAndStartsCleanEpoch) {
  using W = typename TypeParam::Word;
  using G = typename TypeParam::Group;
  auto g = testing::rng(4);
  for (int t = 0; t < kTrials; ++t) {
    Context<W, G> c(random_word<W>(g));
    c.accum(random_word<W>(g));
    const W state = c.read();
    EXPECT_EQ(c.swap(), state);
    EXPECT_EQ(c.reference(), state);
    EXPECT_EQ(c.read(), state);
    EXPECT_TRUE(c.is_clean());
    EXPECT_EQ(c.delta_count(), 0U);
    const W fresh = random_word<W>(g);
    c.accum(random_word<W>(g));
    const W state2 = c.read();
    EXPECT_EQ(c.swap(fresh), state2);
    EXPECT_EQ(c.read(), fresh);
  }
}

TYPED_TEST(ContextLawTest, MergeOfDiffRoundTrips) {
  // merge(a, inverse-of-a) returns to the start; epochs compose.
  using W = typename TypeParam::Word;
  using G = typename TypeParam::Group;
  auto g = testing::rng(5);
  for (int t = 0; t < kTrials; ++t) {
    Context<W, G> a(random_word<W>(g));
    a.accum(random_word<W>(g));
    Context<W, G> undo;
    undo.accum(G::inverse(a.accumulator()));
    const W ref = a.reference();
    a.merge(undo);
    EXPECT_EQ(a.read(), ref);
    EXPECT_TRUE(a.is_clean());
  }
}

TEST(ContextTest, ReferenceSemanticsKnownAnswers) {
  Context64 c;
  EXPECT_EQ(c.width(), 64U);
  c.load(0xCAFE);
  c.accum(0x00FF);
  EXPECT_EQ(c.read(), 0xCA01U);
  EXPECT_EQ(c.accumulator(), 0x00FFU);
  EXPECT_EQ(c.reference(), 0xCAFEU);
  EXPECT_FALSE(c.is_clean());
  c.accum(0x00FF);  // the same delta again removes it: XOR is self-inverse
  EXPECT_EQ(c.read(), 0xCAFEU);
  EXPECT_TRUE(c.is_clean());
  EXPECT_EQ(c.delta_count(), 2U);
  c.reset();
  EXPECT_EQ(c.read(), 0U);
  EXPECT_EQ(c.delta_count(), 0U);
}

TEST(ContextTest, WidthsAndWraparound) {
  EXPECT_EQ(Context8::width(), 8U);
  EXPECT_EQ(Context16::width(), 16U);
  EXPECT_EQ(Context32::width(), 32U);
  EXPECT_EQ(Context128::width(), 128U);
  Context<std::uint8_t, AddGroup> c8(250);
  c8.accum(10);
  EXPECT_EQ(c8.read(), 4U);  // 260 mod 256
  Context<Word128, AddGroup> c128(Word128{~0ULL, 0});
  c128.accum(Word128{1, 0});
  EXPECT_EQ(c128.read(), (Word128{0, 1}));  // carry into the high half
  c128.rollback(Word128{1, 0});
  EXPECT_EQ(c128.read(), (Word128{~0ULL, 0}));
}

TEST(ContextTest, AdditionCountsWhereXorCannot) {
  // The reference's P&L example: +1000 then +100 under XOR gives 908.
  Context64 x(0);
  x.accum(1000);
  x.accum(100);
  EXPECT_EQ(x.read(), 908U);
  Counter64 a(0);
  a.accum(1000);
  a.accum(100);
  EXPECT_EQ(a.read(), 1100U);
  a.rollback(100);
  EXPECT_EQ(a.read(), 1000U);
}

TEST(ContextTest, HexFormIsFixedWidth) {
  EXPECT_EQ(to_hex<std::uint8_t>(0xA), "0x0a");
  EXPECT_EQ(to_hex<std::uint32_t>(0xffffffff), "0xffffffff");
  EXPECT_EQ(to_hex<std::uint64_t>(0xCA01), "0x000000000000ca01");
  EXPECT_EQ(to_hex(Word128{1, 2}), "0x00000000000000020000000000000001");
}

TEST(ContextTest, AccumBatchHandlesEveryTailLength) {
  auto g = testing::rng(6);
  for (std::size_t n = 0; n < 70; ++n) {
    std::vector<std::uint64_t> d(n);
    for (auto& x : d) x = g();
    Context64 slow(7);
    for (auto x : d) slow.accum(x);
    Context64 fast(7);
    fast.accum_batch(d);
    EXPECT_EQ(fast.read(), slow.read()) << "n=" << n;
  }
}

}  // namespace
}  // namespace atomik
