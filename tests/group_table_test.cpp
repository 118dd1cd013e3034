// SPDX-License-Identifier: Apache-2.0
// GroupTable::accum_run (src/storage/group_table.hpp) against a model: the
// group's combine of every delta, in order, for runs shorter and longer
// than its prefetch distance, on dense and sparse tables of both groups.
#include "storage/group_table.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "test_seed.hpp"

namespace atomik::storage {
namespace {

using Deltas = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

TEST(GroupTableTest, AccumRunAgreesWithAModelForRunsOfAnyLength) {
  auto g = testing::rng(21);
  for (const TableGroup group : {TableGroup::kXor, TableGroup::kAdd}) {
    for (const std::uint64_t contexts :
         {std::uint64_t{0}, std::uint64_t{512}}) {
      const TableShape shape{.group = group, .word_bits = 64};
      auto t = GroupTable::make(shape, contexts);
      ASSERT_TRUE(t.ok()) << t.status().to_string();
      std::map<Addr, std::uint64_t> model;
      for (const std::size_t n :
           {0u, 1u, 31u, 32u, 33u, 64u, 65u, 1000u, 5000u}) {
        Deltas run(n);
        for (auto& [a, d] : run) {
          // Few addresses, so runs hit one context many times.
          a = static_cast<std::uint32_t>(g() % 512);
          d = g();
        }
        t->accum_run(run);
        for (const auto& [a, d] : run) model[a] = shape.combine(model[a], d);
        const std::string where = std::string(to_string(group)) + " " +
                                  (contexts != 0 ? "dense" : "sparse") +
                                  " after a run of " + std::to_string(n);
        for (const auto& [a, v] : model) {
          ASSERT_EQ(t->read(a).value(), v) << where << ", address " << a;
        }
        std::size_t nonzero = 0;
        for (const auto& [a, v] : model) nonzero += v != 0 ? 1 : 0;
        ASSERT_EQ(t->snapshot().size(), nonzero) << where;
      }
    }
  }
}

}  // namespace
}  // namespace atomik::storage
