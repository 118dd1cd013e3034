// SPDX-License-Identifier: Apache-2.0
// PersistentTable::Impl, shared by persistent_table.cpp (the calls) and
// persistent_recover.cpp (open, replay, restore). Private to src/storage.
//
// Per-origin dedup uses a contiguous high-water mark per origin (the marks of
// DeltaStream's VersionVector, include/atomik/stream.hpp): the log is replayed
// in order, so no out-of-order window is needed here.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>

#include "atomik/checkpoint.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/undo.hpp"
#include "codec/hex.hpp"
#include "storage/group_table.hpp"
#include "storage/wal_record.hpp"
#include "storage/wal_scan.hpp"

namespace atomik {
namespace storage {

// Undo levels are stored as the deltas applied; undoing one applies its
// inverse in the table's group (GroupTable::rollback).
using History = UndoHistory<>;

// Lets an UndoHistory drive one address of a table.
struct AddrTarget {
  GroupTable* table;
  Addr addr;
  void accum(std::uint64_t d) { table->accum(addr, d); }
  void rollback(std::uint64_t d) { table->rollback(addr, d); }
};

}  // namespace storage

struct PersistentTable::Impl {
  std::string dir;
  PersistentOptions opt;
  FileSystem* fs = nullptr;
  mutable std::mutex mu;
  storage::GroupTable table;
  std::map<Addr, storage::History> undo;
  std::map<std::uint64_t, std::uint64_t> marks;
  // The last origin looked up (replay is mostly one origin): saves a map
  // lookup per record. Map nodes never move, so the pointer stays valid.
  std::uint64_t cached_origin = 0;
  std::uint64_t* cached_mark = nullptr;
  std::uint64_t self_origin = 0;
  std::uint64_t self_seq = 0;
  std::uint64_t epoch = 0;
  // Created on the first write, so open() of an unchanged table writes
  // nothing (no segment, no fsync).
  std::unique_ptr<WalWriter> wal;
  // DIR/LOCK, held from open to close: two tables on one directory would
  // interleave WAL segments and checkpoints.
  std::unique_ptr<FileLock> lock;
  WalOptions wal_opts;
  std::uint64_t next_segment = 1;
  RecoveryReport report;
  // Set by open_observed() for the duration of recover() only.
  const ReplayObserver* observer = nullptr;
  Status failed;
  bool closed = false;

  Status usable() const {
    if (!failed.ok()) return failed;
    if (closed) {
      return Status::failed_precondition("PersistentTable", "table is closed");
    }
    return Status();
  }

  Status check_addr(const char* op, Addr addr) const {
    if (opt.num_contexts != 0 && addr >= opt.num_contexts) {
      return Status::out_of_range(std::string("PersistentTable::") + op,
                                  "address " + std::to_string(addr) +
                                      " >= num_contexts " +
                                      std::to_string(opt.num_contexts));
    }
    return Status();
  }

  // kOutOfRange naming the value and the width if `v` does not fit the
  // table's words (always fits for 64-bit words).
  Status check_value(const char* op, std::uint64_t v) const {
    if (table.fits(v)) return Status();
    return Status::out_of_range(
        std::string("PersistentTable::") + op,
        "value " + codec::hex64(v) + " does not fit the table's " +
            std::to_string(static_cast<unsigned>(opt.word_bits)) +
            "-bit words (" + opt.shape().to_string() + ")");
  }
  // check_addr and check_value of every delta of a batch.
  Status check_batch(
      const char* op,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) const {
    // One branch-free pass (it vectorizes) finds whether any delta is out
    // of range; only then is the first one looked for, to name it.
    std::uint32_t max_addr = 0;
    std::uint64_t all_values = 0;
    for (const auto& [a, d] : deltas) {
      max_addr = std::max(max_addr, a);
      all_values |= d;
    }
    if ((opt.num_contexts == 0 || max_addr < opt.num_contexts) &&
        table.fits(all_values)) {
      return Status();
    }
    for (const auto& [a, d] : deltas) {
      ATOMIK_RETURN_IF_ERROR(check_addr(op, a));
      if (!table.fits(d)) return check_value(op, d);
    }
    return Status();
  }

  // The first WAL segment a new checkpoint keeps: a fresh one (the WAL is
  // rolled) or, with no WAL open, next_segment. A failed roll fails the
  // table and is returned.
  Result<std::uint64_t> roll_for_checkpoint();
  // load() and accum(): checks, logs and waits for one local record.
  Status write_local(const char* op, WalRecordType type, Addr addr,
                     std::uint64_t value);
  // apply() and apply_batch(): kInvalidArgument for seq 0 or this table's
  // own origin (its deltas come from load/accum, never from a peer).
  Status check_foreign(const char* op, OriginId origin, Seq seq) const;
  // kFailedPrecondition if `seq` leaves a gap after origin's mark.
  Status check_in_order(const char* op, OriginId origin, Seq seq);

  std::uint64_t mark_of(std::uint64_t origin) {
    if (cached_mark != nullptr && cached_origin == origin) return *cached_mark;
    auto it = marks.find(origin);
    if (it == marks.end()) return 0;
    cached_origin = origin;
    cached_mark = &it->second;
    return it->second;
  }
  void set_mark(std::uint64_t origin, std::uint64_t seq) {
    if (cached_mark == nullptr || cached_origin != origin) {
      cached_origin = origin;
      cached_mark = &marks[origin];
    }
    *cached_mark = seq;
  }

  storage::History& history(Addr addr) {
    auto it = undo.find(addr);
    if (it == undo.end()) {
      it = undo.emplace(addr, storage::History(opt.undo_levels)).first;
    }
    return it->second;
  }

  // Applies one change record (already known to be new). Fails only for a
  // record that does not fit the table (replay of a bad log).
  Status apply_record(const WalRecord& r) {
    if (opt.num_contexts != 0 && r.addr >= opt.num_contexts) {
      return check_addr(to_string(r.type), r.addr);
    }
    storage::AddrTarget target{&table, r.addr};
    switch (r.type) {
      case WalRecordType::kDelta:
        table.accum(r.addr, r.value);
        break;
      case WalRecordType::kLoad:
        table.load(r.addr, r.value);
        break;
      case WalRecordType::kUndoDelta:
        history(r.addr).apply(target, r.value);
        break;
      case WalRecordType::kUndo:
        if (!history(r.addr).undo(target)) {
          return Status::corruption("replay", "undo with empty undo history");
        }
        break;
      case WalRecordType::kRedo:
        if (!history(r.addr).redo(target)) {
          return Status::corruption("replay", "redo with empty redo history");
        }
        break;
      default:
        break;
    }
    set_mark(r.origin, r.seq);
    if (r.origin == self_origin) self_seq = r.seq;
    return Status();
  }

  // Starts the WAL segment for new records if not yet done. mu must be held.
  // A failure changes nothing (the call that needed it fails, retryable).
  Status ensure_wal() {
    if (wal) return Status();
    auto w = WalWriter::open(dir, next_segment, wal_opts);
    if (!w.ok()) {
      // A half-created segment (e.g. its header sync failed) is removed so a
      // retry can create it; kFailedPrecondition means it held data before.
      if (w.status().code() != Code::kFailedPrecondition) {
        (void)fs->remove(dir + "/" + wal_segment_name(next_segment));
      }
      return w.status();
    }
    wal = std::move(*w);
    return Status();
  }

  // Logs a local change and applies it; returns its Lsn. mu must be held.
  Result<Lsn> log_local(WalRecordType type, Addr addr, std::uint64_t value) {
    ATOMIK_RETURN_IF_ERROR(ensure_wal());
    const WalRecord r{.type = type,
                      .origin = self_origin,
                      .seq = self_seq + 1,
                      .addr = addr,
                      .value = value};
    Result<Lsn> lsn = wal->append_async(r);
    if (!lsn.ok()) {
      failed = lsn.status();
      return lsn;
    }
    const Status s = apply_record(r);
    ATOMIK_DCHECK(s.ok());
    (void)s;
    return lsn;
  }

  // undo(addr) (type kUndo) or redo(addr) (kRedo): logs the step, applies
  // it, waits for it to be acknowledged and returns the delta it applied;
  // std::nullopt (nothing logged) when there is nothing to undo or redo.
  Result<std::optional<std::uint64_t>> history_step(Addr addr,
                                                    WalRecordType type) {
    const bool is_undo = type == WalRecordType::kUndo;
    Lsn lsn = 0;
    std::uint64_t d = 0;
    {
      std::lock_guard<std::mutex> lk(mu);
      ATOMIK_RETURN_IF_ERROR(usable());
      auto it = undo.find(addr);
      if (it == undo.end() ||
          (is_undo ? it->second.undo_depth() : it->second.redo_depth()) == 0) {
        return std::optional<std::uint64_t>();
      }
      d = is_undo ? it->second.undo_deltas().back()
                  : it->second.redo_deltas().front();
      auto l = log_local(type, addr, 0);
      if (!l.ok()) return l.status();
      lsn = *l;
    }
    ATOMIK_RETURN_IF_ERROR(wait(lsn));
    return std::optional<std::uint64_t>(d);
  }

  Status wait(Lsn lsn) {
    Status s = wal->wait_durable(lsn);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lk(mu);
      if (failed.ok()) failed = s;
    }
    return s;
  }

  CheckpointData checkpoint_data(std::uint64_t e, std::uint64_t first) const {
    CheckpointData d;
    d.epoch = e;
    d.wal_first_segment = first;
    d.self_origin = self_origin;
    d.self_seq = self_seq;
    d.num_contexts = opt.num_contexts;
    d.shape = table.shape();
    d.states = table.snapshot();
    d.origins.assign(marks.begin(), marks.end());
    for (const auto& [a, h] : undo) {
      if (h.undo_depth() == 0 && h.redo_depth() == 0) continue;
      d.undo.push_back(UndoState{a, static_cast<std::uint32_t>(h.max_levels()),
                                 h.undo_deltas(), h.redo_deltas()});
    }
    return d;
  }

  void delete_segments_below(std::uint64_t first) {
    auto segs = list_wal_segments(dir, fs);
    if (!segs.ok()) return;
    for (std::uint64_t n : *segs) {
      if (n < first) (void)fs->remove(dir + "/" + wal_segment_name(n));
    }
    (void)fs->sync_dir(dir);
  }

  // Replays one record (any type) read from the WAL at `place`
  // (persistent_recover.cpp).
  [[gnu::noinline]] Status replay_record(const WalRecord& r,
                                         const WalPlace& place);
  // Replays one DELTA_RUN frame: entries at or below the origin's mark are
  // duplicates, the rest are applied. A run that skips ahead of the mark is
  // reported as a gap (like a single record) and applied. An address
  // outside the table fails the replay, naming the frame; nothing of the
  // run is applied then.
  Status replay_run(const WalDeltaRun& run, const WalPlace& place);
  // Validates every option (nothing on disk is touched before this).
  Status check_options() const;

  // Logs `deltas` of `origin` (seqs first, first + 1, ...) as one batch and
  // applies them; returns the batch's Lsn. mu must be held, the addresses
  // checked and the seqs new. A failed append fails the table.
  Result<Lsn> log_run(
      std::uint64_t origin, std::uint64_t first,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
    ATOMIK_RETURN_IF_ERROR(ensure_wal());
    Result<Lsn> lsn = wal->append_run_async(origin, first, deltas);
    if (!lsn.ok()) {
      failed = lsn.status();
      return lsn;
    }
    table.accum_run(deltas);
    const std::uint64_t last = first + (deltas.size() - 1);
    set_mark(origin, last);
    if (origin == self_origin) self_seq = last;
    return lsn;
  }

  Status recover();
};

}  // namespace atomik
