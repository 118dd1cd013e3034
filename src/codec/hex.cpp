// SPDX-License-Identifier: Apache-2.0
#include "codec/hex.hpp"

#include <charconv>

#include "atomik/word.hpp"

namespace atomik::codec {

std::string hex64(std::uint64_t v) { return to_hex(v); }

std::string hex32(std::uint32_t v) { return "0x" + hex_digits(v, 8); }

std::string hex128(std::uint64_t hi, std::uint64_t lo) {
  return to_hex(hi) + hex_digits(lo, 16);
}

std::string hex_digits(std::uint64_t v, std::size_t digits) {
  const std::string h = to_hex(v);  // "0x" + 16 digits
  if (digits == 0 || digits > 16) digits = 16;
  return h.substr(h.size() - digits);
}

bool parse_hex64(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 16) return false;
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v, 16);
  if (ec != std::errc() || ptr != end) return false;
  *out = v;
  return true;
}

}  // namespace atomik::codec
