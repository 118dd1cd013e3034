// SPDX-License-Identifier: Apache-2.0
// atomik/persistent_table.hpp: PersistentTable, a durable DeltaTable.
//
// Every change is a checksummed WAL record carrying (origin, seq); swap()
// closes an epoch and writes the whole table as a checkpoint, after which the
// WAL segments it covers are deleted. open(dir) recovers checkpoint + WAL and
// reaches exactly the acknowledged state: a call that returned OK is never
// lost, bad bytes never become state, and replaying a record twice changes
// nothing (per-origin sequence numbers; the checkpoint stores the marks).
// Undo histories (UndoHistory, one per address) are persisted too, so undo
// after a restart works. Formats: docs/format/wal.md, checkpoint.md.
//
//   auto t = atomik::PersistentTable::open("./atomik-data").value();
//   atomik::Status s = t->accum(7, 0xFF);   // OK: durable (kEveryRecord)
//   auto epoch = t->swap();                 // checkpoint; WAL trimmed
//   // ... crash, restart ...
//   auto again = atomik::PersistentTable::open("./atomik-data").value();
//   again->read(7);                         // 0xFF
//
// The reference's PersistentSyncTable, done right: its raw 16-byte records had
// no checksum (a flipped byte became state) and no seq (a replayed record
// cancelled itself).
//
// Thread safety: every method may be called from any thread; concurrent
// writers share fdatasyncs (group commit). Reads see a change as soon as it
// is logged, possibly before it is acknowledged.
// Failure: a call that fails before its record is logged changes nothing. If
// the log itself fails (write, fsync), the table is *failed*: that call and
// every later one (reads included) return the I/O error, and the in-memory
// state is not used again; reopen to get the acknowledged state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/file.hpp"
#include "atomik/status.hpp"
#include "atomik/table_shape.hpp"
#include "atomik/wal.hpp"

namespace atomik {

// The default data directory of the CLI and the examples.
inline constexpr const char* kDefaultDataDir = "./atomik-data";
// Held (flock) by an open table in its directory; see PersistentTable::open.
inline constexpr const char* kLockFileName = "LOCK";

struct PersistentOptions {
  // Addresses 0..num_contexts-1 (dense) or any 32-bit address (0: sparse).
  // Fixed when the table is created; reopening with another value fails.
  std::uint64_t num_contexts = 0;
  // The group deltas compose in and the word width (table_shape.hpp):
  // fixed when the table is created (stored in its checkpoint and WAL);
  // reopening with another group or width fails naming both. With add,
  // accum(a, d) adds d modulo 2^word_bits (pass 2^word_bits - d to
  // subtract). Every value and delta must be < 2^word_bits.
  TableGroup group = TableGroup::kXor;
  std::uint8_t word_bits = 64;
  // When a change is acknowledged (see SyncPolicy in wal.hpp).
  SyncPolicy sync = SyncPolicy::kEveryRecord;
  std::uint32_t group_records = 4096;
  std::uint32_t group_interval_us = 1000;
  std::uint64_t segment_bytes = 64 << 20;
  // How open() treats damage to synced WAL bytes. kSkip salvages what is
  // readable, reports the rest, and checkpoints at once so the damaged
  // segments are retired.
  RecoveryMode recovery = RecoveryMode::kStrict;
  // Levels kept per address by accum_undoable()/undo()/redo().
  std::uint32_t undo_levels = 1024;
  // A new table's origin id; 0 draws a random one.
  std::uint64_t origin = 0;
  FileSystem* fs = nullptr;  // nullptr: FileSystem::posix()

  TableShape shape() const { return {.group = group, .word_bits = word_bits}; }
};

// An epoch closed by swap().
struct EpochState {
  std::uint64_t epoch = 0;  // 1 for the first swap()
  std::vector<std::pair<std::uint32_t, std::uint64_t>> states;  // non-zero
};

class ATOMIK_EXPORT PersistentTable {
 public:
  // Opens (creating if needed) the table in `dir`: reads the checkpoint,
  // replays the WAL (a torn unsynced tail is truncated and reported in
  // recovery_report()), seals the last segment and starts a new one.
  // Every option is validated first (kInvalidArgument naming it; nothing
  // on disk is created or changed then).
  // Fails with kCorruption (file and offset) on damage in kStrict mode,
  // kInvalidArgument if num_contexts differs from the stored table,
  // kFailedPrecondition if its group or word width does (naming both),
  // kFailedPrecondition if another open table (in any process) holds
  // `dir`/LOCK, kUnimplemented for a newer format, or the I/O error. The
  // lock is held until close() or destruction. Cost O(checkpoint + WAL).
  static Result<std::unique_ptr<PersistentTable>> open(
      const std::string& dir = kDefaultDataDir,
      const PersistentOptions& options = {});
  PersistentTable(const PersistentTable&) = delete;
  PersistentTable& operator=(const PersistentTable&) = delete;
  ~PersistentTable();

  // load(addr, value), logged; returns once acknowledged. kOutOfRange for a
  // dense address out of range or a value >= 2^word_bits (nothing logged;
  // the same holds for every call that takes values or deltas).
  Status load(std::uint32_t addr, std::uint64_t value);
  // accum(addr, delta) under this table's origin and its next seq, logged;
  // returns once acknowledged.
  Status accum(std::uint32_t addr, std::uint64_t delta);
  // A remote origin's delta `seq`, applied exactly once, in order: true if
  // applied; false if seq <= the origin's mark (a duplicate: nothing logged
  // or changed). kFailedPrecondition if seq skips ahead (mark + 1 expected:
  // reorder with DeltaStream first); kInvalidArgument for seq 0 or this
  // table's own origin.
  Result<bool> apply(std::uint64_t origin, std::uint64_t seq,
                     std::uint32_t addr, std::uint64_t delta);
  // Added for Node: accum() of every delta in order under one
  // lock, with one durability wait at the end (none when `wait` is false:
  // then call sync() before treating them as acknowledged). Returns the seq
  // of the first delta; the others follow it. An address out of range fails
  // before anything is logged. The batch is logged as DELTA_RUN frames
  // (docs/format/wal.md): one frame and checksum per 4096 deltas. O(deltas).
  Result<std::uint64_t> accum_batch(
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
      bool wait = true);
  // Added for Node: apply() of origin's seqs base_seq,
  // base_seq+1, ... under one lock and one durability wait (none when `wait`
  // is false). Leading duplicates are skipped; returns how many were
  // applied. Fails like apply() (nothing logged) if base_seq skips ahead of
  // mark + 1 or an address is out of range. Logged as DELTA_RUN frames,
  // like accum_batch. O(deltas).
  Result<std::uint64_t> apply_batch(
      std::uint64_t origin, std::uint64_t base_seq,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
      bool wait = true);
  // This table's own deltas with seqs base_seq, base_seq + 1, ... that a
  // peer returned after this table lost them (a lost WAL tail): applied
  // like apply_batch() but under the own origin; leading ones at or below
  // the own seq are skipped, and later accum()s continue after the last.
  // Returns how many were applied. Fails (nothing logged) if base_seq skips
  // ahead of own seq + 1 or an address is out of range. O(deltas).
  Result<std::uint64_t> restore_own_batch(
      std::uint64_t base_seq,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
      bool wait = true);
  // Added for Node: replaces the table with a state received by
  // state transfer: every non-zero state (ascending address) and every
  // origin's mark. Durable on return: rolls the WAL and writes a checkpoint
  // (epoch unchanged) holding exactly this state; undo histories are
  // cleared. Fails with kFailedPrecondition if `marks` gives this table's own
  // origin a mark other than its own seq (re-apply own deltas first),
  // kOutOfRange for an address out of range, or the I/O error; on failure
  // the table is unchanged. Cost O(table).
  Status install_state(
      std::span<const std::pair<std::uint32_t, std::uint64_t>> states,
      std::span<const std::pair<std::uint64_t, std::uint64_t>> marks);
  // Starts a new incarnation: later own deltas are logged under
  // `new_origin` from seq 1; the old origin keeps its mark as any other
  // origin's. Durable on return (rolls the WAL and writes a checkpoint, as
  // install_state). Fails with kInvalidArgument for 0 or an origin the table
  // knows, or the I/O error; on failure the table is unchanged.
  Status reincarnate(std::uint64_t new_origin);
  // The state at addr (sparse: 0 if never written).
  Result<std::uint64_t> read(std::uint32_t addr) const;
  // Every non-zero state, by address. O(table).
  Result<std::vector<std::pair<std::uint32_t, std::uint64_t>>> snapshot() const;

  // accum(addr, delta) recorded in addr's undo history.
  Status accum_undoable(std::uint32_t addr, std::uint64_t delta);
  // Undoes addr's newest undoable delta and returns it; std::nullopt (and
  // nothing logged) if there is none.
  Result<std::optional<std::uint64_t>> undo(std::uint32_t addr);
  // Re-applies addr's newest undone delta; std::nullopt if none.
  Result<std::optional<std::uint64_t>> redo(std::uint32_t addr);
  std::size_t undo_depth(std::uint32_t addr) const;
  std::size_t redo_depth(std::uint32_t addr) const;

  // Closes an epoch: rolls the WAL, writes the whole table as a checkpoint
  // (temp file, fsync, rename, directory fsync), deletes the WAL segments it
  // covers, and returns the epoch's number and state. On failure the old
  // checkpoint and the WAL are intact, the epoch is not counted, and the
  // table stays usable. Deleting the covered segments is best effort: ones
  // left behind are ignored and deleted by the next open(). Blocks other
  // calls while it runs. Cost O(table).
  Result<EpochState> swap();

  // Forces every logged change to disk now (useful with kGroup / kNone).
  Status sync();
  // Syncs and closes the log; later calls fail. Idempotent.
  Status close();

  std::uint64_t epoch() const;
  std::uint64_t origin() const;
  // The table's group and word width (as stored; equal to the options').
  TableShape shape() const;
  // (origin, highest seq applied), by origin: the version vector.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> version_vector() const;
  // The highest seq applied of one origin (0 if unknown). O(log origins).
  std::uint64_t mark(std::uint64_t origin) const;
  // Distinct origins with a mark. O(1).
  std::size_t origin_count() const;
  // What open() found: records replayed, duplicates, torn tail, drops.
  const RecoveryReport& recovery_report() const;
  WalWriterStats wal_stats() const;
  const std::string& dir() const;

  // Called by open() for every change record it replays (duplicates
  // skipped), in log order; a delta run gives one call per delta.
  using ReplayObserver = std::function<void(
      WalRecordType type, std::uint64_t origin, std::uint64_t seq,
      std::uint32_t addr, std::uint64_t value)>;
  // open() that reports the replayed records to `observer` (Replica uses it
  // to rebuild its retained log without reading the WAL a second time).
  static Result<std::unique_ptr<PersistentTable>> open_observed(
      const std::string& dir, const PersistentOptions& options,
      const ReplayObserver& observer);

 private:
  struct Impl;
  explicit PersistentTable(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atomik
