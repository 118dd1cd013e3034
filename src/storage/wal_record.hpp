// SPDX-License-Identifier: Apache-2.0
// WAL record encoding (docs/format/wal.md). Private to src/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/wal.hpp"
#include "codec/byte_order.hpp"
// Inline XXH3 for the reader's fast path below: with the frame length a
// compile-time constant the hash specialises to its 1-3/4-8/9-16/17-128 byte
// path and the call disappears (recovery is checksum-bound: ~30% of it).
#include "codec/checksum.hpp"

namespace atomik::storage {

// The record types the writer keeps to itself (the public enum stops at
// kEpoch). Written to disk; never change. See docs/format/wal.md.
inline constexpr WalRecordType kSyncMark = static_cast<WalRecordType>(7);
inline constexpr WalRecordType kSeal = static_cast<WalRecordType>(8);
inline constexpr WalRecordType kDeltaRun = static_cast<WalRecordType>(9);
// Most deltas in one DELTA_RUN frame; longer batches are split into several.
inline constexpr std::uint32_t kMaxRunDeltas = 4096;

// Written to disk; never change. See docs/format/wal.md.
inline constexpr char kSegmentMagic[8] = {'A', 'T', 'M', 'K',
                                          'W', 'A', 'L', '\0'};
// Header version 2 (format version 3) names the table's shape; version 1
// (shape bytes 0) is still read as xor/64.
inline constexpr std::uint32_t kVersion = 2;
inline constexpr std::uint32_t kVersionV1 = 1;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kFrameHeadSize = 9;  // checksum, length, type
// The largest payload a reader considers before checking the type.
inline constexpr std::uint32_t kMaxPayload = 1 << 16;
inline constexpr std::size_t kDeltaFrameSize = kFrameHeadSize + 28;
inline constexpr std::size_t kMarkFrameSize = kFrameHeadSize + 8;
// DELTA_RUN: origin, first_seq, count, then 12-byte (addr, delta) entries.
inline constexpr std::size_t kRunHeadSize = 20;
inline constexpr std::size_t kRunEntrySize = 12;
inline constexpr std::uint8_t kRunType = static_cast<std::uint8_t>(kDeltaRun);
static_assert(kRunHeadSize + kRunEntrySize * kMaxRunDeltas <= 1 << 16,
              "a full run must fit the reader's frame limit");

// Frame bytes of a DELTA_RUN of `count` entries.
constexpr std::size_t run_frame_size(std::size_t count) noexcept {
  return kFrameHeadSize + kRunHeadSize + kRunEntrySize * count;
}

using codec::load_le;
using codec::store_le;

// Entry i of a DELTA_RUN read by read_wal(): addr u32 then delta u64,
// little-endian, 12 bytes apart. Inline: recovery reads every entry.
inline Addr run_addr(const WalDeltaRun& run, std::size_t i) noexcept {
  return load_le<std::uint32_t>(run.entries + kRunEntrySize * i);
}
inline std::uint64_t run_delta(const WalDeltaRun& run, std::size_t i) noexcept {
  return load_le<std::uint64_t>(run.entries + kRunEntrySize * i + 4);
}

// The WAL's checksums: codec::checksum32 (frames, segment headers) and
// codec::checksum64 (the horizon file; checkpoints).
using codec::checksum32;
using codec::checksum64;

// Payload size fixed for `type`; 0 for an unknown type and for DELTA_RUN
// (whose size depends on its count).
std::uint32_t payload_size(std::uint8_t type) noexcept;

// Appends the 32-byte header (version 2) of segment `number` of a table of
// `shape` to `out`.
void append_header(std::vector<std::byte>& out, std::uint64_t number,
                   const TableShape& shape = {});
// Appends one frame for `r` to `out`. `r.type` must be known (DCHECK).
void append_frame(std::vector<std::byte>& out, const WalRecord& r);
// Writes one frame for `r` at `p` (payload_size + 9 bytes available).
std::size_t write_frame(std::byte* p, const WalRecord& r) noexcept;
// Writes one DELTA_RUN frame at `p` (run_frame_size(deltas.size()) bytes
// available); 1 <= deltas.size() <= kMaxRunDeltas (DCHECK).
std::size_t write_run_frame(
    std::byte* p, std::uint64_t origin, std::uint64_t first_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) noexcept;
void append_run_frame(
    std::vector<std::byte>& out, std::uint64_t origin, std::uint64_t first_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas);

// Payload sizes by type (0: unknown), for the inline fast path.
inline constexpr std::uint8_t kPayloadSize[9] = {0,  28, 28, 28, 20,
                                                 20, 8,  8,  8};

// The reader's fast path: true and *rec, *size set if data[off] holds a good
// frame of a known type; false otherwise (call decode_frame for why).
inline bool decode_good_frame(std::span<const std::byte> data, std::size_t off,
                              WalRecord* rec, std::size_t* size) noexcept {
  const std::size_t left = data.size() - off;
  if (left < kFrameHeadSize) return false;
  const std::byte* p = data.data() + off;
  // Streams through mapped pages: fetch ahead of the loads below.
  __builtin_prefetch(p + 1024);
  const auto len = load_le<std::uint32_t>(p + 4);
  const auto type = static_cast<std::uint8_t>(p[8]);
  if (type >= sizeof kPayloadSize || len != kPayloadSize[type] || len == 0 ||
      left - kFrameHeadSize < len) {
    return false;
  }
  // Same value as checksum32({p + 4, 5 + len}), with the length constant.
  std::uint64_t sum = 0;
  switch (len) {
    case 28:
      sum = codec::checksum64({p + 4, 5 + 28});
      break;
    case 20:
      sum = codec::checksum64({p + 4, 5 + 20});
      break;
    default:  // 8: the only other length kPayloadSize holds
      sum = codec::checksum64({p + 4, 5 + 8});
      break;
  }
  if (load_le<std::uint32_t>(p) != static_cast<std::uint32_t>(sum)) {
    return false;
  }
  const std::byte* q = p + kFrameHeadSize;
  rec->type = static_cast<WalRecordType>(type);
  if (len == 8) {
    rec->origin = 0;
    rec->seq = 0;
    rec->addr = 0;
    rec->value = load_le<std::uint64_t>(q);
  } else {
    rec->origin = load_le<std::uint64_t>(q);
    rec->seq = load_le<std::uint64_t>(q + 8);
    rec->addr = load_le<std::uint32_t>(q + 16);
    rec->value = len == 28 ? load_le<std::uint64_t>(q + 20) : 0;
  }
  *size = kFrameHeadSize + len;
  return true;
}

enum class FrameResult : std::uint8_t { kGood, kBad, kUnknownType };
// Decodes the frame at data[off]. kGood: *rec and *size set (a DELTA_RUN
// gives type kDeltaRun, origin, seq = first_seq, value = count; its entries
// start at data[off + kFrameHeadSize + kRunHeadSize]). kBad or kUnknownType:
// *why says what is wrong.
FrameResult decode_frame(std::span<const std::byte> data, std::size_t off,
                         WalRecord* rec, std::size_t* size, std::string* why);

// Checks a segment header; "" if good, else what is wrong. Sets *number and
// *shape (xor/64 for header version 1). Sets *bad_version (text for
// kUnimplemented) for another version.
std::string check_header(std::span<const std::byte> data, std::uint64_t* number,
                         bool* bad_version, TableShape* shape);

// The sync horizon file (docs/format/wal.md, "Sync horizon"): a sequence
// of 24-byte records (segment, synced_offset, XXH3-64 of those 16 bytes),
// each appended after the segment bytes it names were fdatasynced (the
// file itself is synced at most every 10 ms, on roll and on close).
inline constexpr const char* kHorizonFileName = "WAL_HORIZON";
inline constexpr std::size_t kHorizonRecordSize = 24;
// The horizon file is rewritten (one record) once it reaches this size.
inline constexpr std::size_t kHorizonRewriteBytes = 64 << 10;

void append_horizon(std::vector<std::byte>& out, std::uint64_t segment,
                    std::uint64_t synced_offset);

struct Horizon {
  std::uint64_t segment = 0;  // 0: the file holds no good record
  std::uint64_t synced_offset = 0;
  // Offset of the first bad record before the last one (a bad or partial
  // last record is a torn append: expected after a crash), or npos.
  std::size_t bad_at = ~std::size_t{0};
};
// The largest (segment, synced_offset) among the good records of `data`.
Horizon read_horizon(std::span<const std::byte> data);

}  // namespace atomik::storage
