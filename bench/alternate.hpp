// SPDX-License-Identifier: Apache-2.0
// Comparing two setups in one run by alternating their rounds.
//
// On a 2-core machine the rate of a round swings by +-15% in spells of a
// few hundred milliseconds. Rounds of the two setups taken in turn (x y,
// y x, x y, ...) share the spell with their neighbour, and neither setup
// always goes first; the ratio of neighbouring rounds keeps the difference
// between the setups and drops most of the swing. Its median is the figure
// of record.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace atomik_bench {

// Per-round rates of the two setups, and the rate ratio y / x of each round
// of y to the round of x next to it.
struct Alternated {
  std::vector<double> x, y, ratios;
  std::string error;  // empty when every round succeeded
};

// `rounds` rounds of each setup in turn. round(on_y, &error) runs one round
// of y (on_y) or x and returns its seconds, or a negative value with error
// set, which ends the comparison. `units` is what one round does (deltas):
// the rates are units / seconds.
inline Alternated alternate_rounds(
    int rounds, double units,
    const std::function<double(bool on_y, std::string* error)>& round) {
  Alternated out;
  for (int r = 0; r < rounds; ++r) {
    const bool y_first = r % 2 == 1;
    const double s1 = round(y_first, &out.error);
    if (s1 < 0) return out;
    const double s2 = round(!y_first, &out.error);
    if (s2 < 0) return out;
    const double sx = y_first ? s2 : s1;
    const double sy = y_first ? s1 : s2;
    out.x.push_back(units / sx);
    out.y.push_back(units / sy);
    out.ratios.push_back(sx / sy);
  }
  return out;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// "a b c" in M/s with two decimals: per-round rates, for the record.
inline std::string rates_text(const std::vector<double>& v) {
  std::string out;
  char buf[32];
  for (const double r : v) {
    std::snprintf(buf, sizeof buf, "%s%.2f", out.empty() ? "" : " ", r / 1e6);
    out += buf;
  }
  return out;
}

// An add-group (y) against an xor-group (x) comparison: counters
// xor_deltas_per_s, add_deltas_per_s (medians) and add_over_xor (the median
// per-round ratio), the per-round rates, and a line "add / xor (`what`,
// alternating rounds): ..." (target >= 0.9).
inline void report_add_over_xor(benchmark::State& state, const Alternated& r,
                                const char* what) {
  const double x = median(r.x);
  const double a = median(r.y);
  const double ratio = median(r.ratios);
  state.counters["xor_deltas_per_s"] = x;
  state.counters["add_deltas_per_s"] = a;
  state.counters["add_over_xor"] = ratio;
  std::printf("M deltas/s per round, xor: %s; add: %s\n",
              rates_text(r.x).c_str(), rates_text(r.y).c_str());
  std::printf(
      "add / xor (%s, alternating rounds): medians %.2f M / %.2f M "
      "deltas/s; median per-round ratio %.3f (target >= 0.9)\n",
      what, a / 1e6, x / 1e6, ratio);
}

}  // namespace atomik_bench
