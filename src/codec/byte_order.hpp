// SPDX-License-Identifier: Apache-2.0
// Little-endian load/store helpers for our own formats (frames, snapshots),
// and the big-endian load of the 16-byte message.
// Private to src/. The host is little-endian (static_assert in frame.hpp),
// so these compile to plain unaligned loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace atomik::codec {

template <typename T>
inline T load_le(const std::byte* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void store_le(std::byte* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

// Big-endian loads (the 16-byte DeltaMessage): one load and a byte swap.
template <typename T>
inline T load_be(const std::byte* p) noexcept {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "32 or 64 bits");
  const T v = load_le<T>(p);
  if constexpr (sizeof(T) == 4) {
    return __builtin_bswap32(v);
  } else {
    return __builtin_bswap64(v);
  }
}

}  // namespace atomik::codec
