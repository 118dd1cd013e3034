// SPDX-License-Identifier: Apache-2.0
// Argument syntax shared by every subcommand.
//
// The CLI's one number syntax, used by every option, argument and stdin
// command that takes a number: decimal ("0", "42", no leading zero) or
// hexadecimal with a 0x/0X prefix ("0x2a", 1 to 16 digits after leading
// zeros are dropped). No sign, no spaces, no octal, no overflow: anything
// else is refused with a message saying why (never read as something else).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace atomik::cli {

// Parses `s` whole into *out if it is a number in [0, max]. On failure
// returns a reason ("has a sign", "overflows ..."), leaves *out alone.
// Returns an empty string on success.
std::string parse_uint(std::string_view s, std::uint64_t max,
                       std::uint64_t* out);

// A CLI11 transform for an option or positional taking a number in
// [0, max]: refuses a bad value with "VALUE: reason" (CLI11 prefixes the
// option's name and the CLI exits 2) and rewrites a good one as plain
// decimal, so CLI11's own conversion to the member's type never sees hex or
// a leading zero.
CLI::Validator number(std::uint64_t max);

// number() bounded by T's range.
template <typename T>
CLI::Validator number_of() {
  return number(static_cast<std::uint64_t>(std::numeric_limits<T>::max()));
}

// A CLI11 check for HOST:PORT (--node, --listen, --peer): a non-empty host
// (an IPv6 address in brackets) and a port in the number syntax above, 1 to
// 65535 (0 too when `allow_port_zero`, meaning "pick one"). Whether the host
// resolves is a connection question, answered later with exit 1.
CLI::Validator host_port(bool allow_port_zero);

// A CLI11 check refusing an empty value (`--data ''` is a mistake, never
// "the default").
CLI::Validator non_empty();

}  // namespace atomik::cli
