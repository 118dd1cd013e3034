// SPDX-License-Identifier: Apache-2.0
// Frame encoder and validating decoder. See docs/format/wire.md.
#include "atomik/frame.hpp"

#include <string>

#include "atomik/word.hpp"
#include "codec/byte_order.hpp"
#include "codec/checksum.hpp"
#include "codec/hex.hpp"

namespace atomik {
namespace {

using codec::hex64;
using codec::load_le;
using codec::store_le;

// Written to the wire; never change. See docs/format/wire.md.
constexpr std::byte kMagic[4] = {std::byte{0x41}, std::byte{0x4b},
                                 std::byte{0x44}, std::byte{0x46}};  // AKDF
constexpr std::size_t kOffVersion = 4;
constexpr std::size_t kOffFlags = 5;
constexpr std::size_t kOffTagLen = 6;
constexpr std::size_t kOffReserved0 = 7;
constexpr std::size_t kOffOrigin = 8;
constexpr std::size_t kOffEpoch = 16;
constexpr std::size_t kOffBaseSeq = 24;
constexpr std::size_t kOffCount = 32;
constexpr std::size_t kOffReserved1 = 36;
constexpr std::size_t kOffChecksum = 40;

// XXH3-64 (seed 0) of frame[0, 40) ++ frame[48, size): the frame without its
// checksum field.
std::uint64_t frame_checksum(const std::byte* frame, std::size_t size) {
  // Small frames: one-shot hash of a contiguous copy (the streaming state's
  // setup costs more than hashing a few hundred bytes). Same value.
  constexpr std::size_t kSmall = 256;
  if (size - 8 <= kSmall) {
    std::byte buf[kSmall];
    std::memcpy(buf, frame, kOffChecksum);
    std::memcpy(buf + kOffChecksum, frame + kFrameHeaderSize,
                size - kFrameHeaderSize);
    return codec::checksum64({buf, size - 8});
  }
  return codec::checksum64({frame, kOffChecksum},
                           {frame + kFrameHeaderSize, size - kFrameHeaderSize});
}

Status corrupt_at(std::uint64_t base, std::size_t off,
                  const std::string& what) {
  return Status::corruption(
      "frame at offset " + std::to_string(base),
      "offset " + std::to_string(base + off) + ": " + what);
}

}  // namespace

Result<FrameView> parse_frame(std::span<const std::byte> bytes,
                              const FrameLimits& limits,
                              std::uint64_t base_offset) {
  if (limits.max_frame_bytes < kFrameHeaderSize ||
      limits.max_frame_bytes > kFrameMaxLimit) {
    return Status::invalid_argument("parse_frame",
                                    "max_frame_bytes " +
                                        std::to_string(limits.max_frame_bytes) +
                                        " not in [48, 2^30]");
  }
  if (bytes.size() < kFrameHeaderSize) {
    return corrupt_at(base_offset, bytes.size(),
                      "truncated header: need 48 bytes, have " +
                          std::to_string(bytes.size()));
  }
  const std::byte* p = bytes.data();
  for (std::size_t i = 0; i < 4; ++i) {
    if (p[i] != kMagic[i]) {
      return corrupt_at(base_offset, i,
                        "bad magic (expected 414b4446 \"AKDF\")");
    }
  }
  const auto version = static_cast<std::uint8_t>(p[kOffVersion]);
  if (version != kFrameVersion) {
    return Status::unimplemented(
        "frame at offset " + std::to_string(base_offset),
        "offset " + std::to_string(base_offset + kOffVersion) +
            ": unsupported version " + std::to_string(version) +
            " (this reader knows 1)");
  }
  const auto flags = static_cast<std::uint8_t>(p[kOffFlags]);
  if ((flags & ~kFrameFlagAuthTag) != 0) {
    return Status::unimplemented(
        "frame at offset " + std::to_string(base_offset),
        "offset " + std::to_string(base_offset + kOffFlags) +
            ": unknown flags " + atomik::to_hex(flags));
  }
  const auto tag_len = static_cast<std::uint8_t>(p[kOffTagLen]);
  const bool has_tag = (flags & kFrameFlagAuthTag) != 0;
  if (has_tag ? (tag_len == 0 || tag_len > kFrameMaxTagLen) : tag_len != 0) {
    return corrupt_at(base_offset, kOffTagLen,
                      "tag_len " + std::to_string(tag_len) +
                          (has_tag ? " not in [1, 64] with the tag flag set"
                                   : " != 0 with the tag flag clear"));
  }
  if (p[kOffReserved0] != std::byte{0}) {
    return corrupt_at(base_offset, kOffReserved0, "reserved byte is not 0");
  }
  FrameView v;
  v.header_.origin = load_le<std::uint64_t>(p + kOffOrigin);
  v.header_.epoch = load_le<std::uint64_t>(p + kOffEpoch);
  v.header_.base_seq = load_le<std::uint64_t>(p + kOffBaseSeq);
  v.count_ = load_le<std::uint32_t>(p + kOffCount);
  if (v.header_.origin == 0) {
    return corrupt_at(base_offset, kOffOrigin,
                      "origin 0 is reserved (legacy 16-byte messages)");
  }
  if (load_le<std::uint32_t>(p + kOffReserved1) != 0) {
    return corrupt_at(base_offset, kOffReserved1, "reserved field is not 0");
  }
  const std::uint64_t size = frame_size(v.count_, tag_len);
  if (size > limits.max_frame_bytes) {
    return Status::resource_exhausted(
        "frame at offset " + std::to_string(base_offset),
        "offset " + std::to_string(base_offset + kOffCount) + ": count " +
            std::to_string(v.count_) + " makes a frame of " +
            std::to_string(size) + " bytes, above max_frame_bytes " +
            std::to_string(limits.max_frame_bytes));
  }
  if (v.count_ > 0 && (v.header_.base_seq == 0 ||
                       v.header_.base_seq - 1 > UINT64_MAX - v.count_)) {
    return corrupt_at(base_offset, kOffBaseSeq,
                      "base_seq " + std::to_string(v.header_.base_seq) +
                          " invalid for count " + std::to_string(v.count_) +
                          " (seqs must be in [1, 2^64-1])");
  }
  if (bytes.size() < size) {
    return corrupt_at(base_offset, bytes.size(),
                      "truncated frame: header says " + std::to_string(size) +
                          " bytes, have " + std::to_string(bytes.size()));
  }
  const auto stored = load_le<std::uint64_t>(p + kOffChecksum);
  const std::uint64_t computed =
      frame_checksum(p, static_cast<std::size_t>(size));
  if (stored != computed) {
    return corrupt_at(base_offset, kOffChecksum,
                      "checksum mismatch (stored " + hex64(stored) +
                          ", computed " + hex64(computed) + ")");
  }
  v.size_ = static_cast<std::size_t>(size);
  v.frame_ = p;
  v.records_ = p + kFrameHeaderSize;
  v.tag_ = {p + kFrameHeaderSize + kFrameRecordSize * v.count_, tag_len};
  return v;
}

Result<Frame> decode_frame(std::span<const std::byte> bytes,
                           const FrameLimits& limits,
                           std::uint64_t base_offset) {
  Result<FrameView> v = parse_frame(bytes, limits, base_offset);
  if (!v.ok()) return v.status();
  Frame f;
  f.header = v->header();
  f.records.resize(v->count());
  for (std::size_t i = 0; i < f.records.size(); ++i) {
    f.records[i] = v->record(i);
  }
  f.auth_tag.assign(v->auth_tag().begin(), v->auth_tag().end());
  return f;
}

Result<std::size_t> encode_frame_into(const FrameHeader& header,
                                      std::span<const FrameRecord> records,
                                      std::span<const std::byte> tag,
                                      std::span<std::byte> out,
                                      const FrameLimits& limits) {
  if (header.origin == 0) {
    return Status::invalid_argument("encode_frame",
                                    "origin 0 is reserved for legacy messages");
  }
  if (tag.size() > kFrameMaxTagLen) {
    return Status::invalid_argument(
        "encode_frame",
        "auth tag of " + std::to_string(tag.size()) + " bytes > 64");
  }
  if (records.size() > UINT32_MAX) {
    return Status::invalid_argument(
        "encode_frame",
        std::to_string(records.size()) + " records > 2^32-1 per frame");
  }
  if (!records.empty() && (header.base_seq == 0 ||
                           header.base_seq - 1 > UINT64_MAX - records.size())) {
    return Status::invalid_argument(
        "encode_frame", "base_seq " + std::to_string(header.base_seq) +
                            " invalid for " + std::to_string(records.size()) +
                            " records (seqs must be in [1, 2^64-1])");
  }
  const std::uint64_t size = frame_size(records.size(), tag.size());
  if (size > limits.max_frame_bytes ||
      limits.max_frame_bytes > kFrameMaxLimit) {
    return Status::resource_exhausted(
        "encode_frame", "frame of " + std::to_string(size) +
                            " bytes above max_frame_bytes " +
                            std::to_string(limits.max_frame_bytes));
  }
  if (out.size() < size) {
    return Status::out_of_range(
        "encode_frame", "output of " + std::to_string(out.size()) +
                            " bytes < frame size " + std::to_string(size));
  }
  std::byte* p = out.data();
  std::memcpy(p, kMagic, 4);
  p[kOffVersion] = std::byte{kFrameVersion};
  p[kOffFlags] = tag.empty() ? std::byte{0} : std::byte{kFrameFlagAuthTag};
  p[kOffTagLen] = static_cast<std::byte>(tag.size());
  p[kOffReserved0] = std::byte{0};
  store_le<std::uint64_t>(p + kOffOrigin, header.origin);
  store_le<std::uint64_t>(p + kOffEpoch, header.epoch);
  store_le<std::uint64_t>(p + kOffBaseSeq, header.base_seq);
  store_le<std::uint32_t>(p + kOffCount,
                          static_cast<std::uint32_t>(records.size()));
  store_le<std::uint32_t>(p + kOffReserved1, 0);
  std::byte* r = p + kFrameHeaderSize;
  for (const FrameRecord& rec : records) {
    store_le<std::uint32_t>(r, rec.addr);
    store_le<std::uint64_t>(r + 4, rec.delta);
    r += kFrameRecordSize;
  }
  if (!tag.empty()) std::memcpy(r, tag.data(), tag.size());
  store_le<std::uint64_t>(p + kOffChecksum,
                          frame_checksum(p, static_cast<std::size_t>(size)));
  return static_cast<std::size_t>(size);
}

Result<std::vector<std::byte>> encode_frame(
    const FrameHeader& header, std::span<const FrameRecord> records,
    std::span<const std::byte> tag, const FrameLimits& limits) {
  if (records.size() > limits.max_frame_bytes / kFrameRecordSize) {
    return Status::resource_exhausted(
        "encode_frame", std::to_string(records.size()) +
                            " records exceed max_frame_bytes " +
                            std::to_string(limits.max_frame_bytes));
  }
  std::vector<std::byte> out(
      static_cast<std::size_t>(frame_size(records.size(), tag.size())));
  Result<std::size_t> n = encode_frame_into(header, records, tag, out, limits);
  if (!n.ok()) return n.status();
  return out;
}

}  // namespace atomik
