// SPDX-License-Identifier: Apache-2.0
#include "atomik/table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

TEST(DeltaTableTest, DenseReferenceSemantics) {
  auto t = DeltaTable<>::dense(256);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->num_contexts(), 256U);
  EXPECT_TRUE(t->is_dense());
  ASSERT_TRUE(t->load(0, 0xCAFE).ok());
  ASSERT_TRUE(t->accum(0, 0x00FF).ok());
  EXPECT_EQ(*t->read(0), 0xCA01U);
  EXPECT_EQ(*t->swap(0), 0xCA01U);
  EXPECT_TRUE(t->context(0)->is_clean());
  EXPECT_EQ(t->context(0)->reference(), 0xCA01U);
  EXPECT_EQ(*t->read(255), 0U);
}

TEST(DeltaTableTest, DenseOutOfRangeIsNamedAndChangesNothing) {
  auto t = DeltaTable<>::dense(256);
  ASSERT_TRUE(t.ok());
  Status s = t->accum(300, 1);
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_EQ(s.message(), "DeltaTable::accum: address 300 >= num_contexts 256");
  EXPECT_EQ(t->read(256).status().code(), Code::kOutOfRange);
  EXPECT_EQ(t->swap(999).status().code(), Code::kOutOfRange);
  EXPECT_EQ(t->load(256, 1).code(), Code::kOutOfRange);
  EXPECT_EQ(t->context(256).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(t->snapshot().empty());
}

TEST(DeltaTableTest, BatchAccumIsAllOrNothing) {
  auto t = DeltaTable<>::dense(4);
  ASSERT_TRUE(t.ok());
  std::vector<std::pair<Addr, std::uint64_t>> good = {{0, 1}, {3, 2}, {0, 4}};
  ASSERT_TRUE(t->batch_accum(good).ok());
  EXPECT_EQ(*t->read(0), 5U);
  std::vector<std::pair<Addr, std::uint64_t>> bad = {{1, 1}, {2, 2}, {4, 8}};
  Status s = t->batch_accum(bad);
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_THAT(s.message(),
              HasSubstr("entry 2: DeltaTable::batch_accum: address 4"));
  EXPECT_EQ(*t->read(1), 0U);  // nothing from the failed batch was applied
  EXPECT_EQ(*t->read(2), 0U);
}

TEST(DeltaTableTest, SparseCreatesOnWriteAndReadsUnknownAsZero) {
  auto t = DeltaTable<>::sparse();
  EXPECT_FALSE(t.is_dense());
  EXPECT_EQ(*t.read(0xFFFFFFFF), 0U);
  EXPECT_EQ(t.num_contexts(), 0U);  // reading created nothing
  ASSERT_TRUE(t.accum(0xFFFFFFFF, 7).ok());
  ASSERT_TRUE(t.load(12, 0xCAFE).ok());
  EXPECT_EQ(t.num_contexts(), 2U);
  EXPECT_EQ(*t.read(0xFFFFFFFF), 7U);
  auto snap = t.snapshot();
  ASSERT_EQ(snap.size(), 2U);
  EXPECT_EQ(snap[0], (std::pair<Addr, std::uint64_t>{12, 0xCAFE}));
  EXPECT_EQ(snap[1], (std::pair<Addr, std::uint64_t>{0xFFFFFFFF, 7}));
}

TEST(DeltaTableTest, DenseAndSparseAgreeWithAMapModel) {
  auto g = testing::rng(11);
  auto dense = DeltaTable<std::uint32_t, AddGroup>::dense(64);
  ASSERT_TRUE(dense.ok());
  auto sparse = DeltaTable<std::uint32_t, AddGroup>::sparse();
  std::map<Addr, std::uint32_t> model;
  for (int i = 0; i < 5000; ++i) {
    const Addr a = static_cast<Addr>(g() % 64);
    const auto d = static_cast<std::uint32_t>(g());
    switch (g() % 4) {
      case 0:
        ASSERT_TRUE(dense->load(a, d).ok());
        ASSERT_TRUE(sparse.load(a, d).ok());
        model[a] = d;
        break;
      case 3: {
        auto x = dense->swap(a);
        auto y = sparse.swap(a);
        ASSERT_EQ(*x, model[a]);
        ASSERT_EQ(*y, model[a]);
        break;
      }
      default:
        ASSERT_TRUE(dense->accum(a, d).ok());
        ASSERT_TRUE(sparse.accum(a, d).ok());
        model[a] += d;
    }
  }
  for (Addr a = 0; a < 64; ++a) {
    EXPECT_EQ(*dense->read(a), model[a]);
    EXPECT_EQ(*sparse.read(a), model[a]);
  }
  EXPECT_EQ(dense->snapshot(), sparse.snapshot());
}

// A table large enough for the huge-page hint (2^20 contexts, 24 MiB):
// every context starts clean at 0 and the table agrees with a map model.
TEST(DeltaTableTest, ALargeDenseTableStartsAtZeroAndAgreesWithAModel) {
  auto g = testing::rng(12);
  auto t = DeltaTable<>::dense(std::uint64_t{1} << 20);
  ASSERT_TRUE(t.ok());
  std::map<Addr, std::uint64_t> model;
  for (int i = 0; i < 20000; ++i) {
    const auto a = static_cast<Addr>(g() >> 44);
    const std::uint64_t d = g();
    ASSERT_TRUE(t->accum(a, d).ok());
    model[a] ^= d;
  }
  for (int i = 0; i < 20000; ++i) {
    const auto a = static_cast<Addr>(g() >> 44);
    ASSERT_EQ(*t->read(a), model.contains(a) ? model[a] : 0U) << a;
  }
  for (const auto& [a, v] : model) ASSERT_EQ(*t->read(a), v) << a;
  EXPECT_EQ(*t->read((1U << 20) - 1), model[(1U << 20) - 1]);
}

// The hint itself: ranges too small, unaligned or null change nothing.
TEST(DeltaTableTest, TheHugePageHintAcceptsAnyRange) {
  std::vector<std::uint8_t> v((std::size_t{5} << 20) + 3, 7);
  detail::advise_huge_pages(nullptr, std::size_t{8} << 20);
  detail::advise_huge_pages(v.data(), 100);
  detail::advise_huge_pages(v.data() + 1, v.size() - 1);
  EXPECT_EQ(std::count(v.begin(), v.end(), 7), static_cast<long>(v.size()));
}

TEST(DeltaTableTest, TooManyDenseContextsIsRefused) {
  auto t = DeltaTable<>::dense((std::uint64_t{1} << 32) + 1);
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("2^32"));
}

}  // namespace
}  // namespace atomik
