// SPDX-License-Identifier: Apache-2.0
// atomik/table_shape.hpp: the group and word width of a durable table.
//
// A PersistentTable (and the Replica and nodes over it) composes deltas in
// one group (group.hpp) over words of 8..64 bits, fixed when the table is
// created and stored in its checkpoint and WAL segment headers
// (docs/format/checkpoint.md, wal.md):
//   xor: state = XOR of the deltas (the default; self-inverse).
//   add: state = sum of the deltas modulo 2^word_bits (counters; the
//        inverse of d is 2^word_bits - d).
// Every delta and loaded value must be < 2^word_bits.
//
//   atomik::TableShape s{.group = atomik::TableGroup::kAdd};
//   s.to_string();                               // "add/64"
//   atomik::parse_table_group("add");            // TableGroup::kAdd
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "atomik/export.h"
#include "atomik/group.hpp"
#include "atomik/status.hpp"

namespace atomik {

// Values are the groups' kId (group.hpp), written to disk; never change.
enum class TableGroup : std::uint8_t {
  kXor = XorGroup::kId,
  kAdd = AddGroup::kId,
};

struct TableShape {
  TableGroup group = TableGroup::kXor;
  std::uint8_t word_bits = 64;  // 8..64

  // All ones in the low word_bits bits.
  constexpr std::uint64_t mask() const noexcept {
    return word_bits >= 64 ? ~std::uint64_t{0}
                           : (std::uint64_t{1} << word_bits) - 1;
  }
  // The group's combine and inverse on values < 2^word_bits.
  constexpr std::uint64_t combine(std::uint64_t a,
                                  std::uint64_t b) const noexcept {
    return group == TableGroup::kAdd ? (a + b) & mask() : a ^ b;
  }
  constexpr std::uint64_t inverse(std::uint64_t a) const noexcept {
    return group == TableGroup::kAdd ? (std::uint64_t{0} - a) & mask() : a;
  }
  // "xor/64", "add/16": how messages name a shape.
  ATOMIK_EXPORT std::string to_string() const;
  friend bool operator==(const TableShape&, const TableShape&) = default;
};

// "xor" or "add".
ATOMIK_EXPORT std::string_view to_string(TableGroup g) noexcept;
// "xor" / "add" (exactly); std::nullopt otherwise.
ATOMIK_EXPORT std::optional<TableGroup> parse_table_group(std::string_view s);
// kInvalidArgument naming the field if word_bits is outside 8..64 or the
// group is unknown; `where` prefixes the message.
ATOMIK_EXPORT Status validate_shape(const TableShape& s, const char* where);

}  // namespace atomik
