// SPDX-License-Identifier: Apache-2.0
// WAL record encoding (docs/format/wal.md).
#include "storage/wal_record.hpp"

#include "codec/hex.hpp"

namespace atomik::storage {

std::uint32_t payload_size(std::uint8_t type) noexcept {
  // DELTA_RUN (9) is variable (run_frame_size): 0, like unknown types.
  return type < sizeof kPayloadSize ? kPayloadSize[type] : 0;
}

void append_header(std::vector<std::byte>& out, std::uint64_t number,
                   const TableShape& shape) {
  const std::size_t at = out.size();
  out.resize(at + kHeaderSize);
  std::byte* p = out.data() + at;
  std::memcpy(p, kSegmentMagic, 8);
  store_le<std::uint32_t>(p + 8, kVersion);
  store_le<std::uint32_t>(p + 12, 0);
  store_le<std::uint64_t>(p + 16, number);
  p[24] = static_cast<std::byte>(shape.word_bits);
  p[25] = static_cast<std::byte>(shape.group);
  store_le<std::uint16_t>(p + 26, 0);
  store_le<std::uint32_t>(p + 28, checksum32({p, 28}));
}

std::size_t write_frame(std::byte* p, const WalRecord& r) noexcept {
  const auto type = static_cast<std::uint8_t>(r.type);
  const std::uint32_t len = payload_size(type);
  ATOMIK_DCHECK(len != 0);
  store_le<std::uint32_t>(p + 4, len);
  p[8] = static_cast<std::byte>(type);
  std::byte* q = p + kFrameHeadSize;
  if (len == 8) {
    store_le<std::uint64_t>(q, r.value);
  } else {
    store_le<std::uint64_t>(q, r.origin);
    store_le<std::uint64_t>(q + 8, r.seq);
    store_le<std::uint32_t>(q + 16, r.addr);
    if (len == 28) store_le<std::uint64_t>(q + 20, r.value);
  }
  store_le<std::uint32_t>(p, checksum32({p + 4, 5 + std::size_t{len}}));
  return kFrameHeadSize + len;
}

std::size_t write_run_frame(
    std::byte* p, std::uint64_t origin, std::uint64_t first_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) noexcept {
  ATOMIK_DCHECK(!deltas.empty() && deltas.size() <= storage::kMaxRunDeltas);
  const std::size_t len = kRunHeadSize + kRunEntrySize * deltas.size();
  store_le<std::uint32_t>(p + 4, static_cast<std::uint32_t>(len));
  p[8] = static_cast<std::byte>(kRunType);
  std::byte* q = p + kFrameHeadSize;
  store_le<std::uint64_t>(q, origin);
  store_le<std::uint64_t>(q + 8, first_seq);
  store_le<std::uint32_t>(q + 16, static_cast<std::uint32_t>(deltas.size()));
  q += kRunHeadSize;
  for (const auto& [a, d] : deltas) {
    store_le<std::uint32_t>(q, a);
    store_le<std::uint64_t>(q + 4, d);
    q += kRunEntrySize;
  }
  store_le<std::uint32_t>(p, checksum32({p + 4, 5 + len}));
  return kFrameHeadSize + len;
}

void append_run_frame(
    std::vector<std::byte>& out, std::uint64_t origin, std::uint64_t first_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas) {
  const std::size_t at = out.size();
  out.resize(at + run_frame_size(deltas.size()));
  write_run_frame(out.data() + at, origin, first_seq, deltas);
}

void append_frame(std::vector<std::byte>& out, const WalRecord& r) {
  const std::size_t at = out.size();
  out.resize(at + kFrameHeadSize +
             payload_size(static_cast<std::uint8_t>(r.type)));
  write_frame(out.data() + at, r);
}

FrameResult decode_frame(std::span<const std::byte> data, std::size_t off,
                         WalRecord* rec, std::size_t* size, std::string* why) {
  const std::size_t left = data.size() - off;
  if (left < kFrameHeadSize) {
    *why = "frame head needs 9 bytes, " + std::to_string(left) + " left";
    return FrameResult::kBad;
  }
  const std::byte* p = data.data() + off;
  const auto len = load_le<std::uint32_t>(p + 4);
  if (len > kMaxPayload) {
    *why = "length " + std::to_string(len) + " > limit " +
           std::to_string(kMaxPayload);
    return FrameResult::kBad;
  }
  if (left - kFrameHeadSize < len) {
    *why = "payload of " + std::to_string(len) + " bytes, " +
           std::to_string(left - kFrameHeadSize) + " left";
    return FrameResult::kBad;
  }
  const auto stored = load_le<std::uint32_t>(p);
  const std::uint32_t computed = checksum32({p + 4, 5 + std::size_t{len}});
  if (stored != computed) {
    *why = "checksum mismatch (stored " + codec::hex32(stored) + ", computed " +
           codec::hex32(computed) + ")";
    return FrameResult::kBad;
  }
  const auto type = static_cast<std::uint8_t>(p[8]);
  const std::byte* q = p + kFrameHeadSize;
  if (type == kRunType) {
    if (len < kRunHeadSize + kRunEntrySize ||
        (len - kRunHeadSize) % kRunEntrySize != 0 ||
        (len - kRunHeadSize) / kRunEntrySize > storage::kMaxRunDeltas) {
      *why = "length " + std::to_string(len) +
             " for a delta run, expected 20 + 12 * count with 1 <= count <= " +
             std::to_string(storage::kMaxRunDeltas);
      return FrameResult::kBad;
    }
    const auto count = load_le<std::uint32_t>(q + 16);
    const auto first = load_le<std::uint64_t>(q + 8);
    if (count != (len - kRunHeadSize) / kRunEntrySize) {
      *why = "delta run count " + std::to_string(count) + " but length " +
             std::to_string(len) + " holds " +
             std::to_string((len - kRunHeadSize) / kRunEntrySize);
      return FrameResult::kBad;
    }
    if (first == 0 || first + count - 1 < first) {
      *why = "delta run first_seq " + std::to_string(first) + " with count " +
             std::to_string(count) + " (seq 0 or overflow)";
      return FrameResult::kBad;
    }
    *rec = WalRecord{.type = storage::kDeltaRun,
                     .origin = load_le<std::uint64_t>(q),
                     .seq = first,
                     .addr = 0,
                     .value = count};
    *size = kFrameHeadSize + len;
    return FrameResult::kGood;
  }
  const std::uint32_t want = payload_size(type);
  if (want == 0) {
    *why = "unknown record type " + std::to_string(type);
    return FrameResult::kUnknownType;
  }
  if (len != want) {
    *why = "length " + std::to_string(len) + " for type " +
           std::to_string(type) + ", expected " + std::to_string(want);
    return FrameResult::kBad;
  }
  WalRecord r;
  r.type = static_cast<WalRecordType>(type);
  if (len == 8) {
    r.value = load_le<std::uint64_t>(q);
  } else {
    r.origin = load_le<std::uint64_t>(q);
    r.seq = load_le<std::uint64_t>(q + 8);
    r.addr = load_le<std::uint32_t>(q + 16);
    if (len == 28) r.value = load_le<std::uint64_t>(q + 20);
  }
  *rec = r;
  *size = kFrameHeadSize + len;
  return FrameResult::kGood;
}

std::string check_header(std::span<const std::byte> data, std::uint64_t* number,
                         bool* bad_version, TableShape* shape) {
  *bad_version = false;
  if (data.size() < kHeaderSize) {
    return "segment header needs 32 bytes, file has " +
           std::to_string(data.size());
  }
  const std::byte* p = data.data();
  if (std::memcmp(p, kSegmentMagic, 8) != 0) {
    return "bad magic (not a WAL segment)";
  }
  const auto stored = load_le<std::uint32_t>(p + 28);
  const std::uint32_t computed = checksum32({p, 28});
  if (stored != computed) {
    return "header checksum mismatch (stored " + codec::hex32(stored) +
           ", computed " + codec::hex32(computed) + ")";
  }
  const auto version = load_le<std::uint32_t>(p + 8);
  if (version != kVersion && version != kVersionV1) {
    *bad_version = true;
    return "segment version " + std::to_string(version) +
           ", this build reads " + std::to_string(kVersionV1) + " and " +
           std::to_string(kVersion);
  }
  if (version == kVersionV1) {
    if (load_le<std::uint32_t>(p + 12) != 0 ||
        load_le<std::uint32_t>(p + 24) != 0) {
      return "header flags/reserved not 0";
    }
    *shape = TableShape{};
  } else {
    if (load_le<std::uint32_t>(p + 12) != 0 ||
        load_le<std::uint16_t>(p + 26) != 0) {
      return "header flags/reserved not 0";
    }
    const TableShape s{.group = static_cast<TableGroup>(p[25]),
                       .word_bits = static_cast<std::uint8_t>(p[24])};
    const Status v = validate_shape(s, "header");
    if (!v.ok()) return std::string(v.message());
    *shape = s;
  }
  *number = load_le<std::uint64_t>(p + 16);
  return "";
}

void append_horizon(std::vector<std::byte>& out, std::uint64_t segment,
                    std::uint64_t synced_offset) {
  const std::size_t at = out.size();
  out.resize(at + kHorizonRecordSize);
  std::byte* p = out.data() + at;
  store_le<std::uint64_t>(p, segment);
  store_le<std::uint64_t>(p + 8, synced_offset);
  store_le<std::uint64_t>(p + 16, checksum64({p, 16}));
}

Horizon read_horizon(std::span<const std::byte> data) {
  Horizon h;
  const std::size_t n = data.size() / kHorizonRecordSize;
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* p = data.data() + i * kHorizonRecordSize;
    if (load_le<std::uint64_t>(p + 16) != checksum64({p, 16})) {
      if (i + 1 < n && h.bad_at == ~std::size_t{0}) {
        h.bad_at = i * kHorizonRecordSize;
      }
      continue;
    }
    const auto seg = load_le<std::uint64_t>(p);
    const auto off = load_le<std::uint64_t>(p + 8);
    if (seg > h.segment || (seg == h.segment && off > h.synced_offset)) {
      h.segment = seg;
      h.synced_offset = off;
    }
  }
  return h;
}

}  // namespace atomik::storage
