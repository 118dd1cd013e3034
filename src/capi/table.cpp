// SPDX-License-Identifier: Apache-2.0
// capi/table.cpp: atomik_table_*, the C face of DeltaTable<> (64-bit XOR).
// Address errors come from DeltaTable itself, so C and C++ report alike.
#include "atomik/table.hpp"

#include <cstdint>
#include <utility>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

struct atomik_table {  // NOLINT(readability-identifier-naming): C name
  atomik::DeltaTable<> t;
};

namespace {
using atomik::capi::check;
using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;
}  // namespace

extern "C" {

atomik_status atomik_table_new_dense(uint64_t num_contexts,
                                     atomik_table** out) {
  static constexpr const char* kFn = "atomik_table_new_dense";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    auto t = atomik::DeltaTable<>::dense(num_contexts);
    if (!t.ok()) return fail(kFn, t.status());
    *out = new atomik_table{std::move(*t)};
    return ATOMIK_OK;
  });
}

atomik_status atomik_table_new_sparse(atomik_table** out) {
  static constexpr const char* kFn = "atomik_table_new_sparse";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    *out = new atomik_table{atomik::DeltaTable<>::sparse()};
    return ATOMIK_OK;
  });
}

void atomik_table_free(atomik_table* table) { delete table; }

atomik_status atomik_table_load(atomik_table* table, uint32_t addr,
                                uint64_t value) {
  static constexpr const char* kFn = "atomik_table_load";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t.load(addr, value));
  });
}

atomik_status atomik_table_accum(atomik_table* table, uint32_t addr,
                                 uint64_t delta) {
  static constexpr const char* kFn = "atomik_table_accum";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t.accum(addr, delta));
  });
}

atomik_status atomik_table_rollback(atomik_table* table, uint32_t addr,
                                    uint64_t delta) {
  static constexpr const char* kFn = "atomik_table_rollback";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t.rollback(addr, delta));
  });
}

atomik_status atomik_table_read(const atomik_table* table, uint32_t addr,
                                uint64_t* out) {
  static constexpr const char* kFn = "atomik_table_read";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    if (out == nullptr) return null_argument(kFn, "out");
    auto r = table->t.read(addr);
    if (!r.ok()) return fail(kFn, r.status());
    *out = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_table_swap(atomik_table* table, uint32_t addr,
                                uint64_t* out) {
  static constexpr const char* kFn = "atomik_table_swap";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    auto r = table->t.swap(addr);
    if (!r.ok()) return fail(kFn, r.status());
    if (out != nullptr) *out = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_table_num_contexts(const atomik_table* table,
                                        uint64_t* out) {
  static constexpr const char* kFn = "atomik_table_num_contexts";
  if (table == nullptr) return null_argument(kFn, "table");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = table->t.num_contexts();
  return ATOMIK_OK;
}

}  // extern "C"
