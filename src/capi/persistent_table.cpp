// SPDX-License-Identifier: Apache-2.0
// capi/persistent_table.cpp: atomik_ptable_*, the C face of the durable
// PersistentTable (persistent_table.hpp): WAL, checkpoints, recovery.
#include "atomik/persistent_table.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

static_assert(static_cast<int>(atomik::SyncPolicy::kEveryRecord) ==
              ATOMIK_SYNC_EVERY_RECORD);
static_assert(static_cast<int>(atomik::SyncPolicy::kGroup) ==
              ATOMIK_SYNC_GROUP);
static_assert(static_cast<int>(atomik::SyncPolicy::kNone) == ATOMIK_SYNC_NONE);
static_assert(static_cast<int>(atomik::RecoveryMode::kStrict) ==
              ATOMIK_RECOVERY_STRICT);
static_assert(static_cast<int>(atomik::RecoveryMode::kSkip) ==
              ATOMIK_RECOVERY_SKIP);

struct atomik_ptable {  // NOLINT(readability-identifier-naming): C name
  std::unique_ptr<atomik::PersistentTable> t;
};

namespace {
using atomik::capi::check;
using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;
}  // namespace

extern "C" {

void atomik_ptable_options_init(atomik_ptable_options* options) {
  if (options == nullptr) return;
  const atomik::PersistentOptions d;
  options->num_contexts = d.num_contexts;
  options->sync = static_cast<atomik_sync_policy>(d.sync);
  options->recovery = static_cast<atomik_recovery_mode>(d.recovery);
  options->undo_levels = d.undo_levels;
  options->origin = d.origin;
}

atomik_status atomik_ptable_open(const char* dir,
                                 const atomik_ptable_options* options,
                                 atomik_ptable** out) {
  static constexpr const char* kFn = "atomik_ptable_open";
  return guarded(kFn, [&] {
    if (dir == nullptr) return null_argument(kFn, "dir");
    if (out == nullptr) return null_argument(kFn, "out");
    atomik::PersistentOptions o;
    if (options != nullptr) {
      const int sync = atomik::capi::raw_enum(options->sync);
      const int recovery = atomik::capi::raw_enum(options->recovery);
      if (sync != ATOMIK_SYNC_EVERY_RECORD && sync != ATOMIK_SYNC_GROUP &&
          sync != ATOMIK_SYNC_NONE) {
        return fail(kFn, ATOMIK_INVALID_ARGUMENT,
                    "sync " + std::to_string(sync) +
                        " is not EVERY_RECORD (0), GROUP (1) or NONE (2)");
      }
      if (recovery != ATOMIK_RECOVERY_STRICT &&
          recovery != ATOMIK_RECOVERY_SKIP) {
        return fail(kFn, ATOMIK_INVALID_ARGUMENT,
                    "recovery " + std::to_string(recovery) +
                        " is not STRICT (0) or SKIP (1)");
      }
      o.num_contexts = options->num_contexts;
      o.sync = static_cast<atomik::SyncPolicy>(sync);
      o.recovery = static_cast<atomik::RecoveryMode>(recovery);
      o.undo_levels = options->undo_levels;
      o.origin = options->origin;
    }
    auto t = atomik::PersistentTable::open(dir, o);
    if (!t.ok()) return fail(kFn, t.status());
    *out = new atomik_ptable{std::move(*t)};
    return ATOMIK_OK;
  });
}

void atomik_ptable_free(atomik_ptable* table) {
  if (table == nullptr) return;
  // A close failure cannot be returned here; it is recorded as the
  // thread's last error so it is not lost silently.
  (void)guarded("atomik_ptable_free", [&] {
    return check("atomik_ptable_free: close", table->t->close());
  });
  delete table;
}

atomik_status atomik_ptable_load(atomik_ptable* table, uint32_t addr,
                                 uint64_t value) {
  static constexpr const char* kFn = "atomik_ptable_load";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t->load(addr, value));
  });
}

atomik_status atomik_ptable_accum(atomik_ptable* table, uint32_t addr,
                                  uint64_t delta) {
  static constexpr const char* kFn = "atomik_ptable_accum";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t->accum(addr, delta));
  });
}

atomik_status atomik_ptable_read(const atomik_ptable* table, uint32_t addr,
                                 uint64_t* out) {
  static constexpr const char* kFn = "atomik_ptable_read";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    if (out == nullptr) return null_argument(kFn, "out");
    auto r = table->t->read(addr);
    if (!r.ok()) return fail(kFn, r.status());
    *out = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_ptable_swap(atomik_ptable* table, uint64_t* epoch) {
  static constexpr const char* kFn = "atomik_ptable_swap";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    auto r = table->t->swap();
    if (!r.ok()) return fail(kFn, r.status());
    if (epoch != nullptr) *epoch = r->epoch;
    return ATOMIK_OK;
  });
}

atomik_status atomik_ptable_sync(atomik_ptable* table) {
  static constexpr const char* kFn = "atomik_ptable_sync";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t->sync());
  });
}

atomik_status atomik_ptable_close(atomik_ptable* table) {
  static constexpr const char* kFn = "atomik_ptable_close";
  return guarded(kFn, [&] {
    if (table == nullptr) return null_argument(kFn, "table");
    return check(kFn, table->t->close());
  });
}

}  // extern "C"
