// SPDX-License-Identifier: Apache-2.0
// read_wal(): replays WAL segments (docs/format/wal.md, "Reader rules").
#include <cstdio>

#include "atomik/wal.hpp"
#include "storage/wal_record.hpp"
#include "storage/wal_scan.hpp"

namespace atomik {
namespace walscan {

bool all_zero(std::span<const std::byte> b) {
  for (std::byte x : b) {
    if (x != std::byte{0}) return false;
  }
  return true;
}

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

std::size_t next_good_frame(std::span<const std::byte> data, std::size_t off) {
  std::size_t next = off + 1;
  for (; next < data.size(); ++next) {
    WalRecord r;
    std::size_t size = 0;
    std::string why;
    if (walfmt::decode_frame(data, next, &r, &size, &why) ==
        walfmt::FrameResult::kGood) {
      break;
    }
  }
  return next;
}

}  // namespace walscan

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
    case WalRecordType::kDeltaRun:
      return "delta-run";
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
                const WalRunVisitor& visit_run, RecoveryReport* report,
                FileSystem* fs) {
  if (!visit_run) return read_wal(dir, first_segment, mode, visit, report, fs);
  FileSystem& f = fs != nullptr ? *fs : FileSystem::posix();
  return walscan::scan_wal(dir, first_segment, mode, visit, visit_run, report,
                           f);
}

Status read_wal(const std::string& dir, std::uint64_t first_segment,
                RecoveryMode mode, const WalVisitor& visit,
                RecoveryReport* report, FileSystem* fs) {
  // Expands each run into kDelta records, all at the run's place.
  const auto expand = [&visit](const WalDeltaRun& run,
                               const WalPlace& place) -> Status {
    for (std::uint32_t i = 0; i < run.count; ++i) {
      ATOMIK_RETURN_IF_ERROR(visit(WalRecord{.type = WalRecordType::kDelta,
                                             .origin = run.origin,
                                             .seq = run.first_seq + i,
                                             .addr = run.addr(i),
                                             .value = run.delta(i)},
                                   place));
    }
    return Status();
  };
  FileSystem& f = fs != nullptr ? *fs : FileSystem::posix();
  return walscan::scan_wal(dir, first_segment, mode, visit, expand, report, f);
}

}  // namespace atomik
