// SPDX-License-Identifier: Apache-2.0
// Models shared by the Redis tests (tests only): a table's expected state as
// a map, its digest, and a replicator's state in the same form.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>

#include "atomik/redis.hpp"
#include "atomik/stream.hpp"

namespace atomik::testing {

// `m` without its zero states (what a snapshot lists).
inline std::map<Addr, std::uint64_t> nonzero(std::map<Addr, std::uint64_t> m) {
  for (auto it = m.begin(); it != m.end();) {
    it = it->second == 0 ? m.erase(it) : std::next(it);
  }
  return m;
}

// The digest (atomik/stream.hpp) of a table holding `m`.
inline Digest digest_of(const std::map<Addr, std::uint64_t>& m) {
  DeltaStream s;
  for (const auto& [a, v] : m) {
    if (v != 0) (void)s.load(a, v);
  }
  return s.compute_digest();
}

// A replicator's non-zero states (empty if its snapshot fails).
inline std::map<Addr, std::uint64_t> state_of(const RedisReplicator& r) {
  std::map<Addr, std::uint64_t> out;
  auto snap = r.snapshot();
  if (snap.ok()) out.insert(snap->begin(), snap->end());
  return out;
}

}  // namespace atomik::testing
