// SPDX-License-Identifier: Apache-2.0
// The 64-bit checksum of our byte formats: XXH3-64 with seed 0
// (libxxhash), inlined because it sits on every frame's and record's path.
// Frames, snapshots, WAL records, checkpoints and Redis entries store it
// little-endian; see docs/format/. Private to src/. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace atomik::codec {

// XXH3-64 of `data`.
inline std::uint64_t checksum64(std::span<const std::byte> data) noexcept {
  return XXH3_64bits(data.data(), data.size());
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
