// SPDX-License-Identifier: Apache-2.0
// atomik/wal.hpp: the write-ahead log: WalWriter (group commit) and
// read_wal() (recovery with strict and skip modes).
//
// A WAL is a directory of checksummed segment files (docs/format/wal.md).
// WalWriter appends records; concurrent appends share one fdatasync (group
// commit) and an append returns only once the open's SyncPolicy is met, so a
// record is *acknowledged* exactly when append() returns OK. read_wal() replays
// a directory, truncating (and reporting) a torn unsynced tail and treating
// damage to synced bytes as corruption.
//
//   auto w = atomik::WalWriter::open("data", 1, {.sync = SyncPolicy::kGroup});
//   atomik::WalRecord r{.type = atomik::WalRecordType::kDelta, .origin = 9,
//                       .seq = 1, .addr = 7, .value = 0xFF};
//   atomik::Status s = (*w)->append(r).status();   // durable when OK
//   atomik::RecoveryReport report;
//   s = atomik::read_wal("data", 1, atomik::RecoveryMode::kStrict,
//                        [](const atomik::WalRecord&, const atomik::WalPlace&)
//                        { return atomik::Status(); }, &report);
//
// Thread safety: WalWriter's methods may be called from any number of
// threads at once (that is how group commit batches). read_wal() is a free
// function over files nobody is writing.
#pragma once

#include <array>
#include <cstddef>
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
#include "atomik/types.hpp"

namespace atomik {

// Record types. Written to disk; never change or reuse a number.
// See docs/format/wal.md. The writer also keeps records of its own (sync
// marks and seals, numbers 7 and 8): read_wal() passes them to the visitor
// with those numbers (to_string: "sync-mark", "seal"; value: a segment
// offset) and is_wal_bookkeeping() tells them apart; append() refuses them.
enum class WalRecordType : std::uint8_t {
  kDelta = 1,      // accum(addr, value)
  kLoad = 2,       // load(addr, value)
  kUndoDelta = 3,  // accum(addr, value), recorded in addr's undo history
  kUndo = 4,       // undo(addr)
  kRedo = 5,       // redo(addr)
  kEpoch = 6,      // value = epoch that the previous checkpoint closed
};

// "delta", "load", ..., "sync-mark", "seal"; "unknown" for others.
ATOMIK_EXPORT const char* to_string(WalRecordType type) noexcept;

// True for the writer's own records (sync marks, seals) that read_wal()
// passes to the visitor; a replay skips them.
ATOMIK_EXPORT bool is_wal_bookkeeping(WalRecordType type) noexcept;

// One decoded record. Fields a type does not carry are 0.
struct WalRecord {
  WalRecordType type = WalRecordType::kDelta;
  std::uint64_t origin = 0;
  std::uint64_t seq = 0;
  std::uint32_t addr = 0;
  std::uint64_t value = 0;  // delta, value, epoch or synced offset
  friend bool operator==(const WalRecord&, const WalRecord&) = default;
};

// One batch as the WAL stores it (a DELTA_RUN frame): `count` deltas of
// `origin` with seqs first_seq, first_seq + 1, ... Valid only during the
// visitor call (it reads the mapped segment).
struct ATOMIK_EXPORT WalDeltaRun {
  std::uint64_t origin = 0;
  std::uint64_t first_seq = 0;
  std::uint32_t count = 0;
  // Opaque: where read_wal() found the entries, in the WAL's own layout.
  // Read them through addr(i) and delta(i).
  const std::byte* entries = nullptr;

  // Entry i < count (not checked): its address and its delta.
  Addr addr(std::size_t i) const noexcept;
  std::uint64_t delta(std::size_t i) const noexcept;
};

// When append() returns (what "acknowledged" means). See docs/format/wal.md.
enum class SyncPolicy : std::uint8_t {
  kEveryRecord,  // after an fdatasync covering the record (shared by the
                 // appends that arrive while one is running)
  kGroup,        // after an fdatasync covering the record; the log syncs once
                 // group_records are pending or group_interval_us passed
  kNone,         // after write(): survives a process crash, not an OS crash
};

struct WalOptions {
  SyncPolicy sync = SyncPolicy::kEveryRecord;
  std::uint32_t group_records = 4096;      // kGroup: sync at this many pending
  std::uint32_t group_interval_us = 1000;  // kGroup: or this long after the
                                           // first pending record
  std::uint64_t segment_bytes = 64 << 20;  // roll once a segment reaches this
  // Backpressure: append_async() blocks while this many bytes wait to be
  // written (so a fast appender cannot outrun the disk without bound).
  std::uint64_t max_pending_bytes = 8 << 20;
  // The table's group and word width (table_shape.hpp), written into every
  // segment header (docs/format/wal.md); the writer does not check record
  // values. Scalars, not a TableShape: designated initializers stay short.
  TableGroup table_group = TableGroup::kXor;
  std::uint8_t word_bits = 64;
  FileSystem* fs = nullptr;  // nullptr: FileSystem::posix()
};

// How long the fdatasyncs of segment data took (what an acknowledgement
// waits for under SyncPolicy::kEveryRecord): a histogram with fixed
// buckets, cheap to fill on the flusher thread.
struct WalSyncHistogram {
  // Upper bounds (seconds). counts[i] holds the syncs that took more than
  // kBounds[i - 1] and at most kBounds[i]; counts.back() the slower ones.
  static constexpr std::array<double, 12> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
      0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  double sum_seconds = 0;  // total time of the syncs counted

  void add(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts[i];
    sum_seconds += seconds;
  }
  void merge(const WalSyncHistogram& o) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
    sum_seconds += o.sum_seconds;
  }
};

struct WalWriterStats {
  std::uint64_t records = 0;   // appended (a DELTA_RUN counts its deltas)
  std::uint64_t syncs = 0;     // fdatasync calls on segment data
  std::uint64_t batches = 0;   // write() batches
  std::uint64_t bytes = 0;     // bytes written, headers and marks included
  std::uint64_t segments = 0;  // segments created
  WalSyncHistogram sync_time;  // segment data fdatasyncs (not the horizon's)
  // Positions in this writer's log (Lsn, counted from 1 since it opened):
  // the last appended and the last acknowledged (per the SyncPolicy). The
  // difference is what waits for the disk now.
  Lsn appended_lsn = 0;
  Lsn durable_lsn = 0;
};

class ATOMIK_EXPORT WalWriter {
 public:
  // Creates segment `segment_number` in `dir` (which must exist; the file must
  // not, or be empty), writes and syncs its header and the directory, and
  // starts the background flusher. Fails with kInvalidArgument on bad
  // options, kFailedPrecondition if the segment already holds data, or the
  // I/O error; nothing is left behind but possibly an empty file.
  static Result<std::unique_ptr<WalWriter>> open(const std::string& dir,
                                                 std::uint64_t segment_number,
                                                 const WalOptions& options);
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;
  // Closes (see close()); errors are dropped, call close() to see them.
  ~WalWriter();

  // Appends `record` and returns once the SyncPolicy is met: OK means
  // acknowledged. On failure the record is not acknowledged (it may or may
  // not be recovered) and the writer is failed: every later call returns the
  // same error (a failed fdatasync is never retried). kInvalidArgument for a
  // bookkeeping record (is_wal_bookkeeping: the writer owns those).
  Result<Lsn> append(const WalRecord& record);
  // Queues `record` and returns its Lsn at once; it is acknowledged when
  // wait_durable(lsn) returns OK or durable_lsn() >= lsn. A kDelta that
  // continues the previous append (same origin, next seq) joins its frame
  // as a DELTA_RUN while both wait to be written (docs/format/wal.md).
  Result<Lsn> append_async(const WalRecord& record);
  // Queues `deltas` as DELTA_RUN frames (at most 4096 per frame, all
  // written contiguously) of `origin` with seqs first_seq, first_seq + 1,
  // ... and returns one Lsn for the batch, acknowledged as a whole.
  // kInvalidArgument (nothing queued) for an empty batch, first_seq 0 or a seq
  // range that overflows. Cost O(n).
  Result<Lsn> append_run_async(
      std::uint64_t origin, std::uint64_t first_seq,
      std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas);
  // Blocks until `lsn` is acknowledged (or the writer failed: the error).
  Status wait_durable(Lsn lsn);
  // Forces everything appended so far to be written and fdatasynced now.
  Status sync();
  // Highest acknowledged Lsn (a lock-free read).
  Lsn durable_lsn() const noexcept;
  // Syncs the current segment, seals it (closing SYNC_MARK) and starts the
  // next one; returns its number. Records appended afterwards go there.
  Result<std::uint64_t> roll();
  // Number of the segment being written.
  std::uint64_t current_segment() const;
  // Writes everything, seals the segment, syncs and stops the flusher.
  // Later appends fail with kFailedPrecondition. Idempotent.
  Status close();
  WalWriterStats stats() const;

 private:
  struct Impl;
  explicit WalWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// How read_wal() treats damage to synced data.
enum class RecoveryMode : std::uint8_t {
  kStrict,  // stop at the first bad record: kCorruption naming file, offset
  kSkip,    // drop it, resynchronise, continue; everything dropped reported
};

// Where a record was read.
struct WalPlace {
  std::string file;  // segment path
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
};

struct ATOMIK_EXPORT RecoveryReport {
  std::uint64_t segments = 0;         // segment files read
  std::uint64_t records_ok = 0;       // records that passed their checks (a
                                      // DELTA_RUN counts `count`)
  std::uint64_t records_dropped = 0;  // damaged regions skipped (kSkip)
  std::uint64_t bytes_dropped = 0;    // bytes in them
  std::optional<WalPlace> first_bad;  // first corruption (kSkip)
  // A torn unsynced tail in the last segment (expected after a crash): not
  // an error; the bytes from torn->offset to the end were not replayed.
  std::optional<WalPlace> torn;
  std::uint64_t torn_bytes = 0;
  // Acknowledged bytes the log no longer holds: the sync horizon
  // (docs/format/wal.md) says they were synced, but the last segment was cut
  // below it or deleted. An error (kStrict refuses; kSkip reports it here
  // and in problems): from lost->offset of lost->file, lost_bytes bytes.
  std::optional<WalPlace> lost;
  std::uint64_t lost_bytes = 0;
  std::uint64_t last_segment = 0;  // 0 when there is none
  std::uint64_t last_end = 0;      // end of the last good frame in it
  bool last_sealed = false;        // the last segment ends with its seal
  std::vector<std::uint64_t> covered_segments;  // < first_segment: stale
  std::vector<std::string> problems;  // one line per problem, in order
  // The group and word width the segment headers name (header version 1:
  // xor/64); unset if no segment header was read. Segments naming another
  // shape than the first (or than the table, for PersistentTable) are a bad
  // header: kCorruption naming both shapes.
  std::optional<TableShape> shape;
  // Filled by PersistentTable: records skipped as duplicates.
  std::uint64_t duplicates = 0;
  // A one-line summary, e.g. "3 segments, 120 records ok, ...".
  std::string summary() const;
};

// Called for every good record, in log order; a non-OK return stops reading
// with that status.
using WalVisitor =
    std::function<Status(const WalRecord& record, const WalPlace& place)>;
// Called for every good DELTA_RUN frame (see the read_wal overload).
using WalRunVisitor =
    std::function<Status(const WalDeltaRun& run, const WalPlace& place)>;

// Reads the segments of `dir` numbered >= `first_segment` in order (see
// docs/format/wal.md "Reader rules") and calls `visit` for every good record
// (sync marks and epochs included). Fills `*report`. Returns OK also after a
// torn tail or, in kSkip, after dropped records (all in the report);
// kCorruption (naming file and offset) in kStrict, or for a missing segment;
// kUnimplemented for an unknown version or record type; the I/O error.
// Cost O(total bytes).
ATOMIK_EXPORT Status read_wal(const std::string& dir,
                              std::uint64_t first_segment, RecoveryMode mode,
                              const WalVisitor& visit, RecoveryReport* report,
                              FileSystem* fs = nullptr);

// The same, but DELTA_RUN frames go to `visit_run` whole (one call per frame,
// `place` at the frame) instead of being expanded into one kDelta record
// per entry for `visit` (what the overload above does, all at the run's
// offset). Recovery uses this: one call per batch.
ATOMIK_EXPORT Status read_wal(const std::string& dir,
                              std::uint64_t first_segment, RecoveryMode mode,
                              const WalVisitor& visit,
                              const WalRunVisitor& visit_run,
                              RecoveryReport* report, FileSystem* fs = nullptr);

// "0000000000000007.wal".
ATOMIK_EXPORT std::string wal_segment_name(std::uint64_t segment_number);
// Segment numbers present in `dir`, ascending (other files are ignored).
ATOMIK_EXPORT Result<std::vector<std::uint64_t>> list_wal_segments(
    const std::string& dir, FileSystem* fs = nullptr);

}  // namespace atomik
