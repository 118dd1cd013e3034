// SPDX-License-Identifier: Apache-2.0
// GroupTable: the in-memory table of a PersistentTable, a DeltaTable in the
// group its TableShape names (table_shape.hpp). Private to src/storage.
//
// The group is chosen at run time (it is stored in the table's files), so
// this holds one DeltaTable per group and uses the one the shape names:
// one predictable branch per call, no virtual call. Words narrower than 64
// bits are kept in 64-bit contexts and reduced to their low word_bits bits
// when read: for XOR the high bits stay 0 (callers check that every value
// fits), for ADD the sum modulo 2^64 reduced modulo 2^word_bits is the sum
// modulo 2^word_bits.
// Failure: addresses must be checked by the caller (a dense address out of
// range is ignored here, as DeltaTable reports it and callers check first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "atomik/table.hpp"
#include "atomik/table_shape.hpp"

namespace atomik::storage {

class GroupTable {
 public:
  GroupTable() = default;
  // A sparse (num_contexts 0) or dense table of `shape`. Fails like
  // DeltaTable::dense().
  static Result<GroupTable> make(TableShape shape, std::uint64_t num_contexts) {
    GroupTable t;
    t.shape_ = shape;
    t.add_ = shape.group == TableGroup::kAdd;
    t.mask_ = shape.mask();
    if (num_contexts != 0) {
      if (t.add_) {
        auto d = DeltaTable<std::uint64_t, AddGroup>::dense(num_contexts);
        if (!d.ok()) return d.status();
        t.add_table_ = std::move(*d);
      } else {
        auto d = DeltaTable<>::dense(num_contexts);
        if (!d.ok()) return d.status();
        t.xor_table_ = std::move(*d);
      }
    }
    return t;
  }

  const TableShape& shape() const noexcept { return shape_; }
  bool fits(std::uint64_t v) const noexcept { return (v & ~mask_) == 0; }

  void accum(Addr a, std::uint64_t d) {
    if (add_) {
      (void)add_table_.accum(a, d);
    } else {
      (void)xor_table_.accum(a, d);
    }
  }
  void load(Addr a, std::uint64_t v) {
    if (add_) {
      (void)add_table_.load(a, v);
    } else {
      (void)xor_table_.load(a, v);
    }
  }
  // Undoes d: accumulates the group's inverse of d.
  void rollback(Addr a, std::uint64_t d) {
    if (add_) {
      (void)add_table_.rollback(a, d);
    } else {
      (void)xor_table_.rollback(a, d);
    }
  }
  Result<std::uint64_t> read(Addr a) const {
    auto v = add_ ? add_table_.read(a) : xor_table_.read(a);
    if (!v.ok()) return v;
    return *v & mask_;
  }
  // Every non-zero state (after reduction to word_bits), by address.
  std::vector<std::pair<Addr, std::uint64_t>> snapshot() const {
    auto s = add_ ? add_table_.snapshot() : xor_table_.snapshot();
    if (mask_ != ~std::uint64_t{0}) {
      std::size_t out = 0;
      for (auto& [a, v] : s) {
        v &= mask_;
        if (v != 0) s[out++] = {a, v};
      }
      s.resize(out);
    }
    return s;
  }
  // Folds a run of checked deltas in order, as accum() of each. A dense
  // table's contexts are prefetched kPrefetchAhead deltas ahead: random
  // addresses over a table larger than the cache miss to DRAM (~100 ns),
  // and 32 in flight measured 1.5x faster than 8 on tables of 2^20
  // contexts (docs/performance.md).
  void accum_run(
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
    if (add_) {
      accum_run_in(add_table_, deltas);
    } else {
      accum_run_in(xor_table_, deltas);
    }
  }

 private:
  static constexpr std::size_t kPrefetchAhead = 32;

  template <class Table>
  static void accum_run_in(
      Table& t,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
    const auto* base = t.dense_data();
    const std::size_t n = deltas.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (base != nullptr && i + kPrefetchAhead < n) {
        __builtin_prefetch(base + deltas[i + kPrefetchAhead].first, 1, 3);
      }
      (void)t.accum(deltas[i].first, deltas[i].second);
    }
  }

  TableShape shape_;
  bool add_ = false;
  std::uint64_t mask_ = ~std::uint64_t{0};
  DeltaTable<> xor_table_ = DeltaTable<>::sparse();
  DeltaTable<std::uint64_t, AddGroup> add_table_ =
      DeltaTable<std::uint64_t, AddGroup>::sparse();
};

}  // namespace atomik::storage
