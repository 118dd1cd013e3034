// SPDX-License-Identifier: Apache-2.0
// fuzz_wal_segment: libFuzzer target for WAL recovery through the public
// read_wal() (include/atomik/wal.hpp, docs/format/wal.md "Reader rules").
// See docs/fuzzing.md.
//
// The input is the bytes of segment 1 in an in-memory FileSystem (no disk;
// map_file returns a view of libFuzzer's exactly sized buffer, so ASan sees
// any read past the end of the segment; every write operation fails and is
// flagged). read_wal() runs four times: {1} strict and skip, and {1, 2}
// strict and skip, where segment 2 is a valid empty segment, so segment 1
// is no longer the last one. Checked (docs/format/wal.md reader rules):
//   1. The result is OK, kCorruption or kUnimplemented; the reader writes
//      nothing; records_ok equals the data records visited (sync marks
//      and seals are not counted; a DELTA_RUN is visited entry by entry as
//      kDelta records at the run's offset); every visited
//      record lies in its segment (offset >= 32, the 9-byte frame head
//      fits), in log order; kStrict drops nothing.
//   2. A torn tail is reported only for the last segment and covers its
//      bytes from torn->offset to the end. An OK kStrict read without a
//      torn tail ends at the end of the last segment (last_end == its size).
//   3. The records of a kStrict read are a prefix of those of the kSkip
//      read; when kStrict is OK, kSkip returns the same records and report;
//      when kSkip is OK and dropped nothing, kStrict is OK.
//   4. Segment 1 followed by segment 2 (rules 2, 3, 5): if {1} reads OK,
//      sealed and not torn, {1, 2} reads OK with the same records; if {1}
//      reads OK but is torn or unsealed, {1, 2} is kCorruption; if {1}
//      fails, {1, 2} fails with the same code at the same offset, after the
//      same records.
// Unknown record types (e.g. a type added by a newer writer) are
// kUnimplemented by rule 6, which these invariants allow.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "atomik/file.hpp"
#include "atomik/wal.hpp"
#include "fuzz_check.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace {

using atomik::Code;
using atomik::FileContents;
using atomik::FileSystem;
using atomik::RecoveryMode;
using atomik::RecoveryReport;
using atomik::Result;
using atomik::Status;
using atomik::WalPlace;
using atomik::WalRecord;
using atomik::fuzz::hex;

constexpr char kDir[] = "mem";
constexpr std::size_t kSegmentHeaderSize = 32;  // docs/format/wal.md
constexpr std::size_t kFrameHeadSize = 9;       // checksum, length, type

// A read-only view of bytes the caller keeps alive.
class View final : public FileContents {
 public:
  explicit View(std::span<const std::byte> b) : bytes_(b) {}
  std::span<const std::byte> bytes() const override { return bytes_; }

 private:
  std::span<const std::byte> bytes_;
};

// An in-memory, read-only directory `mem` of WAL segments.
class MemFs final : public FileSystem {
 public:
  void add(std::uint64_t segment, std::span<const std::byte> bytes) {
    files_[atomik::wal_segment_name(segment)] = bytes;
  }
  bool wrote() const { return wrote_; }

  Result<std::unique_ptr<atomik::WritableFile>> open_writable(
      const std::string& path, bool) override {
    return refuse(path);
  }
  Result<std::vector<std::byte>> read_file(const std::string& path) override {
    const auto* b = find(path);
    if (b == nullptr) return Status::not_found("MemFs", path);
    return std::vector<std::byte>(b->begin(), b->end());
  }
  Result<std::unique_ptr<FileContents>> map_file(
      const std::string& path) override {
    const auto* b = find(path);
    if (b == nullptr) return Status::not_found("MemFs", path);
    return std::unique_ptr<FileContents>(std::make_unique<View>(*b));
  }
  Status rename(const std::string& from, const std::string&) override {
    return refuse(from);
  }
  Status remove(const std::string& path) override { return refuse(path); }
  Status truncate(const std::string& path, std::uint64_t) override {
    return refuse(path);
  }
  Status sync_dir(const std::string& dir) override { return refuse(dir); }
  Status create_dirs(const std::string& dir) override { return refuse(dir); }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    if (dir != kDir) return Status::not_found("MemFs", dir);
    std::vector<std::string> names;
    for (const auto& [name, bytes] : files_) names.push_back(name);
    return names;  // std::map keeps them sorted
  }
  bool exists(const std::string& path) override {
    return path == kDir || find(path) != nullptr;
  }

 private:
  const std::span<const std::byte>* find(const std::string& path) const {
    const std::string prefix = std::string(kDir) + "/";
    if (path.compare(0, prefix.size(), prefix) != 0) return nullptr;
    auto it = files_.find(path.substr(prefix.size()));
    return it == files_.end() ? nullptr : &it->second;
  }
  Status refuse(const std::string& path) {
    wrote_ = true;
    return Status::io_error("MemFs", "read-only: " + path);
  }

  std::map<std::string, std::span<const std::byte>> files_;
  bool wrote_ = false;
};

struct Visit {
  WalRecord record;
  WalPlace place;
  bool operator==(const Visit& o) const {
    return record == o.record && place.file == o.place.file &&
           place.segment == o.place.segment && place.offset == o.place.offset;
  }
};

struct Run {
  Status status;
  RecoveryReport report;
  std::vector<Visit> visits;
};

// A valid segment header with no frames (docs/format/wal.md grammar).
// An empty segment `number`, of header version 1 (an XOR table of 64-bit
// words) or, given the valid header of an earlier segment, of its header
// version and table shape (bytes 24-25): every segment of a table has the
// table's shape (docs/format/wal.md).
std::vector<std::byte> empty_segment(std::uint64_t number,
                                     std::span<const std::byte> like = {}) {
  std::vector<std::byte> h(kSegmentHeaderSize);
  std::memcpy(h.data(), "ATMKWAL", 8);  // with its NUL
  std::uint32_t version = 1;
  if (like.size() >= kSegmentHeaderSize) {
    std::memcpy(&version, like.data() + 8, 4);
    std::memcpy(h.data() + 24, like.data() + 24, 2);
  }
  std::memcpy(h.data() + 8, &version, 4);
  std::memcpy(h.data() + 16, &number, 8);
  const auto checksum = static_cast<std::uint32_t>(XXH3_64bits(h.data(), 28));
  std::memcpy(h.data() + 28, &checksum, 4);
  return h;
}

std::string where(const Run& r, std::span<const std::byte> in) {
  return r.status.to_string() + "; " + r.report.summary() + "; input " +
         hex(in);
}

// Runs read_wal() over `segments` (number -> bytes) and checks invariants
// 1 and 2.
Run read(const std::map<std::uint64_t, std::span<const std::byte>>& segments,
         RecoveryMode mode, std::span<const std::byte> in) {
  MemFs fs;
  for (const auto& [n, b] : segments) fs.add(n, b);
  Run r;
  r.status = atomik::read_wal(
      kDir, 1, mode,
      [&r](const WalRecord& rec, const WalPlace& place) {
        r.visits.push_back({rec, place});
        return Status();
      },
      &r.report, &fs);

  ATOMIK_FUZZ_CHECK(r.status.ok() || r.status.code() == Code::kCorruption ||
                        r.status.code() == Code::kUnimplemented,
                    where(r, in));
  ATOMIK_FUZZ_CHECK(!fs.wrote(), "read_wal wrote: " + where(r, in));
  // records_ok counts data records (a DELTA_RUN's entries, each visited as
  // a kDelta), not the log's own SYNC_MARK and SEAL frames.
  std::uint64_t data_records = 0;
  for (const Visit& v : r.visits) {
    data_records += !atomik::is_wal_bookkeeping(v.record.type);
  }
  ATOMIK_FUZZ_CHECK(
      r.report.records_ok == data_records,
      std::to_string(data_records) + " data records visited; " + where(r, in));
  const Visit* prev = nullptr;
  for (const Visit& v : r.visits) {
    auto it = segments.find(v.place.segment);
    ATOMIK_FUZZ_CHECK(
        it != segments.end() &&
            v.place.file == std::string(kDir) + "/" +
                                atomik::wal_segment_name(v.place.segment),
        "record in unknown file " + v.place.file);
    ATOMIK_FUZZ_CHECK(v.place.offset >= kSegmentHeaderSize &&
                          v.place.offset + kFrameHeadSize <= it->second.size(),
                      "record at offset " + std::to_string(v.place.offset) +
                          " of a " + std::to_string(it->second.size()) +
                          "-byte segment; " + where(r, in));
    if (prev != nullptr) {
      ATOMIK_FUZZ_CHECK(prev->place.segment < v.place.segment ||
                            (prev->place.segment == v.place.segment &&
                             prev->place.offset <= v.place.offset),
                        "records out of log order; " + where(r, in));
    }
    prev = &v;
  }
  if (mode == RecoveryMode::kStrict) {
    ATOMIK_FUZZ_CHECK(r.report.records_dropped == 0 &&
                          r.report.bytes_dropped == 0 && !r.report.first_bad,
                      "kStrict dropped records; " + where(r, in));
  }
  std::uint64_t total = 0;
  for (const auto& [n, b] : segments) total += b.size();
  ATOMIK_FUZZ_CHECK(r.report.bytes_dropped <= total,
                    "dropped more bytes than exist; " + where(r, in));

  const std::uint64_t last = segments.rbegin()->first;
  const std::uint64_t last_size = segments.rbegin()->second.size();
  if (r.report.torn) {
    ATOMIK_FUZZ_CHECK(
        r.report.torn->segment == last && r.report.torn->offset <= last_size &&
            r.report.torn->offset + r.report.torn_bytes == last_size,
        "torn tail not at the end of the last segment; " + where(r, in));
  }
  if (r.status.ok()) {
    ATOMIK_FUZZ_CHECK(
        r.report.segments == segments.size() && r.report.last_segment == last,
        "segments read; " + where(r, in));
    ATOMIK_FUZZ_CHECK(r.report.last_end <= last_size,
                      "last_end past the end; " + where(r, in));
    // kSkip may drop a damaged region that runs to the end.
    if (!r.report.torn && mode == RecoveryMode::kStrict) {
      ATOMIK_FUZZ_CHECK(r.report.last_end == last_size,
                        "OK read ends at " + std::to_string(r.report.last_end) +
                            " of " + std::to_string(last_size) + "; " +
                            where(r, in));
    }
  }
  return r;
}

bool is_prefix(const std::vector<Visit>& a, const std::vector<Visit>& b) {
  if (a.size() > b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i])) return false;
  }
  return true;
}

// Invariant 3.
void compare_modes(const Run& strict, const Run& skip,
                   std::span<const std::byte> in) {
  ATOMIK_FUZZ_CHECK(is_prefix(strict.visits, skip.visits),
                    "kStrict records are not a prefix of kSkip's; strict " +
                        where(strict, in) + "; skip " + where(skip, in));
  if (strict.status.ok()) {
    ATOMIK_FUZZ_CHECK(
        skip.status.ok() && skip.visits.size() == strict.visits.size() &&
            skip.report.records_dropped == 0 &&
            skip.report.torn.has_value() == strict.report.torn.has_value() &&
            skip.report.torn_bytes == strict.report.torn_bytes &&
            skip.report.last_end == strict.report.last_end &&
            skip.report.last_sealed == strict.report.last_sealed,
        "kStrict OK but kSkip differs; strict " + where(strict, in) +
            "; skip " + where(skip, in));
  }
  // Conversely, kSkip dropping nothing means there was nothing to drop.
  if (skip.status.ok() && skip.report.records_dropped == 0) {
    ATOMIK_FUZZ_CHECK(
        strict.status.ok() && strict.visits.size() == skip.visits.size(),
        "kSkip dropped nothing but kStrict failed; strict " +
            where(strict, in) + "; skip " + where(skip, in));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::span<const std::byte> in = atomik::fuzz::as_bytes(data, size);
  const std::map<std::uint64_t, std::span<const std::byte>> one = {{1, in}};
  const Run a = read(one, RecoveryMode::kStrict, in);
  const Run b = read(one, RecoveryMode::kSkip, in);
  compare_modes(a, b, in);
  // Segment 2 takes segment 1's header version and shape when segment 1
  // reads cleanly (its header is valid), else header version 1.
  const std::vector<std::byte> seg2 =
      a.status.ok() ? empty_segment(2, in) : empty_segment(2);
  const std::map<std::uint64_t, std::span<const std::byte>> two = {{1, in},
                                                                   {2, seg2}};
  const Run c = read(two, RecoveryMode::kStrict, in);
  const Run d = read(two, RecoveryMode::kSkip, in);
  compare_modes(c, d, in);

  // Invariant 4.
  if (a.status.ok() && !a.report.torn && a.report.last_sealed) {
    ATOMIK_FUZZ_CHECK(c.status.ok() && c.visits == a.visits &&
                          c.report.last_segment == 2 && !c.report.torn,
                      "sealed segment 1 then empty segment 2: " + where(c, in) +
                          "; alone: " + where(a, in));
  } else if (a.status.ok()) {
    ATOMIK_FUZZ_CHECK(c.status.code() == Code::kCorruption,
                      "torn or unsealed segment 1 before segment 2 read as " +
                          where(c, in) + "; alone: " + where(a, in));
  } else {
    // The same failure at the same place (the explanation may differ).
    const auto offs_a = atomik::fuzz::named_offsets(a.status.message());
    const auto offs_c = atomik::fuzz::named_offsets(c.status.message());
    ATOMIK_FUZZ_CHECK(
        c.status.code() == a.status.code() &&
            (offs_a.empty() ? offs_c.empty()
                            : !offs_c.empty() && offs_c[0] == offs_a[0]) &&
            c.visits == a.visits,
        "segment 1 fails alone (" + where(a, in) +
            ") but before segment 2: " + where(c, in));
  }
  return 0;
}
