// read_wal(): replays WAL segments (docs/format/wal.md, "Reader rules").
#include <cstdio>

#include "atomik/wal.hpp"
#include "codec/wal_record.hpp"

namespace atomik {
namespace {

bool all_zero(std::span<const std::byte> b) {
  for (std::byte x : b) {
    if (x != std::byte{0}) return false;
  }
  return true;
}

// The largest synced_offset of the good SYNC_MARK frames after `off`
// (resynchronising byte by byte over bad ones). 0 if none.
std::uint64_t max_mark_after(std::span<const std::byte> data, std::size_t off) {
  std::uint64_t best = 0;
  std::size_t pos = off + 1;
  while (pos < data.size()) {
    WalRecord r;
    std::size_t size = 0;
    std::string why;
    if (walfmt::decode_frame(data, pos, &r, &size, &why) ==
        walfmt::FrameResult::kGood) {
      if ((r.type == WalRecordType::kSyncMark ||
           r.type == WalRecordType::kSeal) &&
          r.value <= pos && r.value > best) {
        best = r.value;
      }
      pos += size;
    } else {
      ++pos;
    }
  }
  return best;
}

struct SegmentScan {
  const std::string& path;
  std::uint64_t number;
  bool is_last;
  RecoveryMode mode;
  const WalVisitor& visit;
  RecoveryReport* report;

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
    if (is_last && (data.size() < walfmt::kHeaderSize ||
                    all_zero(data.first(walfmt::kHeaderSize)))) {
      // A crash while the segment was being created.
      report->torn = WalPlace{path, number, 0};
      report->torn_bytes = data.size();
      report->problems.push_back("torn tail: " + path +
                                 ": header incomplete (" +
                                 std::to_string(data.size()) + " bytes)");
      report->last_end = 0;
      return Status();
    }
    const std::string why = walfmt::check_header(data, &n, &bad_version);
    if (bad_version) return Status::unimplemented("WAL", path + ": " + why);
    if (why.empty() && n != number) {
      return corrupt_header("header says segment " + std::to_string(n) +
                                ", file name says " + std::to_string(number),
                            data.size());
    }
    if (!why.empty()) return corrupt_header(why, data.size());

    std::uint64_t synced = 0;  // largest synced_offset seen in a good mark
    bool sealed = false;
    WalPlace place{path, number, 0};  // reused: no string copy per record
    std::size_t off = walfmt::kHeaderSize;
    std::size_t last_good_end = off;
    std::string bad;  // why a frame is bad; outside the loop: no per-record
                      // construction on the fast path
    while (off < data.size()) {
      WalRecord rec;
      std::size_t size = 0;
      bad.clear();
      const walfmt::FrameResult fr =
          walfmt::decode_good_frame(data, off, &rec, &size)
              ? walfmt::FrameResult::kGood
              : walfmt::decode_frame(data, off, &rec, &size, &bad);
      if (fr == walfmt::FrameResult::kUnknownType) {
        return Status::unimplemented(
            "WAL", path + ": frame at offset " + std::to_string(off) + ": " +
                       bad + " (written by a newer version?)");
      }
      if (fr == walfmt::FrameResult::kGood) {
        if (rec.type == WalRecordType::kSyncMark ||
            rec.type == WalRecordType::kSeal) {
          if (rec.value > off || rec.value < walfmt::kHeaderSize ||
              (rec.type == WalRecordType::kSeal && rec.value != off)) {
            ATOMIK_RETURN_IF_ERROR(
                corrupt(off,
                        "sync mark claims offset " + std::to_string(rec.value) +
                            ", outside [32, " + std::to_string(off) + "]",
                        size));
            off += size;
            continue;
          }
          if (rec.value > synced) synced = rec.value;
          sealed = rec.type == WalRecordType::kSeal;
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
      std::size_t next = off + 1;
      for (; next < data.size(); ++next) {
        WalRecord r2;
        std::size_t s2 = 0;
        std::string w2;
        if (walfmt::decode_frame(data, next, &r2, &s2, &w2) ==
            walfmt::FrameResult::kGood) {
          break;
        }
      }
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

}  // namespace

const char* to_string(WalRecordType type) noexcept {
  switch (type) {
    case WalRecordType::kDelta:
      return "delta";
    case WalRecordType::kLoad:
      return "load";
    case WalRecordType::kUndoDelta:
      return "undo-delta";
    case WalRecordType::kUndo:
      return "undo";
    case WalRecordType::kRedo:
      return "redo";
    case WalRecordType::kEpoch:
      return "epoch";
    case WalRecordType::kSyncMark:
      return "sync-mark";
    case WalRecordType::kSeal:
      return "seal";
  }
  return "unknown";
}

std::string wal_segment_name(std::uint64_t segment_number) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llu.wal",
                static_cast<unsigned long long>(segment_number));
  return buf;
}

Result<std::vector<std::uint64_t>> list_wal_segments(const std::string& dir,
                                                     FileSystem* fs) {
  FileSystem& f = fs != nullptr ? *fs : FileSystem::posix();
  auto names = f.list_dir(dir);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> out;
  for (const std::string& n : *names) {
    if (n.size() != 20 || n.compare(16, 4, ".wal") != 0) continue;
    std::uint64_t v = 0;
    bool digits = true;
    for (std::size_t i = 0; i < 16; ++i) {
      if (n[i] < '0' || n[i] > '9') {
        digits = false;
        break;
      }
      v = v * 10 + static_cast<std::uint64_t>(n[i] - '0');
    }
    if (digits) out.push_back(v);
  }
  return out;  // names are sorted and fixed-width, so numbers ascend
}

std::string RecoveryReport::summary() const {
  std::string s = std::to_string(segments) + " segments, " +
                  std::to_string(records_ok) + " records ok, " +
                  std::to_string(records_dropped) + " dropped (" +
                  std::to_string(bytes_dropped) + " bytes)";
  if (first_bad) {
    s += ", first bad: " + first_bad->file + " offset " +
         std::to_string(first_bad->offset);
  }
  if (torn) {
    s += ", torn tail: " + torn->file + " offset " +
         std::to_string(torn->offset) + " (" + std::to_string(torn_bytes) +
         " bytes)";
  }
  if (duplicates > 0) s += ", " + std::to_string(duplicates) + " duplicates";
  return s;
}

Status read_wal(const std::string& dir, std::uint64_t first_segment,
                RecoveryMode mode, const WalVisitor& visit,
                RecoveryReport* report, FileSystem* fs) {
  FileSystem& f = fs != nullptr ? *fs : FileSystem::posix();
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
    SegmentScan scan{path, n, is_last, mode, visit, report};
    ATOMIK_RETURN_IF_ERROR(scan.run((*data)->bytes()));
  }
  return Status();
}

}  // namespace atomik
