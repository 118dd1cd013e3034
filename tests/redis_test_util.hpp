// SPDX-License-Identifier: Apache-2.0
// Shared by the Redis tests (tests only): a table's expected state as a
// map, its digest, a replicator's state in the same form, and fast client
// options.
#pragma once

#include <cstdint>
#include <iterator>
#include <map>
#include <string>

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

// Client options for a test's Redis server at `url`: short blocking reads,
// retry backoff and state flushes, so that tests end quickly.
inline RedisOptions fast_redis_options(const std::string& url) {
  RedisOptions o;
  o.url = url;
  o.block_ms = 50;
  o.retry_min_ms = 10;
  o.retry_max_ms = 200;
  o.state_flush_ms = 50;
  o.start_timeout_ms = 10000;
  return o;
}

// A replicator's non-zero states (empty if its snapshot fails).
inline std::map<Addr, std::uint64_t> state_of(const RedisReplicator& r) {
  std::map<Addr, std::uint64_t> out;
  auto snap = r.snapshot();
  if (snap.ok()) out.insert(snap->begin(), snap->end());
  return out;
}

}  // namespace atomik::testing
