// SPDX-License-Identifier: Apache-2.0
// StreamSnapshot byte form for state transfers. See docs/format/wire.md,
// section 9.
#include <string>

#include "atomik/stream.hpp"
#include "codec/byte_order.hpp"
#include "codec/checksum.hpp"
#include "codec/hex.hpp"

namespace atomik {
namespace {

using codec::hex64;
using codec::load_le;
using codec::store_le;

// Written to the wire; never change. See docs/format/wire.md section 9.
constexpr std::byte kSnapMagic[4] = {std::byte{0x41}, std::byte{0x4b},
                                     std::byte{0x53}, std::byte{0x53}};  // AKSS
constexpr std::uint8_t kSnapVersion = 1;
constexpr std::size_t kSnapHeader = 40;  // magic..digest_hi
constexpr std::size_t kStateSize = 12;
constexpr std::size_t kOriginHead = 24;

Status bad(std::size_t off, const std::string& what) {
  return Status::corruption("snapshot",
                            "offset " + std::to_string(off) + ": " + what);
}

}  // namespace

std::vector<std::byte> encode_snapshot(const StreamSnapshot& s) {
  std::size_t size = kSnapHeader + kStateSize * s.states.size() + 8;
  for (const auto& [o, st] : s.dedup) size += kOriginHead + 8 * st.above.size();
  std::vector<std::byte> out(size);
  std::byte* p = out.data();
  std::memcpy(p, kSnapMagic, 4);
  p[4] = std::byte{kSnapVersion};
  store_le<std::uint64_t>(p + 8, s.states.size());
  store_le<std::uint64_t>(p + 16, s.dedup.size());
  store_le<std::uint64_t>(p + 24, s.digest.lo);
  store_le<std::uint64_t>(p + 32, s.digest.hi);
  std::byte* q = p + kSnapHeader;
  for (const auto& [a, v] : s.states) {
    store_le<std::uint32_t>(q, a);
    store_le<std::uint64_t>(q + 4, v);
    q += kStateSize;
  }
  for (const auto& [o, st] : s.dedup) {
    store_le<std::uint64_t>(q, o);
    store_le<std::uint64_t>(q + 8, st.mark);
    store_le<std::uint64_t>(q + 16, st.above.size());
    q += kOriginHead;
    for (Seq a : st.above) {
      store_le<std::uint64_t>(q, a);
      q += 8;
    }
  }
  store_le<std::uint64_t>(q, codec::checksum64({p, size - 8}));
  return out;
}

Result<StreamSnapshot> decode_snapshot(std::span<const std::byte> bytes,
                                       std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return Status::resource_exhausted(
        "snapshot", std::to_string(bytes.size()) + " bytes above max_bytes " +
                        std::to_string(max_bytes));
  }
  if (bytes.size() < kSnapHeader + 8) {
    return bad(bytes.size(), "truncated: need at least 48 bytes, have " +
                                 std::to_string(bytes.size()));
  }
  const std::byte* p = bytes.data();
  if (std::memcmp(p, kSnapMagic, 4) != 0) {
    return bad(0, "bad magic (expected 414b5353 \"AKSS\")");
  }
  if (static_cast<std::uint8_t>(p[4]) != kSnapVersion) {
    return Status::unimplemented(
        "snapshot", "offset 4: unsupported version " +
                        std::to_string(static_cast<unsigned>(p[4])));
  }
  for (std::size_t i = 5; i < 8; ++i) {
    if (p[i] != std::byte{0}) return bad(i, "reserved byte is not 0");
  }
  // The checksum covers everything; check it before trusting any count.
  const std::size_t end = bytes.size() - 8;
  const auto stored = load_le<std::uint64_t>(p + end);
  const std::uint64_t computed = codec::checksum64({p, end});
  if (stored != computed) {
    return bad(end, "checksum mismatch (stored " + hex64(stored) +
                        ", computed " + hex64(computed) + ")");
  }
  const auto n_states = load_le<std::uint64_t>(p + 8);
  const auto n_origins = load_le<std::uint64_t>(p + 16);
  std::size_t off = kSnapHeader;
  if (n_states > (end - off) / kStateSize) {
    return bad(8, "state count " + std::to_string(n_states) +
                      " exceeds the bytes present");
  }
  StreamSnapshot s;
  s.digest =
      Digest{load_le<std::uint64_t>(p + 24), load_le<std::uint64_t>(p + 32)};
  s.states.resize(static_cast<std::size_t>(n_states));
  for (auto& [a, v] : s.states) {
    a = load_le<std::uint32_t>(p + off);
    v = load_le<std::uint64_t>(p + off + 4);
    off += kStateSize;
  }
  if (n_origins > (end - off) / kOriginHead) {
    return bad(16, "origin count " + std::to_string(n_origins) +
                       " exceeds the bytes present");
  }
  for (std::uint64_t i = 0; i < n_origins; ++i) {
    if (end - off < kOriginHead) return bad(off, "truncated origin entry");
    const auto o = load_le<std::uint64_t>(p + off);
    OriginDedupState st;
    st.mark = load_le<std::uint64_t>(p + off + 8);
    const auto n_above = load_le<std::uint64_t>(p + off + 16);
    if (n_above > (end - off - kOriginHead) / 8) {
      return bad(off + 16, "above count " + std::to_string(n_above) +
                               " exceeds the bytes present");
    }
    off += kOriginHead;
    st.above.resize(static_cast<std::size_t>(n_above));
    for (Seq& q : st.above) {
      q = load_le<std::uint64_t>(p + off);
      off += 8;
    }
    if (!s.dedup.emplace(o, std::move(st)).second) {
      return bad(off, "origin " + std::to_string(o) + " listed twice");
    }
  }
  if (off != end) {
    return bad(off, std::to_string(end - off) +
                        " unexpected bytes before the checksum");
  }
  return s;
}

}  // namespace atomik
