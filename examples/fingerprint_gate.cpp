// SPDX-License-Identifier: Apache-2.0
// Seed pattern 3, fingerprint gate: a simulated sensor sends 4 KiB frames,
// often repeating itself; a FingerprintGate skips every unchanged frame and
// catches every changed one, including the changes the reference's XOR-fold
// cannot see (two readings swapped, the same bit flipped in two readings).
// The reference's gate (the legacy mode) runs side by side for comparison.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <span>
#include <utility>

#include "atomik/fingerprint.hpp"

namespace {

enum Kind { kRepeat, kValueChange, kSwap, kPairedFlip, kKinds };
const char* const kNames[kKinds] = {"unchanged (repeat)", "value change",
                                    "two readings swapped",
                                    "same bit flipped twice"};

}  // namespace

int main() {
  constexpr std::size_t kReadings = 512;  // 512 x 8 bytes = a 4 KiB frame
  std::array<std::uint64_t, kReadings> frame{};
  std::mt19937_64 rng(42);
  for (auto& r : frame) r = rng() % 1000;  // distinct-ish readings

  atomik::FingerprintGate gate;  // strong: 8 KiB chunks, 128-bit
  atomik::FingerprintOptions ref_opts;
  ref_opts.mode = atomik::FingerprintMode::kLegacyXorFold;  // the reference
  auto reference_gate = atomik::FingerprintGate::create(ref_opts);
  if (!reference_gate.ok()) return 1;

  std::uint64_t samples[kKinds] = {};
  std::uint64_t strong_acted[kKinds] = {};
  std::uint64_t reference_acted[kKinds] = {};
  const auto bytes = [&] { return std::as_bytes(std::span(frame)); };
  (void)gate.check(bytes());  // the first frame: both act on it
  (void)reference_gate->check(bytes());

  for (int step = 0; step < 2000; ++step) {
    const std::uint64_t dice = rng() % 100;
    const std::size_t i = rng() % kReadings;
    std::size_t j = rng() % kReadings;
    Kind kind = kRepeat;
    if (dice < 60) {
      kind = kRepeat;
    } else if (dice < 80) {
      kind = kValueChange;
      frame[i] += 1 + rng() % 10;
    } else if (dice < 90) {
      kind = kSwap;
      while (frame[j] == frame[i]) j = (j + 1) % kReadings;
      std::swap(frame[i], frame[j]);
    } else {
      kind = kPairedFlip;
      if (j == i) j = (i + 1) % kReadings;
      const std::uint64_t bit = std::uint64_t{1} << (rng() % 64);
      frame[i] ^= bit;
      frame[j] ^= bit;
    }
    ++samples[kind];
    if (gate.check(bytes())) ++strong_acted[kind];
    if (reference_gate->check(bytes())) ++reference_acted[kind];
  }

  std::printf("%-24s %8s %16s %22s\n", "sample kind", "samples",
              "FingerprintGate", "reference XOR-fold");
  for (int k = 0; k < kKinds; ++k) {
    std::printf("%-24s %8llu %10llu acted %16llu acted\n", kNames[k],
                static_cast<unsigned long long>(samples[k]),
                static_cast<unsigned long long>(strong_acted[k]),
                static_cast<unsigned long long>(reference_acted[k]));
  }
  std::printf(
      "gate: %llu checks, %llu changes, %llu skipped; %zu bytes of "
      "state for a %zu-byte frame\n",
      static_cast<unsigned long long>(gate.checks()),
      static_cast<unsigned long long>(gate.changes()),
      static_cast<unsigned long long>(gate.skips()), sizeof gate, sizeof frame);

  // What this example must show.
  const bool gate_exact = strong_acted[kRepeat] == 0 &&
                          strong_acted[kValueChange] == samples[kValueChange] &&
                          strong_acted[kSwap] == samples[kSwap] &&
                          strong_acted[kPairedFlip] == samples[kPairedFlip];
  const bool reference_blind = reference_acted[kSwap] == 0 &&
                               reference_acted[kPairedFlip] == 0 &&
                               samples[kSwap] > 0 && samples[kPairedFlip] > 0;
  std::printf("gate skips every repeat and catches every change: %s\n",
              gate_exact ? "yes" : "NO");
  std::printf("reference misses every swap and paired flip: %s\n",
              reference_blind ? "yes" : "NO");
  return gate_exact && reference_blind ? 0 : 1;
}
