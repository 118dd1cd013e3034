// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the libFuzzer targets in fuzz/ (docs/fuzzing.md):
// ATOMIK_FUZZ_CHECK, which aborts (a libFuzzer "crash", input saved) when an
// invariant fails, and small byte/message utilities.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Aborts with the condition, file, line and `what` (a std::string
// expression, evaluated only on failure) when `cond` is false. Active in
// every build type: a fuzz target without its checks is only a crash test.
#define ATOMIK_FUZZ_CHECK(cond, what)                          \
  do {                                                         \
    if (!(cond)) {                                             \
      ::atomik::fuzz::fail(#cond, __FILE__, __LINE__, (what)); \
    }                                                          \
  } while (false)

namespace atomik::fuzz {

[[noreturn]] inline void fail(const char* cond, const char* file, int line,
                              const std::string& what) {
  std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  %s\n", file, line,
               cond, what.c_str());
  std::abort();
}

inline std::span<const std::byte> as_bytes(const std::uint8_t* data,
                                           std::size_t size) {
  return {reinterpret_cast<const std::byte*>(data), size};
}

inline bool same_bytes(std::span<const std::byte> a,
                       std::span<const std::byte> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Lower-case hex of at most the first 256 bytes (for failure messages).
inline std::string hex(std::span<const std::byte> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  const std::size_t n = b.size() < 256 ? b.size() : 256;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<unsigned>(b[i]);
    s += kDigits[v >> 4];
    s += kDigits[v & 15];
  }
  if (n < b.size()) s += "...";
  return s;
}

// Every number N that follows the word "offset " in `msg`, in order.
inline std::vector<std::uint64_t> named_offsets(std::string_view msg) {
  std::vector<std::uint64_t> out;
  constexpr std::string_view kWord = "offset ";
  std::size_t at = 0;
  while ((at = msg.find(kWord, at)) != std::string_view::npos) {
    at += kWord.size();
    std::uint64_t v = 0;
    std::size_t digits = 0;
    while (at < msg.size() && msg[at] >= '0' && msg[at] <= '9' && digits < 20) {
      v = v * 10 + static_cast<std::uint64_t>(msg[at] - '0');
      ++at;
      ++digits;
    }
    if (digits > 0) out.push_back(v);
  }
  return out;
}

// A deterministic 64-bit mix of the input (picks positions to mutate, so a
// crash reproduces from the saved input alone).
inline std::uint64_t mix(std::span<const std::byte> b) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ b.size();
  for (std::byte x : b) {
    h ^= static_cast<std::uint64_t>(x);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 29;
  return h;
}

}  // namespace atomik::fuzz
