// SPDX-License-Identifier: Apache-2.0
// The WAL segment scanner behind read_wal() (docs/format/wal.md, "Reader
// rules"), as a template over its visitors so that recovery
// (PersistentTable) gets its per-record callback inlined instead of paying a
// std::function call per record. Private to src/storage.
#pragma once

#include <string>

#include "atomik/wal.hpp"
#include "storage/wal_record.hpp"

namespace atomik::storage {

// True if every byte of `b` is 0.
bool all_zero(std::span<const std::byte> b);
// The largest synced_offset of the good SYNC_MARK/SEAL frames after `off`
// (resynchronising byte by byte over bad ones). 0 if none.
std::uint64_t max_mark_after(std::span<const std::byte> data, std::size_t off);
// The offset of the first good frame after `off` (data.size() if none).
std::size_t next_good_frame(std::span<const std::byte> data, std::size_t off);

// Visit: Status(const WalRecord&, const WalPlace&), for every good record.
// VisitRun: Status(const WalDeltaRun&, const WalPlace&), for every good
// DELTA_RUN frame.
template <class Visit, class VisitRun>
struct SegmentScan {
  const std::string& path;
  std::uint64_t number;
  bool is_last;
  RecoveryMode mode;
  Visit& visit;
  VisitRun& visit_run;
  RecoveryReport* report;
  // The table's shape; nullptr: the first segment's shape.
  const TableShape* expect;

  // Records a corruption at `offset`; returns non-OK in kStrict.
  Status corrupt(std::uint64_t offset, const std::string& why,
                 std::uint64_t dropped_bytes) {
    const std::string msg =
        path + ": frame at offset " + std::to_string(offset) + ": " + why;
    if (mode == RecoveryMode::kStrict) return Status::corruption("WAL", msg);
    report->problems.push_back("corruption: " + msg);
    if (!report->first_bad) report->first_bad = WalPlace{path, number, offset};
    ++report->records_dropped;
    report->bytes_dropped += dropped_bytes;
    return Status();
  }

  Status run(std::span<const std::byte> data) {
    std::uint64_t n = 0;
    bool bad_version = false;
    if (is_last && (data.size() < storage::kHeaderSize ||
                    all_zero(data.first(storage::kHeaderSize)))) {
      // A crash while the segment was being created.
      report->torn = WalPlace{path, number, 0};
      report->torn_bytes = data.size();
      report->problems.push_back("torn tail: " + path +
                                 ": header incomplete (" +
                                 std::to_string(data.size()) + " bytes)");
      report->last_end = 0;
      return Status();
    }
    TableShape shape;
    const std::string why =
        storage::check_header(data, &n, &bad_version, &shape);
    if (bad_version) return Status::unimplemented("WAL", path + ": " + why);
    if (why.empty()) {
      const TableShape* want =
          expect != nullptr ? expect
                            : (report->shape ? &*report->shape : nullptr);
      if (want != nullptr && shape != *want) {
        return corrupt_header("segment holds " + shape.to_string() + ", the " +
                                  (expect != nullptr ? "table" : "log") +
                                  " is " + want->to_string(),
                              data.size());
      }
      if (!report->shape) report->shape = shape;
    }
    if (why.empty() && n != number) {
      return corrupt_header("header says segment " + std::to_string(n) +
                                ", file name says " + std::to_string(number),
                            data.size());
    }
    if (!why.empty()) return corrupt_header(why, data.size());

    std::uint64_t synced = 0;  // largest synced_offset seen in a good mark
    bool sealed = false;
    WalPlace place{path, number, 0};  // reused: no string copy per record
    std::size_t off = storage::kHeaderSize;
    std::size_t last_good_end = off;
    std::string bad;  // why a frame is bad; outside the loop: no per-record
                      // construction on the fast path
    while (off < data.size()) {
      WalRecord rec;
      std::size_t size = 0;
      bad.clear();
      const storage::FrameResult fr =
          storage::decode_good_frame(data, off, &rec, &size)
              ? storage::FrameResult::kGood
              : storage::decode_frame(data, off, &rec, &size, &bad);
      if (fr == storage::FrameResult::kUnknownType) {
        return Status::unimplemented(
            "WAL", path + ": frame at offset " + std::to_string(off) + ": " +
                       bad + " (written by a newer version?)");
      }
      if (fr == storage::FrameResult::kGood) {
        if (rec.type == storage::kSyncMark || rec.type == storage::kSeal) {
          if (rec.value > off || rec.value < storage::kHeaderSize ||
              (rec.type == storage::kSeal && rec.value != off)) {
            ATOMIK_RETURN_IF_ERROR(
                corrupt(off,
                        "sync mark claims offset " + std::to_string(rec.value) +
                            ", outside [32, " + std::to_string(off) + "]",
                        size));
            off += size;
            continue;
          }
          if (rec.value > synced) synced = rec.value;
          sealed = rec.type == storage::kSeal;
        } else if (rec.type == storage::kDeltaRun) {
          sealed = false;
          report->records_ok += rec.value;
          place.offset = off;
          const WalDeltaRun run{.origin = rec.origin,
                                .first_seq = rec.seq,
                                .count = static_cast<std::uint32_t>(rec.value),
                                .entries = data.data() + off +
                                           storage::kFrameHeadSize +
                                           storage::kRunHeadSize};
          ATOMIK_RETURN_IF_ERROR(visit_run(run, place));
          off += size;
          last_good_end = off;
          continue;
        } else {
          sealed = false;
          ++report->records_ok;
        }
        place.offset = off;
        ATOMIK_RETURN_IF_ERROR(visit(rec, place));
        off += size;
        last_good_end = off;
        continue;
      }
      // A bad frame at `off`. It is a torn tail only if no good sync mark,
      // before or after it, says it was synced.
      if (is_last && off >= synced) {
        const std::uint64_t later = max_mark_after(data, off);
        if (later > synced) synced = later;
      }
      if (is_last && off >= synced) {
        report->torn = WalPlace{path, number, off};
        report->torn_bytes = data.size() - off;
        report->problems.push_back("torn tail: " + path + ": frame at offset " +
                                   std::to_string(off) + ": " + bad + "; " +
                                   std::to_string(data.size() - off) +
                                   " unsynced bytes dropped");
        break;
      }
      // Damage to synced data: resynchronise at the next good frame.
      const std::size_t next = next_good_frame(data, off);
      std::string why2 = bad;
      if (off < synced) {
        why2 += " (inside synced data: a sync mark covers offset " +
                std::to_string(synced) + ")";
      } else {
        why2 += " (segment " + std::to_string(number) +
                " is not the last one, so all of it was synced)";
      }
      ATOMIK_RETURN_IF_ERROR(corrupt(off, why2, next - off));
      off = next;
      sealed = false;
    }
    if (is_last) {
      report->last_end = report->torn ? report->torn->offset : last_good_end;
      report->last_sealed = sealed && !report->torn;
      if (!report->last_sealed && !report->torn) {
        report->problems.push_back(
            "unsealed: " + path + ": ends at offset " +
            std::to_string(last_good_end) +
            " without its seal (the writer did not close: a crash)");
      }
    } else if (!sealed) {
      const std::string msg = path + ": segment ends at offset " +
                              std::to_string(data.size()) +
                              " without its closing sync mark (truncated?)";
      if (mode == RecoveryMode::kStrict) return Status::corruption("WAL", msg);
      report->problems.push_back("corruption: " + msg);
      if (!report->first_bad) {
        report->first_bad = WalPlace{path, number, data.size()};
      }
      ++report->records_dropped;
    }
    return Status();
  }

  Status corrupt_header(const std::string& why, std::uint64_t file_size) {
    const std::string msg = path + ": header (offset 0): " + why;
    if (mode == RecoveryMode::kStrict) return Status::corruption("WAL", msg);
    report->problems.push_back("corruption: " + msg + "; segment dropped");
    if (!report->first_bad) report->first_bad = WalPlace{path, number, 0};
    ++report->records_dropped;
    report->bytes_dropped += file_size;
    if (is_last) report->last_end = 0;
    return Status();
  }
};

// Compares the sync horizon (WAL_HORIZON, docs/format/wal.md) with what the
// scan found: acknowledged bytes the segments no longer hold (the last
// segment cut below the horizon, or deleted) are lost synced data, not a
// torn tail. kStrict: kCorruption. kSkip: reported (problems, lost,
// lost_bytes, records_dropped), and the torn-tail line it replaces dropped.
// No horizon file (a log written before it existed): nothing to check.
Status check_horizon(const std::string& dir, std::uint64_t first_segment,
                     const std::vector<std::uint64_t>& live, RecoveryMode mode,
                     RecoveryReport* report, FileSystem& f);

// read_wal() with any visitor types (see SegmentScan).
template <class Visit, class VisitRun>
Status scan_wal(const std::string& dir, std::uint64_t first_segment,
                RecoveryMode mode, Visit& visit, VisitRun& visit_run,
                RecoveryReport* report, FileSystem& f,
                const TableShape* shape = nullptr) {
  *report = RecoveryReport();
  auto segs = list_wal_segments(dir, &f);
  if (!segs.ok()) return segs.status();
  std::vector<std::uint64_t> live;
  for (std::uint64_t n : *segs) {
    if (n < first_segment) {
      report->covered_segments.push_back(n);
    } else {
      live.push_back(n);
    }
  }
  std::uint64_t expect = first_segment;
  for (std::size_t i = 0; i < live.size(); ++i) {
    const std::uint64_t n = live[i];
    if (n != expect) {
      const std::string msg =
          dir + ": WAL segment " + std::to_string(expect) +
          (n == expect + 1 ? "" : "..." + std::to_string(n - 1)) +
          " missing (next present: " + std::to_string(n) + ")";
      if (mode == RecoveryMode::kStrict) return Status::corruption("WAL", msg);
      report->problems.push_back("corruption: " + msg);
      if (!report->first_bad) {
        report->first_bad =
            WalPlace{dir + "/" + wal_segment_name(expect), expect, 0};
      }
      ++report->records_dropped;
    }
    expect = n + 1;
    const std::string path = dir + "/" + wal_segment_name(n);
    auto data = f.map_file(path);
    if (!data.ok()) return data.status();
    ++report->segments;
    const bool is_last = i + 1 == live.size();
    if (is_last) report->last_segment = n;
    SegmentScan<Visit, VisitRun> scan{path,  n,         is_last, mode,
                                      visit, visit_run, report,  shape};
    ATOMIK_RETURN_IF_ERROR(scan.run((*data)->bytes()));
  }
  return check_horizon(dir, first_segment, live, mode, report, f);
}

}  // namespace atomik::storage
