// SPDX-License-Identifier: Apache-2.0
// read_wal(): replays WAL segments (docs/format/wal.md, "Reader rules").
#include <cstdio>

#include "atomik/wal.hpp"
#include "storage/wal_record.hpp"
#include "storage/wal_scan.hpp"

namespace atomik {
namespace storage {

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
    if (storage::decode_frame(data, pos, &r, &size, &why) ==
        storage::FrameResult::kGood) {
      if ((r.type == storage::kSyncMark || r.type == storage::kSeal) &&
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
    if (storage::decode_frame(data, next, &r, &size, &why) ==
        storage::FrameResult::kGood) {
      break;
    }
  }
  return next;
}

Status check_horizon(const std::string& dir, std::uint64_t first_segment,
                     const std::vector<std::uint64_t>& live, RecoveryMode mode,
                     RecoveryReport* report, FileSystem& f) {
  const std::string hpath = dir + "/" + storage::kHorizonFileName;
  auto data = f.read_file(hpath);
  if (!data.ok()) {
    if (data.status().is_not_found()) return Status();
    return data.status();
  }
  const storage::Horizon h = storage::read_horizon(*data);
  if (h.bad_at != ~std::size_t{0}) {
    // The writer syncs the horizon only every few milliseconds, so a crash
    // can leave any unsynced record unwritten (zeros) or partial, not only
    // the last. Every good record still names data that was synced, so the
    // horizon is the largest good one and a bad record only narrows
    // detection: reported, in either mode, not an error.
    report->problems.push_back(
        "torn horizon: " + hpath + ": record at offset " +
        std::to_string(h.bad_at) +
        ": checksum mismatch (ignored: an append not synced before a crash, "
        "or damage)");
  }
  if (h.segment == 0 || h.segment < first_segment) return Status();
  const std::uint64_t last = live.empty() ? 0 : live.back();
  if (h.segment < last) return Status();  // checked whole: not the last one
  const std::string seg = dir + "/" + wal_segment_name(h.segment);
  std::uint64_t end = 0;  // where the acknowledged data now ends
  std::string what;
  if (h.segment > last) {
    what = seg + " is missing";
  } else if (report->last_end < h.synced_offset) {
    end = report->last_end;
    what = seg + ": good frames end at offset " + std::to_string(end);
  } else {
    return Status();
  }
  const std::uint64_t lost = h.synced_offset - end;
  const std::string msg =
      "lost synced data: " + what + ", but " + hpath +
      " records it synced up to offset " + std::to_string(h.synced_offset) +
      " (" + std::to_string(lost) +
      " acknowledged bytes gone: the file was cut or deleted, or the disk "
      "lost writes it had acknowledged)";
  if (mode == RecoveryMode::kStrict) return Status::corruption("WAL", msg);
  // The cut looked like a torn tail to the segment scan: replace that line.
  std::erase_if(report->problems, [&](const std::string& p) {
    return p.rfind("torn tail: " + seg, 0) == 0 ||
           p.rfind("unsealed: " + seg, 0) == 0;
  });
  report->problems.push_back("corruption: " + msg);
  report->lost = WalPlace{seg, h.segment, end};
  report->lost_bytes = lost;
  if (!report->first_bad) report->first_bad = *report->lost;
  ++report->records_dropped;
  report->bytes_dropped += lost;
  return Status();
}

}  // namespace storage

const char* to_string(WalRecordType type) noexcept {
  static constexpr const char* kNames[] = {
      "unknown", "delta", "load",      "undo-delta", "undo",
      "redo",    "epoch", "sync-mark", "seal",       "delta-run"};
  const auto n = static_cast<std::size_t>(type);
  return n < std::size(kNames) ? kNames[n] : "unknown";
}

bool is_wal_bookkeeping(WalRecordType type) noexcept {
  return type == storage::kSyncMark || type == storage::kSeal;
}

Addr WalDeltaRun::addr(std::size_t i) const noexcept {
  return storage::run_addr(*this, i);
}

std::uint64_t WalDeltaRun::delta(std::size_t i) const noexcept {
  return storage::run_delta(*this, i);
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
  if (lost) {
    s += ", lost synced data: " + lost->file + " from offset " +
         std::to_string(lost->offset) + " (" + std::to_string(lost_bytes) +
         " bytes)";
  } else if (torn) {
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
  return storage::scan_wal(dir, first_segment, mode, visit, visit_run, report,
                           f);
}

Status read_wal(const std::string& dir, std::uint64_t first_segment,
                RecoveryMode mode, const WalVisitor& visit,
                RecoveryReport* report, FileSystem* fs) {
  // Expands each run into kDelta records, all at the run's place.
  const auto expand = [&visit](const WalDeltaRun& run,
                               const WalPlace& place) -> Status {
    for (std::uint32_t i = 0; i < run.count; ++i) {
      ATOMIK_RETURN_IF_ERROR(
          visit(WalRecord{.type = WalRecordType::kDelta,
                          .origin = run.origin,
                          .seq = run.first_seq + i,
                          .addr = storage::run_addr(run, i),
                          .value = storage::run_delta(run, i)},
                place));
    }
    return Status();
  };
  FileSystem& f = fs != nullptr ? *fs : FileSystem::posix();
  return storage::scan_wal(dir, first_segment, mode, visit, expand, report, f);
}

}  // namespace atomik
