// SPDX-License-Identifier: Apache-2.0
// WalWriter: group commit through one background flusher thread.
//
// Appenders encode their frame into a shared buffer under mu_ and wait (per
// SyncPolicy) for the flusher. The flusher swaps the buffer out, write()s it
// with one call, fdatasyncs once for the whole batch, and wakes everyone the
// batch covered. While it syncs, new appends collect in the other buffer:
// that is the group commit. The first SYNC_MARK frame of a batch states how
// far the segment was synced before it (docs/format/wal.md).
//
// Coalescing: a DELTA record that continues the last frame in the buffer
// (same origin, next seq) is added to it, turning it into a DELTA_RUN of up
// to kMaxRunDeltas entries. Under group commit, consecutive accum()s of
// one table thus cost 12 bytes each on disk instead of 37, and recovery
// checks one checksum per run. The open run's checksum is written when the
// run is closed: before any other frame is added and before the flusher
// takes the buffer. Every append still gets its own Lsn; acknowledgement is
// per buffer, so a run is never partly acknowledged.
//
// Sync horizon: after every fdatasync that covers record bytes, the flusher
// first acknowledges the batch, then write()s (segment, synced_offset) to
// WAL_HORIZON without syncing it. WAL_HORIZON is fdatasynced at most once
// per kHorizonSyncInterval (also when idle), on every roll and on close, so
// acknowledgement costs one fdatasync, not two. This is sound because a
// horizon record is written only after the segment bytes it names are
// durable: a surviving record never names unsynced data, synced or not.
// A crash can lose the newest, unsynced horizon records; that only narrows
// detection to data older than the last horizon sync. Recovery compares the
// horizon with the segments it finds, so a cut or deleted last segment that
// removes such records is reported as lost synced data, not repaired as a
// torn tail. A failed horizon write or sync fails the writer (sticky error,
// later appends and close() report it) like any other failed write.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "atomik/wal.hpp"
#include "storage/wal_record.hpp"

namespace atomik {

using Clock = std::chrono::steady_clock;

struct WalWriter::Impl {
  FileSystem* fs = nullptr;
  std::string dir;
  WalOptions opt;

  std::mutex mu;
  std::condition_variable work_cv;  // the flusher waits here
  std::condition_variable done_cv;  // appenders wait here
  // Pending frames; the first kMarkFrameSize bytes are room for a SYNC_MARK.
  std::vector<std::byte> buf;
  std::vector<std::byte> spare;
  // The frame at the end of buf that a DELTA may extend (npos: none), its
  // origin, the seq that would continue it and its entry count (1: still a
  // DELTA frame, checksummed; more: a DELTA_RUN whose checksum is pending).
  static constexpr std::size_t kNoRun = ~std::size_t{0};
  std::size_t run_at = kNoRun;
  std::uint64_t run_origin = 0;
  std::uint64_t run_next_seq = 0;
  std::uint32_t run_count = 0;
  std::uint64_t pending = 0;
  std::uint64_t blocked = 0;  // appenders waiting for room in buf
  Clock::time_point first_pending;
  Lsn appended = 0;
  Lsn synced = 0;             // covered by a completed fdatasync
  std::atomic<Lsn> acked{0};  // acknowledged (per policy)
  Lsn sync_target = 0;        // sync() wants everything up to here
  std::uint64_t roll_requests = 0;
  std::uint64_t rolls_done = 0;
  bool closing = false;
  bool stopped = false;
  Status error;  // sticky
  WalWriterStats stats;
  std::atomic<std::uint64_t> segment{0};
  std::thread flusher;

  // Owned by the flusher thread (and by open()/close() when it is not running).
  std::unique_ptr<WritableFile> file;
  std::uint64_t synced_offset = 0;
  std::uint64_t marked_offset = 0;
  std::unique_ptr<WritableFile> horizon;  // WAL_HORIZON, open for appends
  std::uint64_t horizon_segment = 0;      // the last position written to it
  std::uint64_t horizon_offset = 0;
  std::uint64_t noted_segment = 0;  // the last position known durable
  std::uint64_t noted_offset = 0;
  bool horizon_dirty = false;  // written since its last fdatasync
  Clock::time_point horizon_synced_at;
  // How long a written horizon record may stay unsynced. Bounds the window
  // of acknowledged data whose loss recovery could miss (docs/format/wal.md).
  static constexpr std::chrono::milliseconds kHorizonSyncInterval{10};
  // Flusher-side counters, folded into stats under mu.
  std::uint64_t f_syncs = 0, f_batches = 0, f_bytes = 0, f_segments = 0;
  WalSyncHistogram f_sync_time;

  std::string path(std::uint64_t n) const {
    return dir + "/" + wal_segment_name(n);
  }

  void reset_buffer(std::vector<std::byte>& b) {
    b.clear();
    b.resize(storage::kMarkFrameSize);
  }

  Status start_segment(std::uint64_t n) {
    const std::string p = path(n);
    auto f = fs->open_writable(p, /*truncate=*/false);
    if (!f.ok()) return f.status();
    if ((*f)->size() != 0) {
      return Status::failed_precondition(
          "WalWriter: segment '" + p + "'",
          "already holds " + std::to_string((*f)->size()) + " bytes");
    }
    std::vector<std::byte> h;
    storage::append_header(
        h, n, TableShape{.group = opt.table_group, .word_bits = opt.word_bits});
    ATOMIK_RETURN_IF_ERROR((*f)->append(h));
    ATOMIK_RETURN_IF_ERROR((*f)->sync());
    ATOMIK_RETURN_IF_ERROR(fs->sync_dir(dir));
    file = std::move(*f);
    segment.store(n);
    synced_offset = marked_offset = storage::kHeaderSize;
    f_bytes += h.size();
    ++f_syncs;
    ++f_segments;
    return Status();
  }

  Status sync_file() {
    const Clock::time_point t0 = Clock::now();
    ATOMIK_RETURN_IF_ERROR(file->sync());
    f_sync_time.add(std::chrono::duration<double>(Clock::now() - t0).count());
    ++f_syncs;
    synced_offset = file->size();
    note_horizon();
    return Status();
  }

  std::string horizon_path() const {
    return dir + "/" + storage::kHorizonFileName;
  }

  // Opens WAL_HORIZON for appends. fresh: emptied and synced first, as
  // WalWriter::open does. Recovery has already compared the old horizon
  // with the segments; a stale position could name a segment number the
  // new writer reuses (after a deleted last segment) and be mistaken for a
  // later loss. Its directory entry is made durable by start_segment's
  // sync_dir, which follows.
  Status open_horizon(bool fresh) {
    auto h = fs->open_writable(horizon_path(), /*truncate=*/fresh);
    if (!h.ok()) return h.status();
    if (fresh) ATOMIK_RETURN_IF_ERROR((*h)->sync());
    horizon = std::move(*h);
    return Status();
  }

  // Remembers that segment bytes up to synced_offset are durable; the
  // horizon file learns it in write_horizon(), after acknowledgement. Only
  // positions past the header count: an empty segment holds nothing to
  // lose.
  void note_horizon() {
    if (synced_offset <= storage::kHeaderSize) return;
    noted_segment = segment.load();
    noted_offset = synced_offset;
  }

  // Appends the noted position to WAL_HORIZON (write only, no sync) and
  // syncs the file when `force` or kHorizonSyncInterval has passed since
  // its last sync. Called by the flusher after the batch is acknowledged,
  // never while an appender waits for it. Once the file reaches
  // kHorizonRewriteBytes (about 2,700 records) it is rewritten whole (tmp,
  // sync, rename, sync_dir): three syncs per ~2,700 noted positions, which
  // also count as a horizon sync.
  Status write_horizon(bool force, Clock::time_point now) {
    if (noted_segment != horizon_segment || noted_offset != horizon_offset) {
      std::vector<std::byte> rec;
      storage::append_horizon(rec, noted_segment, noted_offset);
      if (horizon->size() + rec.size() > storage::kHorizonRewriteBytes) {
        const std::string tmp = horizon_path() + ".tmp";
        auto t = fs->open_writable(tmp, /*truncate=*/true);
        if (!t.ok()) return t.status();
        ATOMIK_RETURN_IF_ERROR((*t)->append(rec));
        ATOMIK_RETURN_IF_ERROR((*t)->sync());
        ATOMIK_RETURN_IF_ERROR((*t)->close());
        ATOMIK_RETURN_IF_ERROR(horizon->close());
        ATOMIK_RETURN_IF_ERROR(fs->rename(tmp, horizon_path()));
        ATOMIK_RETURN_IF_ERROR(fs->sync_dir(dir));
        ATOMIK_RETURN_IF_ERROR(open_horizon(false));
        horizon_dirty = false;
        horizon_synced_at = now;
      } else {
        ATOMIK_RETURN_IF_ERROR(horizon->append(rec));
        horizon_dirty = true;
      }
      horizon_segment = noted_segment;
      horizon_offset = noted_offset;
    }
    if (horizon_dirty && (force || horizon_sync_due(now))) {
      ATOMIK_RETURN_IF_ERROR(horizon->sync());
      horizon_dirty = false;
      horizon_synced_at = now;
    }
    return Status();
  }

  bool horizon_sync_due(Clock::time_point now) const {
    return now >= horizon_synced_at + kHorizonSyncInterval;
  }

  // Writes the closing SEAL (its value is its own offset) and syncs.
  Status seal() {
    if (synced_offset != file->size()) ATOMIK_RETURN_IF_ERROR(sync_file());
    std::vector<std::byte> m;
    storage::append_frame(
        m, WalRecord{.type = storage::kSeal, .value = file->size()});
    ATOMIK_RETURN_IF_ERROR(file->append(m));
    f_bytes += m.size();
    marked_offset = synced_offset;
    // Synced, but not noted in the horizon: the seal holds no record, so a
    // cut that removes only the seal loses nothing acknowledged.
    ATOMIK_RETURN_IF_ERROR(file->sync());
    ++f_syncs;
    synced_offset = file->size();
    return Status();
  }

  Status write_batch(std::vector<std::byte>& batch) {
    std::size_t start = storage::kMarkFrameSize;
    if (synced_offset > marked_offset) {
      storage::write_frame(batch.data(), WalRecord{.type = storage::kSyncMark,
                                                   .value = synced_offset});
      marked_offset = synced_offset;
      start = 0;
    }
    const std::span<const std::byte> out =
        std::span<const std::byte>(batch).subspan(start);
    ++f_batches;
    f_bytes += out.size();
    return file->append(out);
  }

  bool due(Clock::time_point now) const {
    if (closing || roll_requests > rolls_done || sync_target > synced) {
      return true;
    }
    if (pending == 0) return false;
    if (opt.sync != SyncPolicy::kGroup) return true;
    if (buf.size() >= opt.max_pending_bytes) return true;
    return pending >= opt.group_records ||
           now >=
               first_pending + std::chrono::microseconds(opt.group_interval_us);
  }

  void run() {
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      for (Clock::time_point now = Clock::now(); !due(now);
           now = Clock::now()) {
        if (horizon_dirty && horizon_sync_due(now)) {
          // Idle: sync the horizon now rather than at the next batch. An
          // append arriving meanwhile waits for this one fdatasync.
          lk.unlock();
          const Status hs = write_horizon(/*force=*/true, now);
          lk.lock();
          if (!hs.ok()) return fail(hs);
          continue;
        }
        Clock::time_point wake = Clock::time_point::max();
        if (pending > 0 && opt.sync == SyncPolicy::kGroup) {
          wake =
              first_pending + std::chrono::microseconds(opt.group_interval_us);
        }
        if (horizon_dirty) {
          wake = std::min(wake, horizon_synced_at + kHorizonSyncInterval);
        }
        if (wake == Clock::time_point::max()) {
          work_cv.wait(lk);
        } else {
          work_cv.wait_until(lk, wake);
        }
      }
      close_run();
      std::vector<std::byte> batch;
      batch.swap(buf);
      buf.swap(spare);
      reset_buffer(buf);
      if (blocked > 0) done_cv.notify_all();  // room in buf again
      const Lsn hi = appended;
      const std::uint64_t n = pending;
      pending = 0;
      const bool do_close = closing;
      const std::uint64_t roll_req = roll_requests;
      const bool do_roll = roll_req > rolls_done && !do_close;
      const bool want_sync = opt.sync != SyncPolicy::kNone ||
                             sync_target > synced || do_close || do_roll;
      lk.unlock();

      Status st;
      if (n > 0) st = write_batch(batch);
      if (st.ok() && want_sync && synced_offset != file->size()) {
        st = sync_file();
      }
      bool rolled = false;
      if (st.ok() &&
          (do_close || do_roll || file->size() >= opt.segment_bytes)) {
        st = seal();
        if (st.ok() && !do_close) {
          st = file->close();
          if (st.ok()) st = start_segment(segment.load() + 1);
          rolled = st.ok();
        }
      }
      if (st.ok() && do_close) st = file->close();

      lk.lock();
      spare.swap(batch);
      stats.syncs += f_syncs;
      stats.batches += f_batches;
      stats.bytes += f_bytes;
      stats.segments += f_segments;
      stats.sync_time.merge(f_sync_time);
      f_sync_time = WalSyncHistogram();
      f_syncs = f_batches = f_bytes = f_segments = 0;
      if (!st.ok()) return fail(st);
      if (want_sync || rolled) synced = hi;
      acked.store(opt.sync == SyncPolicy::kNone ? hi : synced,
                  std::memory_order_release);
      if (do_roll && rolled) rolls_done = roll_req;
      done_cv.notify_all();  // acknowledged: the horizon comes after
      lk.unlock();
      // On close and roll the horizon is synced whatever the interval.
      st = write_horizon(/*force=*/do_close || rolled, Clock::now());
      if (st.ok() && do_close) st = horizon->close();
      lk.lock();
      if (!st.ok()) return fail(st);
      if (do_close) {
        stopped = true;
        done_cv.notify_all();
        return;
      }
    }
  }

  // Makes `st` the sticky error and stops the flusher (mu held).
  void fail(const Status& st) {
    error = st;
    stopped = true;
    done_cv.notify_all();
  }

  Status failed_or_closed() const {
    if (!error.ok()) return error;
    return Status::failed_precondition("WalWriter", "log is closed");
  }

  bool unusable() const { return stopped || closing || !error.ok(); }

  // Writes the open run's checksum (mu held); buf may then take any frame.
  void close_run() {
    if (run_at != kNoRun && run_count > 1) {
      std::byte* p = buf.data() + run_at;
      const std::size_t len =
          storage::kRunHeadSize + storage::kRunEntrySize * run_count;
      storage::store_le<std::uint32_t>(p + 4, static_cast<std::uint32_t>(len));
      storage::store_le<std::uint32_t>(p + storage::kFrameHeadSize + 16,
                                       run_count);
      storage::store_le<std::uint32_t>(p,
                                       storage::checksum32({p + 4, 5 + len}));
    }
    run_at = kNoRun;
  }

  // Adds DELTA `r` to the open run if it continues it (mu held).
  bool extend_run(const WalRecord& r) {
    // run_next_seq 0: the run ended at the largest seq (a run never wraps).
    if (run_at == kNoRun || r.origin != run_origin || r.seq != run_next_seq ||
        run_next_seq == 0 || run_count >= storage::kMaxRunDeltas) {
      return false;
    }
    if (run_count == 1) {
      // DELTA (origin, seq, addr, delta) -> DELTA_RUN (origin, first_seq,
      // count, entry): the entry moves up by the 4-byte count.
      buf.resize(buf.size() + 4);
      std::byte* q = buf.data() + run_at + storage::kFrameHeadSize;
      std::memmove(q + 20, q + 16, storage::kRunEntrySize);
      buf[run_at + 8] = static_cast<std::byte>(storage::kRunType);
    }
    const std::size_t at = buf.size();
    buf.resize(at + storage::kRunEntrySize);
    storage::store_le<std::uint32_t>(buf.data() + at, r.addr);
    storage::store_le<std::uint64_t>(buf.data() + at + 4, r.value);
    ++run_count;
    ++run_next_seq;
    return true;
  }

  // Waits (lk holds mu) while max_pending_bytes wait to be written. OK when
  // there is room; else the writer failed or closed meanwhile.
  Status wait_for_room(std::unique_lock<std::mutex>& lk) {
    if (unusable()) return failed_or_closed();
    if (buf.size() < opt.max_pending_bytes) return Status();
    ++blocked;
    work_cv.notify_one();
    done_cv.wait(
        lk, [&] { return buf.size() < opt.max_pending_bytes || unusable(); });
    --blocked;
    if (unusable()) return failed_or_closed();
    return Status();
  }

  // Counts `records` more pending records in one more frame (mu held) and
  // wakes the flusher when its policy says so; returns the frame's Lsn.
  Lsn queued(std::uint64_t records) {
    if (pending == 0 && opt.sync == SyncPolicy::kGroup) {
      first_pending = Clock::now();
    }
    const std::uint64_t before = pending;
    pending += records;
    stats.records += records;
    if (opt.sync != SyncPolicy::kGroup || before == 0 ||
        (before < opt.group_records && pending >= opt.group_records)) {
      work_cv.notify_one();
    }
    return ++appended;
  }
};

WalWriter::WalWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WalWriter::~WalWriter() {
  if (impl_) (void)close();
}

Result<std::unique_ptr<WalWriter>> WalWriter::open(const std::string& dir,
                                                   std::uint64_t segment_number,
                                                   const WalOptions& options) {
  if (segment_number == 0) {
    return Status::invalid_argument("WalWriter::open", "segment number 0");
  }
  if (options.sync == SyncPolicy::kGroup && options.group_records == 0) {
    return Status::invalid_argument("WalWriter::open", "group_records is 0");
  }
  if (options.max_pending_bytes < 4096) {
    return Status::invalid_argument(
        "WalWriter::open", "max_pending_bytes " +
                               std::to_string(options.max_pending_bytes) +
                               " < 4096");
  }
  if (options.segment_bytes < 4096) {
    return Status::invalid_argument(
        "WalWriter::open",
        "segment_bytes " + std::to_string(options.segment_bytes) + " < 4096");
  }
  auto impl = std::make_unique<Impl>();
  impl->fs = options.fs != nullptr ? options.fs : &FileSystem::posix();
  impl->dir = dir;
  impl->opt = options;
  impl->reset_buffer(impl->buf);
  impl->reset_buffer(impl->spare);
  ATOMIK_RETURN_IF_ERROR(impl->open_horizon(true));
  impl->horizon_synced_at = Clock::now();
  ATOMIK_RETURN_IF_ERROR(impl->start_segment(segment_number));
  impl->stats.syncs = impl->f_syncs;
  impl->stats.bytes = impl->f_bytes;
  impl->stats.segments = impl->f_segments;
  impl->stats.sync_time = impl->f_sync_time;
  impl->f_sync_time = WalSyncHistogram();
  impl->f_syncs = impl->f_bytes = impl->f_segments = 0;
  Impl* raw = impl.get();
  impl->flusher = std::thread([raw] { raw->run(); });
  return std::unique_ptr<WalWriter>(new WalWriter(std::move(impl)));
}

Result<Lsn> WalWriter::append_async(const WalRecord& record) {
  const auto type = static_cast<std::uint8_t>(record.type);
  const std::uint32_t len = storage::payload_size(type);
  if (len == 0 || record.type == storage::kSyncMark ||
      record.type == storage::kSeal) {
    return Status::invalid_argument(
        "WalWriter::append", "record type " + std::to_string(type) +
                                 " cannot be appended (sync marks belong to "
                                 "the writer)");
  }
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  ATOMIK_RETURN_IF_ERROR(m.wait_for_room(lk));
  if (record.type == WalRecordType::kDelta && m.extend_run(record)) {
    return m.queued(1);
  }
  m.close_run();
  const std::size_t at = m.buf.size();
  m.buf.resize(at + storage::kFrameHeadSize + len);
  storage::write_frame(m.buf.data() + at, record);
  // A run needs first_seq > 0 (docs/format/wal.md); seq 0 stays a lone DELTA.
  if (record.type == WalRecordType::kDelta && record.seq != 0) {
    m.run_at = at;
    m.run_origin = record.origin;
    m.run_next_seq = record.seq + 1;
    m.run_count = 1;
  }
  return m.queued(1);
}

Result<Lsn> WalWriter::append_run_async(
    std::uint64_t origin, std::uint64_t first_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
  if (deltas.empty()) {
    return Status::invalid_argument("WalWriter::append_run", "empty batch");
  }
  if (first_seq == 0 || first_seq + (deltas.size() - 1) < first_seq) {
    return Status::invalid_argument(
        "WalWriter::append_run", "first_seq " + std::to_string(first_seq) +
                                     " with " + std::to_string(deltas.size()) +
                                     " deltas (seq 0 or overflow)");
  }
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  // Room is checked once: the batch goes in whole, so its frames are
  // contiguous (a batch may overshoot max_pending_bytes by its own size).
  ATOMIK_RETURN_IF_ERROR(m.wait_for_room(lk));
  m.close_run();
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < deltas.size(); i += storage::kMaxRunDeltas) {
    bytes += storage::run_frame_size(
        std::min<std::size_t>(storage::kMaxRunDeltas, deltas.size() - i));
  }
  std::size_t at = m.buf.size();
  m.buf.resize(at + bytes);
  for (std::size_t i = 0; i < deltas.size(); i += storage::kMaxRunDeltas) {
    const auto part = deltas.subspan(
        i, std::min<std::size_t>(storage::kMaxRunDeltas, deltas.size() - i));
    at += storage::write_run_frame(m.buf.data() + at, origin, first_seq + i,
                                   part);
  }
  return m.queued(deltas.size());
}

Status WalWriter::wait_durable(Lsn lsn) {
  Impl& m = *impl_;
  if (m.acked.load(std::memory_order_acquire) >= lsn) return Status();
  std::unique_lock<std::mutex> lk(m.mu);
  m.done_cv.wait(lk, [&] {
    return m.acked.load(std::memory_order_relaxed) >= lsn || m.stopped;
  });
  if (m.acked.load(std::memory_order_relaxed) >= lsn) return Status();
  return m.failed_or_closed();
}

Result<Lsn> WalWriter::append(const WalRecord& record) {
  Result<Lsn> lsn = append_async(record);
  if (!lsn.ok()) return lsn;
  ATOMIK_RETURN_IF_ERROR(wait_durable(*lsn));
  return lsn;
}

Status WalWriter::sync() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  if (m.stopped || !m.error.ok()) return m.failed_or_closed();
  const Lsn target = m.appended;
  if (m.synced >= target) return Status();
  if (m.sync_target < target) m.sync_target = target;
  m.work_cv.notify_one();
  m.done_cv.wait(lk, [&] { return m.synced >= target || m.stopped; });
  if (m.synced >= target) return Status();
  return m.failed_or_closed();
}

Lsn WalWriter::durable_lsn() const noexcept {
  return impl_->acked.load(std::memory_order_acquire);
}

Result<std::uint64_t> WalWriter::roll() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lk(m.mu);
  if (m.stopped || m.closing || !m.error.ok()) return m.failed_or_closed();
  const std::uint64_t want = ++m.roll_requests;
  m.work_cv.notify_one();
  m.done_cv.wait(lk, [&] { return m.rolls_done >= want || m.stopped; });
  if (m.rolls_done >= want) return m.segment.load();
  return m.failed_or_closed();
}

std::uint64_t WalWriter::current_segment() const {
  return impl_->segment.load();
}

Status WalWriter::close() {
  Impl& m = *impl_;
  {
    std::unique_lock<std::mutex> lk(m.mu);
    if (!m.closing) {
      m.closing = true;
      m.work_cv.notify_one();
    }
  }
  if (m.flusher.joinable()) m.flusher.join();
  std::unique_lock<std::mutex> lk(m.mu);
  return m.error;
}

WalWriterStats WalWriter::stats() const {
  std::unique_lock<std::mutex> lk(impl_->mu);
  WalWriterStats s = impl_->stats;
  s.appended_lsn = impl_->appended;
  s.durable_lsn = impl_->acked.load(std::memory_order_acquire);
  return s;
}

}  // namespace atomik
