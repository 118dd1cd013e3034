// SPDX-License-Identifier: Apache-2.0
// The Redis snapshot and REDIS_STATE layouts: docs/format/redis.md.
#include "transport/redis_format.hpp"

#include <algorithm>
#include <cstring>

#include "codec/byte_order.hpp"
#include "codec/checksum.hpp"
#include "codec/hex.hpp"

namespace atomik::transport {
namespace {

// Written to Redis / disk; never change. See docs/format/redis.md.
constexpr std::byte kSnapshotMagic[4] = {std::byte{'A'}, std::byte{'K'},
                                         std::byte{'R'}, std::byte{'S'}};
constexpr std::byte kStateMagic[4] = {std::byte{'A'}, std::byte{'K'},
                                      std::byte{'R'}, std::byte{'P'}};
constexpr std::uint64_t kMaxShards = 1024;

void put32(std::vector<std::byte>& out, std::uint32_t v) {
  const std::size_t at = out.size();
  out.resize(at + 4);
  std::memcpy(out.data() + at, &v, 4);
}
void put64(std::vector<std::byte>& out, std::uint64_t v) {
  const std::size_t at = out.size();
  out.resize(at + 8);
  std::memcpy(out.data() + at, &v, 8);
}
// magic (4), version (1), reserved (3). resize + memcpy: GCC 12 -O3 warns
// (stringop-overflow, a false positive) on insert() into an empty vector.
void put_header(std::vector<std::byte>& out, const std::byte (&magic)[4],
                std::uint8_t version) {
  const std::size_t at = out.size();
  out.resize(at + 8);
  std::memcpy(out.data() + at, magic, 4);
  out[at + 4] = std::byte{version};
}
std::uint32_t get32(const std::byte* p) {
  return codec::load_le<std::uint32_t>(p);
}
std::uint64_t get64(const std::byte* p) {
  return codec::load_le<std::uint64_t>(p);
}
std::uint64_t checksum(const std::byte* p, std::size_t n) {
  return codec::checksum64({p, n});
}
Status bad(std::string_view what, std::size_t offset,
           const std::string& detail) {
  return Status::corruption(what,
                            "offset " + std::to_string(offset) + ": " + detail);
}
// Both layouts end in the checksum of everything before it: kCorruption
// naming both values if it does not match.
Status check_trailing_checksum(std::string_view what,
                               std::span<const std::byte> b) {
  const std::size_t end = b.size() - 8;
  const std::uint64_t stored = get64(b.data() + end);
  const std::uint64_t computed = checksum(b.data(), end);
  if (stored == computed) return Status();
  return bad(what, end,
             "checksum mismatch (stored " + codec::hex64(stored) +
                 ", computed " + codec::hex64(computed) + ")");
}

}  // namespace

std::string StreamId::to_string() const {
  return std::to_string(ms) + "-" + std::to_string(seq);
}

Result<StreamId> parse_stream_id(std::string_view s) {
  StreamId id;
  const std::size_t dash = s.find('-');
  const std::string_view a = s.substr(0, dash);
  const std::string_view b =
      dash == std::string_view::npos ? std::string_view() : s.substr(dash + 1);
  auto num = [](std::string_view t, std::uint64_t* out) {
    if (t.empty() || t.size() > 20) return false;
    std::uint64_t v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
    }
    *out = v;
    return true;
  };
  if (!num(a, &id.ms) || (dash != std::string_view::npos && !num(b, &id.seq))) {
    return Status::invalid_argument(
        "stream ID", "expected MS-SEQ, got '" + std::string(s) + "'");
  }
  return id;
}

std::string positions_text(const std::vector<StreamId>& positions) {
  std::string out;
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (i != 0) out += ',';
    out += positions[i].to_string();
  }
  return out;
}

Result<std::vector<std::byte>> encode_redis_snapshot(const SnapshotData& s) {
  if (s.positions.empty() || s.positions.size() > kMaxShards) {
    return Status::invalid_argument(
        "encode_snapshot", "shards must be 1.." + std::to_string(kMaxShards) +
                               ", got " + std::to_string(s.positions.size()));
  }
  for (std::size_t i = 0; i < s.vv.size(); ++i) {
    if (s.vv[i].first == 0 || s.vv[i].second == 0 ||
        (i > 0 && s.vv[i].first <= s.vv[i - 1].first)) {
      return Status::invalid_argument(
          "encode_snapshot", "vv entry " + std::to_string(i) +
                                 ": origins must ascend, origin and mark != 0");
    }
  }
  for (std::size_t i = 0; i < s.states.size(); ++i) {
    if (s.states[i].second == 0 ||
        (i > 0 && s.states[i].first <= s.states[i - 1].first) ||
        (s.num_contexts != 0 && s.states[i].first >= s.num_contexts)) {
      return Status::invalid_argument(
          "encode_snapshot",
          "state " + std::to_string(i) +
              ": addresses must ascend, be in range, values != 0");
    }
  }
  std::vector<std::byte> out;
  out.reserve(kSnapshotHeaderSize + 16 * s.positions.size() + 16 * s.vv.size() +
              12 * s.states.size() + 8);
  put_header(out, kSnapshotMagic, kSnapshotVersion);
  put64(out, s.num_contexts);
  put32(out, static_cast<std::uint32_t>(s.positions.size()));
  put32(out, static_cast<std::uint32_t>(s.vv.size()));
  put64(out, s.states.size());
  for (const StreamId& p : s.positions) {
    put64(out, p.ms);
    put64(out, p.seq);
  }
  for (const auto& [o, m] : s.vv) {
    put64(out, o);
    put64(out, m);
  }
  for (const auto& [a, v] : s.states) {
    put32(out, a);
    put64(out, v);
  }
  put64(out, checksum(out.data(), out.size()));
  return out;
}

Result<SnapshotData> decode_redis_snapshot(std::span<const std::byte> b) {
  constexpr std::string_view kWhat = "Redis snapshot";
  if (b.size() < kSnapshotHeaderSize + 8) {
    return bad(kWhat, 0,
               "too short: " + std::to_string(b.size()) + " bytes, need >= " +
                   std::to_string(kSnapshotHeaderSize + 8));
  }
  if (std::memcmp(b.data(), kSnapshotMagic, 4) != 0) {
    return bad(kWhat, 0, "bad magic (expected \"AKRS\")");
  }
  if (b[4] != std::byte{kSnapshotVersion}) {
    return Status::unimplemented(
        kWhat, "offset 4: version " +
                   std::to_string(static_cast<unsigned>(b[4])) +
                   " (this build reads version 1)");
  }
  if (b[5] != std::byte{0} || b[6] != std::byte{0} || b[7] != std::byte{0}) {
    return bad(kWhat, 5, "reserved bytes not zero");
  }
  SnapshotData s;
  s.num_contexts = get64(b.data() + 8);
  const std::uint64_t shards = get32(b.data() + 16);
  const std::uint64_t vv_count = get32(b.data() + 20);
  const std::uint64_t state_count = get64(b.data() + 24);
  if (shards == 0 || shards > kMaxShards) {
    return bad(kWhat, 16,
               "shards " + std::to_string(shards) + " not in 1..1024");
  }
  // Every count is bounded by the bytes present before anything is sized.
  const std::uint64_t avail = b.size() - kSnapshotHeaderSize - 8;
  if (state_count > avail / 12 ||
      16 * shards + 16 * vv_count + 12 * state_count != avail) {
    return bad(kWhat, 20,
               "counts (shards " + std::to_string(shards) + ", vv " +
                   std::to_string(vv_count) + ", states " +
                   std::to_string(state_count) + ") do not match the size " +
                   std::to_string(b.size()));
  }
  ATOMIK_RETURN_IF_ERROR(check_trailing_checksum(kWhat, b));
  std::size_t at = kSnapshotHeaderSize;
  for (std::uint64_t i = 0; i < shards; ++i, at += 16) {
    s.positions.push_back({get64(b.data() + at), get64(b.data() + at + 8)});
  }
  for (std::uint64_t i = 0; i < vv_count; ++i, at += 16) {
    const std::uint64_t o = get64(b.data() + at);
    const std::uint64_t m = get64(b.data() + at + 8);
    if (o == 0 || m == 0 || (!s.vv.empty() && o <= s.vv.back().first)) {
      return bad(kWhat, at, "vv entry: origin order or zero");
    }
    s.vv.emplace_back(o, m);
  }
  for (std::uint64_t i = 0; i < state_count; ++i, at += 12) {
    const std::uint32_t a = get32(b.data() + at);
    const std::uint64_t v = get64(b.data() + at + 4);
    if (v == 0 || (!s.states.empty() && a <= s.states.back().first) ||
        (s.num_contexts != 0 && a >= s.num_contexts)) {
      return bad(kWhat, at, "state: address order, range or zero value");
    }
    s.states.emplace_back(a, v);
  }
  return s;
}

std::vector<std::byte> encode_state(const StateFile& state) {
  std::vector<std::byte> out;
  put_header(out, kStateMagic, kStateVersion);
  put32(out, static_cast<std::uint32_t>(state.shards.size()));
  put32(out, static_cast<std::uint32_t>(state.origins.size()));
  for (std::uint64_t o : state.origins) put64(out, o);
  for (const ShardState& s : state.shards) {
    put64(out, s.read.ms);
    put64(out, s.read.seq);
    put64(out, s.pub_seq);
    put64(out, s.pub_vseq);
  }
  put64(out, checksum(out.data(), out.size()));
  return out;
}

Result<StateFile> decode_state(std::span<const std::byte> b,
                               std::string_view name) {
  const std::string what(name);
  if (b.size() < kStateHeaderSize + 8) {
    return bad(what, 0, "too short: " + std::to_string(b.size()) + " bytes");
  }
  if (std::memcmp(b.data(), kStateMagic, 4) != 0) {
    return bad(what, 0, "bad magic (expected \"AKRP\")");
  }
  const auto version = static_cast<unsigned>(b[4]);
  if (version != 1 && version != kStateVersion) {
    return Status::unimplemented(
        what, "offset 4: version " + std::to_string(version) +
                  " (this build reads versions 1 and 2)");
  }
  // Version 2 lists the own origins with deltas not all published (the
  // count is a reserved 0 in version 1).
  const std::uint64_t n_origins = get32(b.data() + 12);
  if (version >= 2 ? n_origins == 0 || n_origins > kMaxStateOrigins
                   : n_origins != 0) {
    return bad(what, 12, "origins " + std::to_string(n_origins));
  }
  const std::size_t head = kStateHeaderSize + 8 * n_origins;
  const std::uint64_t n = get32(b.data() + 8);
  if (n == 0 || n > kMaxShards || b.size() != head + 32 * n + 8) {
    return bad(what, 8,
               "shards " + std::to_string(n) + " does not match the size " +
                   std::to_string(b.size()));
  }
  ATOMIK_RETURN_IF_ERROR(check_trailing_checksum(what, b));
  StateFile out;
  for (std::size_t i = 0; i < n_origins; ++i) {
    const std::size_t at = kStateHeaderSize + 8 * i;
    const std::uint64_t o = get64(b.data() + at);
    if (o == 0 || std::find(out.origins.begin(), out.origins.end(), o) !=
                      out.origins.end()) {
      return bad(what, at, "origin 0 or listed twice");
    }
    out.origins.push_back(o);
  }
  out.shards.resize(n);
  std::size_t at = head;
  for (ShardState& s : out.shards) {
    s.read = {get64(b.data() + at), get64(b.data() + at + 8)};
    s.pub_seq = get64(b.data() + at + 16);
    s.pub_vseq = get64(b.data() + at + 24);
    at += 32;
  }
  return out;
}

}  // namespace atomik::transport
