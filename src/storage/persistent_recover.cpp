// SPDX-License-Identifier: Apache-2.0
// PersistentTable: open() and recovery (checkpoint + WAL replay, reported to
// a Replica's observer) and restore_own_batch(), the other way a table gets
// its own deltas back after losing them.
#include <algorithm>

#include "codec/hex.hpp"
#include "storage/persistent_table_impl.hpp"
#include "sync/origin.hpp"

namespace atomik {
// Replays one record (any type) read from the WAL at `place`.
Status PersistentTable::Impl::replay_record(const WalRecord& r,
                                            const WalPlace& place) {
  if (r.type == storage::kSyncMark || r.type == storage::kSeal ||
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
        ": origin " + codec::hex64(r.origin) + " seq " + std::to_string(r.seq) +
        " follows " + std::to_string(mark));
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
Status PersistentTable::Impl::replay_run(const WalDeltaRun& run,
                                         const WalPlace& place) {
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
        ": origin " + codec::hex64(run.origin) + " seq " +
        std::to_string(run.first_seq) + " follows " + std::to_string(mark));
  } else {
    skip = static_cast<std::uint32_t>(mark + 1 - run.first_seq);
    report.duplicates += skip;
  }
  if (opt.num_contexts != 0) {
    for (std::uint32_t i = skip; i < run.count; ++i) {
      if (storage::run_addr(run, i) >= opt.num_contexts) {
        return Status::corruption(
            "WAL", place.file + ": delta run at offset " +
                       std::to_string(place.offset) + ": entry " +
                       std::to_string(i) + ": address " +
                       std::to_string(storage::run_addr(run, i)) +
                       " >= num_contexts " + std::to_string(opt.num_contexts));
      }
    }
  }
  for (std::uint32_t i = skip; i < run.count; ++i) {
    table.accum(storage::run_addr(run, i), storage::run_delta(run, i));
  }
  if (observer != nullptr) {
    for (std::uint32_t i = skip; i < run.count; ++i) {
      (*observer)(WalRecordType::kDelta, run.origin, run.first_seq + i,
                  storage::run_addr(run, i), storage::run_delta(run, i));
    }
  }
  set_mark(run.origin, last);
  if (run.origin == self_origin) self_seq = last;
  return Status();
}

Status PersistentTable::Impl::check_options() const {
  const char* where = "PersistentTable::open";
  ATOMIK_RETURN_IF_ERROR(validate_shape(opt.shape(), where));
  if (opt.num_contexts > DeltaTable<>::kMaxDenseContexts) {
    return Status::invalid_argument(
        where, "num_contexts " + std::to_string(opt.num_contexts) +
                   " > 2^32 (addresses are 32-bit)");
  }
  if (opt.sync == SyncPolicy::kGroup && opt.group_records == 0) {
    return Status::invalid_argument(where, "group_records is 0");
  }
  if (opt.segment_bytes < 4096) {
    return Status::invalid_argument(where, "segment_bytes < 4096");
  }
  return Status();
}

Status PersistentTable::Impl::recover() {
  // Before anything touches the disk: a bad option must not leave a
  // checkpoint written or a WAL tail truncated behind it.
  ATOMIK_RETURN_IF_ERROR(check_options());
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
    cp.self_origin = opt.origin != 0 ? opt.origin : sync::random_origin();
    cp.num_contexts = opt.num_contexts;
    cp.shape = opt.shape();
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
  if (cp.shape != opt.shape()) {
    return Status::failed_precondition(
        "PersistentTable::open", "'" + dir + "' holds a table of group " +
                                     cp.shape.to_string() + ", options say " +
                                     opt.shape().to_string());
  }
  auto t = storage::GroupTable::make(cp.shape, cp.num_contexts);
  if (!t.ok()) return t.status();
  table = std::move(*t);
  for (const auto& [a, v] : cp.states) table.load(a, v);
  marks.insert(cp.origins.begin(), cp.origins.end());
  self_origin = cp.self_origin;
  self_seq = cp.self_seq;
  epoch = cp.epoch;
  for (const UndoState& u : cp.undo) {
    auto h = storage::History::restore(u.max_levels, u.undo, u.redo);
    if (!h.ok()) return h.status().with_context("checkpoint " + cp_path);
    undo.emplace(u.addr, std::move(*h));
  }

  // Inlined into the scan (storage::scan_wal): no std::function per record.
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
        table.accum(r.addr, r.value);
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
  ATOMIK_RETURN_IF_ERROR(storage::scan_wal(dir, cp.wal_first_segment,
                                           opt.recovery, visit, visit_run,
                                           &report, *fs, &cp.shape));
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
      storage::append_frame(
          m, WalRecord{.type = storage::kSeal, .value = report.last_end});
      ATOMIK_RETURN_IF_ERROR((*f)->append(m));
      ATOMIK_RETURN_IF_ERROR((*f)->sync());
      ATOMIK_RETURN_IF_ERROR((*f)->close());
    }
  }
  wal_opts.sync = opt.sync;
  wal_opts.group_records = opt.group_records;
  wal_opts.group_interval_us = opt.group_interval_us;
  wal_opts.segment_bytes = opt.segment_bytes;
  wal_opts.table_group = cp.shape.group;
  wal_opts.word_bits = cp.shape.word_bits;
  wal_opts.fs = fs;
  next_segment = next;
  if (report.first_bad) {
    ATOMIK_RETURN_IF_ERROR(
        write_checkpoint(*fs, dir, checkpoint_data(epoch, next)));
    delete_segments_below(next);
  }
  return Status();
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
    ATOMIK_RETURN_IF_ERROR(m.check_batch("restore_own_batch", deltas));
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

}  // namespace atomik
