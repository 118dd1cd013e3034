// SPDX-License-Identifier: Apache-2.0
// PersistentTable: DeltaTable + UndoHistory per address + WAL + checkpoints.
//
// Per-origin dedup uses a contiguous high-water mark per origin (the marks of
// DeltaStream's VersionVector, include/atomik/stream.hpp): the log is replayed
// in order, so no out-of-order window is needed here.
#include "atomik/persistent_table.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>

#include "atomik/checkpoint.hpp"
#include "atomik/table.hpp"
#include "atomik/undo.hpp"
#include "storage/wal_record.hpp"
#include "storage/wal_scan.hpp"

namespace atomik {
namespace {

using Table = DeltaTable<>;
using History = UndoHistory<>;

// Lets an UndoHistory drive one address of a table.
struct AddrTarget {
  Table* table;
  Addr addr;
  void accum(std::uint64_t d) { (void)table->accum(addr, d); }
  void rollback(std::uint64_t d) { (void)table->rollback(addr, d); }
};

std::uint64_t random_origin() {
  std::random_device rd;
  std::uint64_t o = 0;
  while (o == 0) o = (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
  return o;
}

}  // namespace

struct PersistentTable::Impl {
  std::string dir;
  PersistentOptions opt;
  FileSystem* fs = nullptr;
  mutable std::mutex mu;
  Table table = Table::sparse();
  std::map<Addr, History> undo;
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

  History& history(Addr addr) {
    auto it = undo.find(addr);
    if (it == undo.end()) {
      it = undo.emplace(addr, History(opt.undo_levels)).first;
    }
    return it->second;
  }

  // Applies one change record (already known to be new). Fails only for a
  // record that does not fit the table (replay of a bad log).
  Status apply_record(const WalRecord& r) {
    if (opt.num_contexts != 0 && r.addr >= opt.num_contexts) {
      return check_addr(to_string(r.type), r.addr);
    }
    AddrTarget target{&table, r.addr};
    switch (r.type) {
      case WalRecordType::kDelta:
        (void)table.accum(r.addr, r.value);
        break;
      case WalRecordType::kLoad:
        (void)table.load(r.addr, r.value);
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

  // Replays one record (any type) read from the WAL at `place`.
  [[gnu::noinline]] Status replay_record(const WalRecord& r,
                                         const WalPlace& place) {
    if (r.type == WalRecordType::kSyncMark || r.type == WalRecordType::kSeal ||
        r.type == WalRecordType::kEpoch) {
      return Status();
    }
    const std::uint64_t mark = mark_of(r.origin);
    if (r.seq <= mark) {
      ++report.duplicates;
      return Status();
    }
    if (r.seq != mark + 1) {
      report.problems.push_back(
          "gap: " + place.file + " offset " + std::to_string(place.offset) +
          ": origin " + walfmt::hex(r.origin, 16) + " seq " +
          std::to_string(r.seq) + " follows " + std::to_string(mark));
    }
    const Status s = apply_record(r);
    if (!s.ok()) {
      return Status::corruption("WAL", place.file + ": record at offset " +
                                           std::to_string(place.offset) + ": " +
                                           std::string(s.message()));
    }
    if (observer != nullptr) {
      (*observer)(r.type, r.origin, r.seq, r.addr, r.value);
    }
    return Status();
  }

  // Replays one DELTA_RUN frame: entries at or below the origin's mark are
  // duplicates, the rest are applied. A run that skips ahead of the mark is
  // reported as a gap (like a single record) and applied. An address
  // outside the table fails the replay, naming the frame; nothing of the
  // run is applied then.
  Status replay_run(const WalDeltaRun& run, const WalPlace& place) {
    const std::uint64_t mark = mark_of(run.origin);
    const std::uint64_t last = run.first_seq + (run.count - 1);
    if (last <= mark) {
      report.duplicates += run.count;
      return Status();
    }
    std::uint32_t skip = 0;
    if (run.first_seq > mark + 1) {
      report.problems.push_back(
          "gap: " + place.file + " offset " + std::to_string(place.offset) +
          ": origin " + walfmt::hex(run.origin, 16) + " seq " +
          std::to_string(run.first_seq) + " follows " + std::to_string(mark));
    } else {
      skip = static_cast<std::uint32_t>(mark + 1 - run.first_seq);
      report.duplicates += skip;
    }
    if (opt.num_contexts != 0) {
      for (std::uint32_t i = skip; i < run.count; ++i) {
        if (run.addr(i) >= opt.num_contexts) {
          return Status::corruption(
              "WAL", place.file + ": delta run at offset " +
                         std::to_string(place.offset) + ": entry " +
                         std::to_string(i) + ": address " +
                         std::to_string(run.addr(i)) + " >= num_contexts " +
                         std::to_string(opt.num_contexts));
        }
      }
    }
    for (std::uint32_t i = skip; i < run.count; ++i) {
      (void)table.accum(run.addr(i), run.delta(i));
    }
    if (observer != nullptr) {
      for (std::uint32_t i = skip; i < run.count; ++i) {
        (*observer)(WalRecordType::kDelta, run.origin, run.first_seq + i,
                    run.addr(i), run.delta(i));
      }
    }
    set_mark(run.origin, last);
    if (run.origin == self_origin) self_seq = last;
    return Status();
  }

  // Folds checked deltas into the table, prefetching a dense table's
  // contexts a few deltas ahead (random addresses: a cache miss each).
  void apply_deltas(
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
    constexpr std::size_t kAhead = 8;
    const auto* base = table.is_dense() ? table.dense_data() : nullptr;
    for (std::size_t i = 0; i < deltas.size(); ++i) {
      if (base != nullptr && i + kAhead < deltas.size()) {
        __builtin_prefetch(base + deltas[i + kAhead].first, 1, 3);
      }
      (void)table.accum(deltas[i].first, deltas[i].second);
    }
  }

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
    apply_deltas(deltas);
    const std::uint64_t last = first + (deltas.size() - 1);
    set_mark(origin, last);
    if (origin == self_origin) self_seq = last;
    return lsn;
  }

  Status recover();
};

Status PersistentTable::Impl::recover() {
  ATOMIK_RETURN_IF_ERROR(fs->create_dirs(dir));
  auto l = fs->lock_file(dir + "/" + kLockFileName);
  if (!l.ok()) return l.status();
  lock = std::move(*l);
  const std::string cp_path = dir + "/" + kCheckpointFileName;
  if (fs->exists(dir + "/" + kCheckpointTempName)) {
    (void)fs->remove(dir + "/" + kCheckpointTempName);
  }
  CheckpointData cp;
  auto read = read_checkpoint(*fs, cp_path);
  if (read.ok()) {
    cp = std::move(*read);
  } else if (read.status().is_not_found()) {
    auto segs = list_wal_segments(dir, fs);
    if (!segs.ok()) return segs.status();
    if (!segs->empty()) {
      return Status::corruption(
          "PersistentTable::open",
          "'" + cp_path + "' is missing but " + std::to_string(segs->size()) +
              " WAL segments exist (a table always has a checkpoint)");
    }
    cp.self_origin = opt.origin != 0 ? opt.origin : random_origin();
    cp.num_contexts = opt.num_contexts;
    ATOMIK_RETURN_IF_ERROR(write_checkpoint(*fs, dir, cp));
  } else {
    return read.status();
  }
  if (cp.num_contexts != opt.num_contexts) {
    return Status::invalid_argument(
        "PersistentTable::open",
        "'" + dir + "' holds a table of num_contexts " +
            std::to_string(cp.num_contexts) + ", options say " +
            std::to_string(opt.num_contexts));
  }
  if (cp.num_contexts != 0) {
    auto t = Table::dense(cp.num_contexts);
    if (!t.ok()) return t.status();
    table = std::move(*t);
  }
  for (const auto& [a, v] : cp.states) (void)table.load(a, v);
  marks.insert(cp.origins.begin(), cp.origins.end());
  self_origin = cp.self_origin;
  self_seq = cp.self_seq;
  epoch = cp.epoch;
  for (const UndoState& u : cp.undo) {
    auto h = History::restore(u.max_levels, u.undo, u.redo);
    if (!h.ok()) return h.status().with_context("checkpoint " + cp_path);
    undo.emplace(u.addr, std::move(*h));
  }

  // Inlined into the scan (walscan::scan_wal): no std::function per record.
  // The common case, a delta in order at a valid address, takes no switch,
  // no undo history and the cached mark; everything else goes out of line.
  auto visit = [&](const WalRecord& r, const WalPlace& place) -> Status {
    if (r.type == WalRecordType::kDelta) {
      if (cached_mark == nullptr || cached_origin != r.origin) {
        (void)mark_of(r.origin);  // caches it if the origin is known
      }
      if (cached_mark != nullptr && cached_origin == r.origin &&
          r.seq == *cached_mark + 1 &&
          (opt.num_contexts == 0 || r.addr < opt.num_contexts)) {
        (void)table.accum(r.addr, r.value);
        *cached_mark = r.seq;
        if (r.origin == self_origin) self_seq = r.seq;
        if (observer != nullptr) {
          (*observer)(r.type, r.origin, r.seq, r.addr, r.value);
        }
        return Status();
      }
    }
    return replay_record(r, place);
  };
  auto visit_run = [&](const WalDeltaRun& run,
                       const WalPlace& place) -> Status {
    return replay_run(run, place);
  };
  ATOMIK_RETURN_IF_ERROR(walscan::scan_wal(
      dir, cp.wal_first_segment, opt.recovery, visit, visit_run, &report, *fs));
  for (std::uint64_t n : report.covered_segments) {
    (void)fs->remove(dir + "/" + wal_segment_name(n));
  }

  // Make the old last segment a proper non-last one: cut its torn tail and
  // seal it, so the next recovery reads it as fully synced.
  std::uint64_t next = cp.wal_first_segment;
  if (report.last_segment != 0) {
    const std::string last = dir + "/" + wal_segment_name(report.last_segment);
    next = report.last_segment + 1;
    if (report.first_bad) {
      // kSkip dropped data: retire every segment with a checkpoint below.
    } else if (report.last_end == 0) {
      ATOMIK_RETURN_IF_ERROR(fs->remove(last));
      ATOMIK_RETURN_IF_ERROR(fs->sync_dir(dir));
      next = report.last_segment;
    } else if (!report.last_sealed) {
      if (report.torn) {
        ATOMIK_RETURN_IF_ERROR(fs->truncate(last, report.last_end));
      }
      auto f = fs->open_writable(last, /*truncate=*/false);
      if (!f.ok()) return f.status();
      std::vector<std::byte> m;
      walfmt::append_frame(
          m, WalRecord{.type = WalRecordType::kSeal, .value = report.last_end});
      ATOMIK_RETURN_IF_ERROR((*f)->append(m));
      ATOMIK_RETURN_IF_ERROR((*f)->sync());
      ATOMIK_RETURN_IF_ERROR((*f)->close());
    }
  }
  wal_opts.sync = opt.sync;
  wal_opts.group_records = opt.group_records;
  wal_opts.group_interval_us = opt.group_interval_us;
  wal_opts.segment_bytes = opt.segment_bytes;
  wal_opts.fs = fs;
  if (wal_opts.sync == SyncPolicy::kGroup && wal_opts.group_records == 0) {
    return Status::invalid_argument("PersistentTable::open",
                                    "group_records is 0");
  }
  if (wal_opts.segment_bytes < 4096) {
    return Status::invalid_argument("PersistentTable::open",
                                    "segment_bytes < 4096");
  }
  next_segment = next;
  if (report.first_bad) {
    ATOMIK_RETURN_IF_ERROR(
        write_checkpoint(*fs, dir, checkpoint_data(epoch, next)));
    delete_segments_below(next);
  }
  return Status();
}

PersistentTable::PersistentTable(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

PersistentTable::~PersistentTable() {
  if (impl_ && impl_->wal) (void)impl_->wal->close();
}

Result<std::unique_ptr<PersistentTable>> PersistentTable::open(
    const std::string& dir, const PersistentOptions& options) {
  return open_observed(dir, options, ReplayObserver());
}

Result<std::unique_ptr<PersistentTable>> PersistentTable::open_observed(
    const std::string& dir, const PersistentOptions& options,
    const ReplayObserver& observer) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir.empty() ? std::string(kDefaultDataDir) : dir;
  impl->opt = options;
  impl->fs = options.fs != nullptr ? options.fs : &FileSystem::posix();
  impl->observer = observer ? &observer : nullptr;
  const Status s = impl->recover();
  impl->observer = nullptr;
  if (!s.ok()) {
    if (impl->wal) (void)impl->wal->close();
    return s.with_context("PersistentTable::open '" + impl->dir + "'");
  }
  return std::unique_ptr<PersistentTable>(new PersistentTable(std::move(impl)));
}

Status PersistentTable::load(std::uint32_t addr, std::uint64_t value) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("load", addr));
    auto l = impl_->log_local(WalRecordType::kLoad, addr, value);
    if (!l.ok()) return l.status();
    lsn = *l;
  }
  return impl_->wait(lsn);
}

Status PersistentTable::accum(std::uint32_t addr, std::uint64_t delta) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("accum", addr));
    auto l = impl_->log_local(WalRecordType::kDelta, addr, delta);
    if (!l.ok()) return l.status();
    lsn = *l;
  }
  return impl_->wait(lsn);
}

Result<bool> PersistentTable::apply(std::uint64_t origin, std::uint64_t seq,
                                    std::uint32_t addr, std::uint64_t delta) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    if (seq == 0) {
      return Status::invalid_argument("PersistentTable::apply", "seq 0");
    }
    if (origin == impl_->self_origin) {
      return Status::invalid_argument(
          "PersistentTable::apply",
          "origin is this table's own origin " + walfmt::hex(origin, 16));
    }
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("apply", addr));
    ATOMIK_RETURN_IF_ERROR(impl_->ensure_wal());
    const std::uint64_t mark = impl_->mark_of(origin);
    if (seq <= mark) return false;
    if (seq != mark + 1) {
      return Status::failed_precondition(
          "PersistentTable::apply",
          "origin " + walfmt::hex(origin, 16) + ": seq " + std::to_string(seq) +
              " skips ahead of " + std::to_string(mark + 1) +
              " (deliver in order)");
    }
    const WalRecord r{.type = WalRecordType::kDelta,
                      .origin = origin,
                      .seq = seq,
                      .addr = addr,
                      .value = delta};
    auto l = impl_->wal->append_async(r);
    if (!l.ok()) {
      impl_->failed = l.status();
      return l.status();
    }
    (void)impl_->apply_record(r);
    lsn = *l;
  }
  ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return true;
}

// Added for Node.
Result<std::uint64_t> PersistentTable::accum_batch(
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
    bool wait) {
  Lsn lsn = 0;
  std::uint64_t first = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    for (const auto& [a, d] : deltas) {
      ATOMIK_RETURN_IF_ERROR(impl_->check_addr("accum_batch", a));
    }
    first = impl_->self_seq + 1;
    if (!deltas.empty()) {
      auto l = impl_->log_run(impl_->self_origin, first, deltas);
      if (!l.ok()) return l.status();
      lsn = *l;
    }
  }
  if (wait && lsn != 0) ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return first;
}

// Added for Node.
Result<std::uint64_t> PersistentTable::apply_batch(
    std::uint64_t origin, std::uint64_t base_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
    bool wait) {
  Lsn lsn = 0;
  std::uint64_t applied = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    if (base_seq == 0) {
      return Status::invalid_argument("PersistentTable::apply_batch", "seq 0");
    }
    if (origin == impl_->self_origin) {
      return Status::invalid_argument(
          "PersistentTable::apply_batch",
          "origin is this table's own origin " + walfmt::hex(origin, 16));
    }
    for (const auto& [a, d] : deltas) {
      ATOMIK_RETURN_IF_ERROR(impl_->check_addr("apply_batch", a));
    }
    ATOMIK_RETURN_IF_ERROR(impl_->ensure_wal());
    const std::uint64_t mark = impl_->mark_of(origin);
    if (base_seq > mark + 1) {
      return Status::failed_precondition(
          "PersistentTable::apply_batch",
          "origin " + walfmt::hex(origin, 16) + ": seq " +
              std::to_string(base_seq) + " skips ahead of " +
              std::to_string(mark + 1) + " (deliver in order)");
    }
    if (!deltas.empty() && base_seq + (deltas.size() - 1) < base_seq) {
      return Status::invalid_argument(
          "PersistentTable::apply_batch",
          "seqs from " + std::to_string(base_seq) + " overflow 64 bits");
    }
    const auto skip = static_cast<std::size_t>(
        std::min<std::uint64_t>(mark + 1 - base_seq, deltas.size()));
    if (skip < deltas.size()) {
      auto l = impl_->log_run(origin, base_seq + skip, deltas.subspan(skip));
      if (!l.ok()) return l.status();
      lsn = *l;
      applied = deltas.size() - skip;
    }
  }
  if (wait && lsn != 0) ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return applied;
}

Result<std::uint64_t> PersistentTable::restore_own_batch(
    std::uint64_t base_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
    bool wait) {
  Lsn lsn = 0;
  std::uint64_t applied = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    Impl& m = *impl_;
    ATOMIK_RETURN_IF_ERROR(m.usable());
    if (base_seq == 0 || base_seq > m.self_seq + 1) {
      return Status::failed_precondition("PersistentTable::restore_own_batch",
                                         "seq " + std::to_string(base_seq) +
                                             " does not follow own seq " +
                                             std::to_string(m.self_seq));
    }
    for (const auto& [a, d] : deltas) {
      ATOMIK_RETURN_IF_ERROR(m.check_addr("restore_own_batch", a));
    }
    const auto skip = static_cast<std::size_t>(
        std::min<std::uint64_t>(m.self_seq + 1 - base_seq, deltas.size()));
    if (skip < deltas.size()) {
      auto l = m.log_run(m.self_origin, base_seq + skip, deltas.subspan(skip));
      if (!l.ok()) return l.status();
      lsn = *l;
      applied = deltas.size() - skip;
    }
  }
  if (wait && lsn != 0) ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return applied;
}

// Added for Node.
Status PersistentTable::install_state(
    std::span<const std::pair<std::uint32_t, std::uint64_t>> states,
    std::span<const std::pair<std::uint64_t, std::uint64_t>> marks) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  for (const auto& [a, v] : states) {
    ATOMIK_RETURN_IF_ERROR(m.check_addr("install_state", a));
  }
  std::map<std::uint64_t, std::uint64_t> nm;
  for (const auto& [o, k] : marks) {
    if (k != 0) nm[o] = k;
  }
  const auto own = nm.find(m.self_origin);
  const std::uint64_t own_mark = own == nm.end() ? 0 : own->second;
  if (own_mark != m.self_seq) {
    return Status::failed_precondition(
        "PersistentTable::install_state",
        "the state gives this table's own origin mark " +
            std::to_string(own_mark) + ", its own seq is " +
            std::to_string(m.self_seq) + " (re-apply own deltas first)");
  }
  Table t = Table::sparse();
  if (m.opt.num_contexts != 0) {
    auto d = Table::dense(m.opt.num_contexts);
    if (!d.ok()) return d.status();
    t = std::move(*d);
  }
  for (const auto& [a, v] : states) (void)t.load(a, v);
  std::uint64_t first = m.next_segment;
  if (m.wal) {
    auto seg = m.wal->roll();
    if (!seg.ok()) {
      m.failed = seg.status();
      return seg.status();
    }
    first = *seg;
  }
  CheckpointData d = m.checkpoint_data(m.epoch, first);
  d.states = t.snapshot();
  d.origins.assign(nm.begin(), nm.end());
  d.undo.clear();
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.table = std::move(t);
  m.marks = std::move(nm);
  m.cached_mark = nullptr;
  m.undo.clear();
  m.delete_segments_below(first);
  return Status();
}

// Added for Replica incarnations.
Status PersistentTable::reincarnate(std::uint64_t new_origin) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  if (new_origin == 0 || m.marks.contains(new_origin) ||
      new_origin == m.self_origin) {
    return Status::invalid_argument(
        "PersistentTable::reincarnate",
        "origin " + std::to_string(new_origin) +
            " is 0 or already known to the table '" + m.dir + "'");
  }
  std::uint64_t first = m.next_segment;
  if (m.wal) {
    auto seg = m.wal->roll();
    if (!seg.ok()) {
      m.failed = seg.status();
      return seg.status();
    }
    first = *seg;
  }
  CheckpointData d = m.checkpoint_data(m.epoch, first);
  d.self_origin = new_origin;
  d.self_seq = 0;
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.self_origin = new_origin;
  m.self_seq = 0;
  m.cached_mark = nullptr;
  m.delete_segments_below(first);
  return Status();
}

Result<std::uint64_t> PersistentTable::read(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (!impl_->failed.ok()) return impl_->failed;
  return impl_->table.read(addr);
}

Result<std::vector<std::pair<std::uint32_t, std::uint64_t>>>
PersistentTable::snapshot() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (!impl_->failed.ok()) return impl_->failed;
  return impl_->table.snapshot();
}

Status PersistentTable::accum_undoable(std::uint32_t addr,
                                       std::uint64_t delta) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("accum_undoable", addr));
    auto l = impl_->log_local(WalRecordType::kUndoDelta, addr, delta);
    if (!l.ok()) return l.status();
    lsn = *l;
  }
  return impl_->wait(lsn);
}

Result<std::optional<std::uint64_t>> PersistentTable::undo(std::uint32_t addr) {
  return impl_->history_step(addr, WalRecordType::kUndo);
}

Result<std::optional<std::uint64_t>> PersistentTable::redo(std::uint32_t addr) {
  return impl_->history_step(addr, WalRecordType::kRedo);
}

std::size_t PersistentTable::undo_depth(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->undo.find(addr);
  return it == impl_->undo.end() ? 0 : it->second.undo_depth();
}

std::size_t PersistentTable::redo_depth(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->undo.find(addr);
  return it == impl_->undo.end() ? 0 : it->second.redo_depth();
}

Result<EpochState> PersistentTable::swap() {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  // Nothing logged since open: the checkpoint covers up to next_segment.
  std::uint64_t first = m.next_segment;
  if (m.wal) {
    auto seg = m.wal->roll();
    if (!seg.ok()) {
      m.failed = seg.status();
      return seg.status();
    }
    first = *seg;
  }
  const std::uint64_t e = m.epoch + 1;
  CheckpointData d = m.checkpoint_data(e, first);
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.epoch = e;
  if (m.wal) {
    auto l = m.wal->append_async(
        WalRecord{.type = WalRecordType::kEpoch, .value = e});
    if (!l.ok()) {
      m.failed = l.status();
      return l.status();
    }
  }
  m.delete_segments_below(first);
  return EpochState{e, std::move(d.states)};
}

Status PersistentTable::sync() {
  WalWriter* w = nullptr;  // created once, never replaced while open
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    w = impl_->wal.get();
  }
  if (w == nullptr) return Status();
  Status s = w->sync();
  if (!s.ok()) {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->failed = s;
  }
  return s;
}

Status PersistentTable::close() {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (impl_->closed) return impl_->failed;
  impl_->closed = true;
  Status s;
  if (impl_->wal) s = impl_->wal->close();
  impl_->lock.reset();  // after the WAL's last write
  if (!s.ok() && impl_->failed.ok()) impl_->failed = s;
  return s;
}

std::uint64_t PersistentTable::epoch() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->epoch;
}
std::uint64_t PersistentTable::origin() const { return impl_->self_origin; }
std::vector<std::pair<std::uint64_t, std::uint64_t>>
PersistentTable::version_vector() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return {impl_->marks.begin(), impl_->marks.end()};
}
std::uint64_t PersistentTable::mark(std::uint64_t origin) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->marks.find(origin);
  return it == impl_->marks.end() ? 0 : it->second;
}
std::size_t PersistentTable::origin_count() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->marks.size();
}
const RecoveryReport& PersistentTable::recovery_report() const {
  return impl_->report;
}
WalWriterStats PersistentTable::wal_stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->wal ? impl_->wal->stats() : WalWriterStats();
}
const std::string& PersistentTable::dir() const { return impl_->dir; }

}  // namespace atomik
