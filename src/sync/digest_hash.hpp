// SPDX-License-Identifier: Apache-2.0
// The digest's per-address term, private to src/. See docs/format/digest.md:
// term(key, addr, state) = XXH3-128 with seed `key` of the 12 bytes
// addr (u32 little-endian) || state (u64 little-endian).
#pragma once

#include <cstdint>
#include <cstring>

#include "atomik/stream.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace atomik::sync {

inline Digest digest_term(std::uint64_t key, Addr addr,
                          std::uint64_t state) noexcept {
  unsigned char buf[12];
  std::memcpy(buf, &addr, 4);
  std::memcpy(buf + 4, &state, 8);
  const XXH128_hash_t h = XXH3_128bits_withSeed(buf, sizeof buf, key);
  return Digest{h.low64, h.high64};
}

// Folds the change of addr's state from `old_state` to `new_state` into
// `d`. A state of 0 contributes nothing, so only non-zero states count.
inline void digest_update(Digest& d, std::uint64_t key, Addr addr,
                          std::uint64_t old_state,
                          std::uint64_t new_state) noexcept {
  if (old_state == new_state) return;
  if (old_state != 0) {
    const Digest t = digest_term(key, addr, old_state);
    d.lo ^= t.lo;
    d.hi ^= t.hi;
  }
  if (new_state != 0) {
    const Digest t = digest_term(key, addr, new_state);
    d.lo ^= t.lo;
    d.hi ^= t.hi;
  }
}

}  // namespace atomik::sync
