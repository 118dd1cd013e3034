// SPDX-License-Identifier: Apache-2.0
// Seeded randomness for property tests: the seed comes from ATOMIK_TEST_SEED
// if set, else from the clock, and is printed so any failure can be replayed:
//   ATOMIK_TEST_SEED=1234 ./context_test
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace atomik::testing {

inline std::uint64_t test_seed() {
  static const std::uint64_t seed = [] {
    std::uint64_t s = 0;
    if (const char* env = std::getenv("ATOMIK_TEST_SEED");
        env != nullptr && *env != '\0') {
      s = std::strtoull(env, nullptr, 0);
    } else {
      s = static_cast<std::uint64_t>(
          std::chrono::high_resolution_clock::now().time_since_epoch().count());
    }
    std::printf("ATOMIK_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

// A generator seeded from test_seed() mixed with `stream`, so tests draw
// independent sequences from one printed seed.
inline std::mt19937_64 rng(std::uint64_t stream = 0) {
  return std::mt19937_64(test_seed() ^ (stream * 0x9E3779B97F4A7C15ULL));
}

}  // namespace atomik::testing
