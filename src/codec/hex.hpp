// SPDX-License-Identifier: Apache-2.0
// Hex text for messages and for the digests the node protocol carries: the
// one place src/ formats and parses 64-bit values as hex (lower-case digits,
// from atomik::to_hex in word.hpp). Private to src/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "atomik/export.h"

namespace atomik::codec {

// "0x" + 16 hex digits. Exported: the higher layers' shared libraries call
// it.
ATOMIK_EXPORT std::string hex64(std::uint64_t v);

// "0x" + 8 hex digits: 32-bit fields (magics, the WAL's 32-bit checksums).
ATOMIK_EXPORT std::string hex32(std::uint32_t v);

// "0x" + 32 hex digits, high half first: a 128-bit checksum or digest.
ATOMIK_EXPORT std::string hex128(std::uint64_t hi, std::uint64_t lo);

// The low `digits` hex digits of v (1..16), zero-padded, no "0x": for
// fields narrower than 64 bits (a flags byte: hex_digits(flags, 2)).
ATOMIK_EXPORT std::string hex_digits(std::uint64_t v, std::size_t digits);

// Parses 1 to 16 hex digits (either case, no prefix, nothing else) into
// *out. False, with *out untouched, for anything else: empty, too long, a
// sign, "0x", spaces or any other character.
ATOMIK_EXPORT bool parse_hex64(std::string_view text, std::uint64_t* out);

}  // namespace atomik::codec
