// SPDX-License-Identifier: Apache-2.0
// The checksums of our byte formats, all XXH3 with seed 0 (libxxhash),
// inlined because they sit on every frame's and record's path: the 64-bit
// one (frames, snapshots, checkpoints, the WAL's horizon file, Redis
// entries), its low 32 bits (WAL frames and segment headers) and the
// 128-bit one (the node protocol's SNAPSHOT body). Stored little-endian; see
// docs/format/. Private to src/. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "atomik/word.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace atomik::codec {

// XXH3-64 of `data`.
inline std::uint64_t checksum64(std::span<const std::byte> data) noexcept {
  return XXH3_64bits(data.data(), data.size());
}

// Low 32 bits of XXH3-64 of `data`: the WAL's frame and header checksum.
inline std::uint32_t checksum32(std::span<const std::byte> data) noexcept {
  return static_cast<std::uint32_t>(checksum64(data));
}

// XXH3-128 of `data` (lo: low64, hi: high64 of XXH128_hash_t).
inline Word128 checksum128(std::span<const std::byte> data) noexcept {
  const XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  return Word128{h.low64, h.high64};
}

// XXH3-64 of `a` followed by `b`, without copying them together (a frame
// hashed around its own checksum field). Equals checksum64 of a ++ b.
inline std::uint64_t checksum64(std::span<const std::byte> a,
                                std::span<const std::byte> b) noexcept {
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return XXH3_64bits_digest(&state);
}

}  // namespace atomik::codec
