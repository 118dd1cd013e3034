// SPDX-License-Identifier: Apache-2.0
// atomik/frame.hpp: framed delta batches, our own wire format.
//
// A frame carries `count` deltas of one origin replica: a 48-byte header
// (magic "AKDF", version, flags, origin, epoch, 64-bit base seq, count,
// XXH3-64 checksum), then 12-byte records (addr u32, delta u64; record i has
// seq base_seq + i), then an optional authentication tag. Little-endian.
// The layout, reader rules and test vectors are in docs/format/wire.md.
//
//   atomik::FrameHeader h{.origin = 1, .epoch = 0, .base_seq = 1};
//   std::vector<atomik::FrameRecord> recs = {{7, 0xFF}, {9, 0x10}};
//   auto bytes = atomik::encode_frame(h, recs);      // Result<vector<byte>>
//   auto v = atomik::parse_frame(*bytes);            // Result<FrameView>
//   v->record(1).addr;                               // 9; v->seq(1) == 2
//
// Decoding is bounded and validating: parse_frame checks every field, the
// size against FrameLimits::max_frame_bytes (before allocating anything)
// and the checksum, and names the failing offset. There is no unchecked
// decoder. Thread safety: free functions and value types; a FrameView must
// not outlive the bytes it views.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "atomik/export.h"
#include "atomik/message.hpp"
#include "atomik/status.hpp"
#include "atomik/types.hpp"

namespace atomik {

// Frames are little-endian and decoded with plain loads.
static_assert(std::endian::native == std::endian::little,
              "atomik frames assume a little-endian host");

// Written to the wire; never change. See docs/format/wire.md.
inline constexpr std::size_t kFrameHeaderSize = 48;
inline constexpr std::size_t kFrameRecordSize = 12;
inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::uint8_t kFrameFlagAuthTag = 0x01;
inline constexpr std::size_t kFrameMaxTagLen = 64;
// The largest max_frame_bytes a reader accepts as a limit (1 GiB).
inline constexpr std::size_t kFrameMaxLimit = std::size_t{1} << 30;

struct FrameLimits {
  // Frames larger than this are refused by both encoder and decoder
  // (kResourceExhausted). At least kFrameHeaderSize, at most kFrameMaxLimit.
  std::size_t max_frame_bytes = std::size_t{4} << 20;
};

struct FrameHeader {
  OriginId origin = 0;      // != 0
  std::uint64_t epoch = 0;  // the origin's incarnation; not interpreted
  Seq base_seq = 0;         // seq of record 0 (>= 1 when count > 0)
};

// An owning, decoded frame.
struct Frame {
  FrameHeader header;
  std::vector<FrameRecord> records;
  std::vector<std::byte> auth_tag;  // empty: no tag
};

// The size of a frame with `count` records and a `tag_len`-byte tag.
constexpr std::uint64_t frame_size(std::uint64_t count,
                                   std::uint64_t tag_len) noexcept {
  return kFrameHeaderSize + kFrameRecordSize * count + tag_len;
}

// A validated frame inside caller-owned bytes (zero copy). Built only by
// parse_frame, so every accessor is in bounds.
class FrameView {
 public:
  // Origin, epoch and base seq of the frame.
  const FrameHeader& header() const noexcept { return header_; }
  // The number of records.
  std::uint32_t count() const noexcept { return count_; }
  // The frame's total size in bytes (where the next frame starts).
  std::size_t size() const noexcept { return size_; }
  // Record i (i < count()).
  FrameRecord record(std::size_t i) const noexcept {
    const std::byte* p = records_ + i * kFrameRecordSize;
    FrameRecord r;
    std::memcpy(&r.addr, p, 4);
    std::memcpy(&r.delta, p + 4, 8);
    return r;
  }
  // The seq of record i: base_seq + i.
  Seq seq(std::size_t i) const noexcept { return header_.base_seq + i; }
  // The auth tag bytes (empty when the flag is clear).
  std::span<const std::byte> auth_tag() const noexcept { return tag_; }
  // The bytes an auth tag covers: the header without its checksum field
  // ([0, 40)) and the records are given separately as header_bytes() and
  // record_bytes().
  std::span<const std::byte> header_bytes() const noexcept {
    return {frame_, 40};
  }
  std::span<const std::byte> record_bytes() const noexcept {
    return {records_, kFrameRecordSize * count_};
  }

 private:
  friend Result<FrameView> parse_frame(std::span<const std::byte>,
                                       const FrameLimits&, std::uint64_t);
  FrameHeader header_;
  std::uint32_t count_ = 0;
  std::size_t size_ = 0;
  const std::byte* frame_ = nullptr;
  const std::byte* records_ = nullptr;
  std::span<const std::byte> tag_;
};

// Validates the frame at the start of `bytes` (bytes after it are ignored)
// per docs/format/wire.md section 4 and returns a view of it. Errors
// (kCorruption, kUnimplemented, kResourceExhausted) name the offset
// `base_offset + field offset`. O(frame size) (the checksum).
ATOMIK_EXPORT Result<FrameView> parse_frame(std::span<const std::byte> bytes,
                                            const FrameLimits& limits = {},
                                            std::uint64_t base_offset = 0);
// parse_frame, then copies the records and tag out.
ATOMIK_EXPORT Result<Frame> decode_frame(std::span<const std::byte> bytes,
                                         const FrameLimits& limits = {},
                                         std::uint64_t base_offset = 0);

// Writes a frame into `out` (at least frame_size(records.size(),
// tag.size()) bytes) and returns the bytes written. Fails without writing
// on origin 0, base_seq 0 with records, seq overflow, a tag over 64 bytes
// (kInvalidArgument), a frame above limits.max_frame_bytes
// (kResourceExhausted) or `out` too small (kOutOfRange). O(frame size).
ATOMIK_EXPORT Result<std::size_t> encode_frame_into(
    const FrameHeader& header, std::span<const FrameRecord> records,
    std::span<const std::byte> tag, std::span<std::byte> out,
    const FrameLimits& limits = {});
// The same into a new vector.
ATOMIK_EXPORT Result<std::vector<std::byte>> encode_frame(
    const FrameHeader& header, std::span<const FrameRecord> records,
    std::span<const std::byte> tag = {}, const FrameLimits& limits = {});

}  // namespace atomik
