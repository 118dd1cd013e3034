// SPDX-License-Identifier: Apache-2.0
// Argument syntax for the CLI (args.hpp).
#include "cli/args.hpp"

namespace atomik::cli {

std::string parse_uint(std::string_view s, std::uint64_t max,
                       std::uint64_t* out) {
  if (s.empty()) return "is empty, expected a number";
  const char c0 = s.front();
  if (c0 == '-' || c0 == '+') return "has a sign; numbers are unsigned";
  const bool hex = s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  std::string_view digits = hex ? s.substr(2) : s;
  if (digits.empty()) return "has no digits after 0x";
  if (!hex && digits.size() > 1 && digits[0] == '0') {
    return "has a leading zero (octal is not accepted; write it in decimal "
           "or with 0x)";
  }
  const std::uint64_t base = hex ? 16 : 10;
  std::uint64_t v = 0;
  for (const char c : digits) {
    std::uint64_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint64_t>(c - '0');
    } else if (hex && c >= 'a' && c <= 'f') {
      d = static_cast<std::uint64_t>(c - 'a') + 10;
    } else if (hex && c >= 'A' && c <= 'F') {
      d = static_cast<std::uint64_t>(c - 'A') + 10;
    } else {
      return std::string("has '") + c + "', expected " +
             (hex ? "hex digits after 0x" : "decimal digits or 0x-hex");
    }
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / base) {
      return "overflows 64 bits (largest " + std::to_string(max) + ")";
    }
    v = v * base + d;
  }
  if (v > max) return "is larger than " + std::to_string(max);
  *out = v;
  return {};
}

CLI::Validator number(std::uint64_t max) {
  return CLI::Validator(
      [max](std::string& s) -> std::string {
        std::uint64_t v = 0;
        const std::string why = parse_uint(s, max, &v);
        if (!why.empty()) return "'" + s + "' " + why;
        s = std::to_string(v);
        return {};
      },
      "NUMBER", "number");
}

CLI::Validator host_port(bool allow_port_zero) {
  return CLI::Validator(
      [allow_port_zero](const std::string& s) -> std::string {
        const std::size_t colon = s.rfind(':');
        if (colon == std::string::npos || colon == 0) {
          return "'" + s + "' is not HOST:PORT";
        }
        std::uint64_t port = 0;
        const std::string why =
            parse_uint(std::string_view(s).substr(colon + 1), 65535, &port);
        if (!why.empty()) return "'" + s + "': port " + why;
        if (port == 0 && !allow_port_zero) {
          return "'" + s + "': port 0 is not a port to connect to";
        }
        return {};
      },
      "HOST:PORT", "host_port");
}

CLI::Validator non_empty() {
  return CLI::Validator(
      [](const std::string& s) -> std::string {
        return s.empty() ? "must not be empty" : std::string();
      },
      "NON-EMPTY", "non_empty");
}

}  // namespace atomik::cli
