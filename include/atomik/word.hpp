// SPDX-License-Identifier: Apache-2.0
// atomik/word.hpp: the word types a context can hold, and their text form.
//
// A delta word is one of std::uint8_t, std::uint16_t, std::uint32_t,
// std::uint64_t or atomik::Word128 (two 64-bit halves; portable, unlike
// unsigned __int128 under -Wpedantic). Words are plain values: copying is
// cheap and every operation is constexpr and noexcept.
//
//   atomik::Word128 w{.lo = 1, .hi = 2};
//   std::string s = atomik::to_hex(w);   //
//   "0x00000000000000020000000000000001"
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace atomik {

// A 128-bit word: lo holds bits 0..63, hi bits 64..127.
struct Word128 {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  friend constexpr bool operator==(const Word128&, const Word128&) = default;
};

constexpr Word128 operator^(Word128 a, Word128 b) noexcept {
  return {a.lo ^ b.lo, a.hi ^ b.hi};
}
// Wrapping addition modulo 2^128.
constexpr Word128 operator+(Word128 a, Word128 b) noexcept {
  std::uint64_t lo = a.lo + b.lo;
  std::uint64_t carry = lo < a.lo ? 1U : 0U;
  return {lo, a.hi + b.hi + carry};
}
// Two's-complement negation modulo 2^128.
constexpr Word128 operator-(Word128 a) noexcept {
  Word128 inverted{~a.lo, ~a.hi};
  return inverted + Word128{1, 0};
}

template <typename W>
concept DeltaWord = std::same_as<W, std::uint8_t> ||
    std::same_as<W, std::uint16_t> || std::same_as<W, std::uint32_t> ||
    std::same_as<W, std::uint64_t> || std::same_as<W, Word128>;

// Width of W in bits (8, 16, 32, 64 or 128).
template <DeltaWord W>
inline constexpr unsigned kWordBits = static_cast<unsigned>(sizeof(W) * 8);

// "0x" followed by exactly kWordBits<W>/4 lower-case hex digits.
template <DeltaWord W>
std::string to_hex(W w) {
  constexpr char kDigits[] = "0123456789abcdef";
  constexpr std::size_t kNibbles = sizeof(W) * 2;
  std::string out(2 + kNibbles, '0');
  out[1] = 'x';
  for (std::size_t i = 0; i < kNibbles; ++i) {
    unsigned nibble = 0;
    if constexpr (std::is_same_v<W, Word128>) {
      const std::size_t bit = i * 4;
      nibble = static_cast<unsigned>(bit < 64 ? (w.lo >> bit)
                                              : (w.hi >> (bit - 64))) &
               0xFU;
    } else {
      nibble = static_cast<unsigned>(static_cast<std::uint64_t>(w) >> (i * 4)) &
               0xFU;
    }
    out[out.size() - 1 - i] = kDigits[nibble];
  }
  return out;
}

}  // namespace atomik
