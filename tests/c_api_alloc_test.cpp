// SPDX-License-Identifier: Apache-2.0
// c_api_alloc_test.cpp: the C API's hot paths allocate nothing. malloc is
// replaced (alloc_counter.hpp) and counted around many calls; the counter
// itself is checked to see an allocation, so the test can fail.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "atomik/atomik.h"

namespace {

using atomik::testing::alloc_count;
using atomik::testing::kAllocCounterActive;

TEST(CApiAllocTest, CounterSeesAnAllocation) {
  if (!kAllocCounterActive) GTEST_SKIP() << "malloc is the sanitizer's";
  const std::uint64_t before = alloc_count();
  auto p = std::make_unique<std::vector<int>>(100);
  EXPECT_GT(alloc_count(), before);
}

TEST(CApiAllocTest, ContextAccumReadSwapAllocateNothing) {
  if (!kAllocCounterActive) GTEST_SKIP() << "malloc is the sanitizer's";
  for (const unsigned width : {8u, 16u, 32u, 64u}) {
    for (const atomik_group group : {ATOMIK_GROUP_XOR, ATOMIK_GROUP_ADD}) {
      atomik_context* ctx = nullptr;
      ASSERT_EQ(atomik_context_new(width, group, &ctx), ATOMIK_OK);
      const std::uint64_t deltas[4] = {1, 2, 3, 4};
      std::uint64_t v = 0;
      const std::uint64_t before = alloc_count();
      for (std::uint64_t i = 0; i < 100000; ++i) {
        ASSERT_EQ(atomik_context_accum(ctx, i & 0x7F), ATOMIK_OK);
        ASSERT_EQ(atomik_context_accum_batch(ctx, deltas, 4), ATOMIK_OK);
        ASSERT_EQ(atomik_context_read(ctx, &v), ATOMIK_OK);
        if ((i & 1023) == 0) {
          ASSERT_EQ(atomik_context_swap(ctx, &v), ATOMIK_OK);
        }
      }
      EXPECT_EQ(alloc_count() - before, 0u) << width << "-bit, group " << group;
      atomik_context_free(ctx);
    }
  }
}

TEST(CApiAllocTest, DenseTableAccumAllocatesNothing) {
  if (!kAllocCounterActive) GTEST_SKIP() << "malloc is the sanitizer's";
  atomik_table* t = nullptr;
  ASSERT_EQ(atomik_table_new_dense(1024, &t), ATOMIK_OK);
  const std::uint64_t before = alloc_count();
  for (std::uint32_t i = 0; i < 100000; ++i) {
    ASSERT_EQ(atomik_table_accum(t, i & 1023, i), ATOMIK_OK);
  }
  EXPECT_EQ(alloc_count() - before, 0u);
  atomik_table_free(t);
}

TEST(CApiAllocTest, ErrorPathRecordsAMessage) {
  // The error path may allocate (the message); it must still report.
  if (!kAllocCounterActive) GTEST_SKIP() << "malloc is the sanitizer's";
  atomik_context* ctx = nullptr;
  ASSERT_EQ(atomik_context_new(8, ATOMIK_GROUP_XOR, &ctx), ATOMIK_OK);
  EXPECT_EQ(atomik_context_accum(ctx, 0x100), ATOMIK_OUT_OF_RANGE);
  EXPECT_NE(std::string(atomik_last_error()).find("8 bits"), std::string::npos);
  atomik_context_free(ctx);
}

}  // namespace
