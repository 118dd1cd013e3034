// SPDX-License-Identifier: Apache-2.0
// TableShape: names, parsing and validation (include/atomik/table_shape.hpp).
#include "atomik/table_shape.hpp"

namespace atomik {

std::string_view to_string(TableGroup g) noexcept {
  switch (g) {
    case TableGroup::kXor:
      return XorGroup::kName;
    case TableGroup::kAdd:
      return AddGroup::kName;
  }
  return "unknown";
}

std::string TableShape::to_string() const {
  // Appended piece by piece: GCC 12 -O3 warns (-Wrestrict, a false
  // positive) on "(" + std::to_string(...) here.
  std::string s(atomik::to_string(group));
  if (group != TableGroup::kXor && group != TableGroup::kAdd) {
    s += '(';
    s += std::to_string(static_cast<unsigned>(group));
    s += ')';
  }
  s += '/';
  s += std::to_string(static_cast<unsigned>(word_bits));
  return s;
}

std::optional<TableGroup> parse_table_group(std::string_view s) {
  if (s == XorGroup::kName) return TableGroup::kXor;
  if (s == AddGroup::kName) return TableGroup::kAdd;
  return std::nullopt;
}

Status validate_shape(const TableShape& s, const char* where) {
  if (s.group != TableGroup::kXor && s.group != TableGroup::kAdd) {
    return Status::invalid_argument(
        where, "group " + std::to_string(static_cast<unsigned>(s.group)) +
                   " unknown (1 = xor, 2 = add)");
  }
  if (s.word_bits < 8 || s.word_bits > 64) {
    return Status::invalid_argument(
        where, "word_bits " +
                   std::to_string(static_cast<unsigned>(s.word_bits)) +
                   " outside 8..64");
  }
  return Status();
}

}  // namespace atomik
