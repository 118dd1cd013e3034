// SPDX-License-Identifier: Apache-2.0
// Little-endian load/store helpers for our own formats (frames, snapshots).
// Private to src/. The host is little-endian (static_assert in frame.hpp),
// so these compile to plain unaligned loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "atomik/export.h"

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

// "0x" + 16 hex digits.
// Exported: the higher layers' shared libraries call it.
ATOMIK_EXPORT std::string hex64(std::uint64_t v);

}  // namespace atomik::codec
