// SPDX-License-Identifier: Apache-2.0
// The vocabulary every layer speaks: addresses, origins, sequence numbers,
// log positions, one (addr, delta) record and the version vector. Defined
// here once; the headers that used to define them (table.hpp, message.hpp,
// frame.hpp, stream.hpp, wal.hpp) include this one, so their users keep
// compiling unchanged. Plain values; thread safety as for any value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "atomik/export.h"

namespace atomik {

// A context's address: 32 bits, as in the 16-byte wire message.
using Addr = std::uint32_t;

// A replica's identity. 0 is reserved for kLegacyOrigin (stream.hpp).
using OriginId = std::uint64_t;

// A per-origin sequence number; the first delta of an origin has seq 1.
using Seq = std::uint64_t;

// A position in a WAL: appends are numbered 1, 2, 3... per writer (one
// append_async() or one append_run_async() call each).
using Lsn = std::uint64_t;

// One delta for one address, without origin or seq: a frame's record
// (frame.hpp), a batch entry (accum_batch), a WAL DELTA_RUN entry.
struct FrameRecord {
  Addr addr = 0;
  std::uint64_t delta = 0;
  friend bool operator==(const FrameRecord&, const FrameRecord&) = default;
};

// origin -> contiguous high-water mark (every seq 1..mark of that origin has
// been applied). Absent origins have mark 0.
class ATOMIK_EXPORT VersionVector {
 public:
  Seq get(OriginId origin) const noexcept {
    auto it = marks_.find(origin);
    return it == marks_.end() ? 0 : it->second;
  }
  // Sets origin's mark (0 erases the entry).
  void set(OriginId origin, Seq mark) {
    if (mark == 0) {
      marks_.erase(origin);
    } else {
      marks_[origin] = mark;
    }
  }
  // Pointwise maximum with `other`. O(n log n).
  void merge(const VersionVector& other) {
    for (const auto& [o, m] : other.marks_) {
      if (m > get(o)) marks_[o] = m;
    }
  }
  // True when every mark here is >= the same origin's mark in `other`.
  bool dominates(const VersionVector& other) const noexcept {
    for (const auto& [o, m] : other.marks_) {
      if (get(o) < m) return false;
    }
    return true;
  }
  // Entries in origin order.
  const std::map<OriginId, Seq>& entries() const noexcept { return marks_; }
  // "{1:10, 2:7}" (defined in src/sync/stream.cpp).
  std::string to_string() const;
  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::map<OriginId, Seq> marks_;
};

}  // namespace atomik
