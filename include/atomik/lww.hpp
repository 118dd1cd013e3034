// SPDX-License-Identifier: Apache-2.0
// atomik/lww.hpp: LwwRegister and LwwTable, last-writer-wins put semantics.
//
// Deltas compose: two concurrent XOR deltas both take effect, and a
// whole-value put written as `delta = old ^ new` composes with a concurrent
// put instead of replacing it (0xaaaa and 0xbbbb put over 0x0000 converge to
// 0x1111, a value nobody wrote; see docs/design.md). When a value must be
// *replaced*, use a last-writer-wins register instead: every write carries a
// timestamp and its origin, and the write with the greatest (timestamp,
// origin) pair wins on every replica. merge() is commutative, associative
// and idempotent, so LWW writes need no dedup: any order, any duplication,
// same result.
//
//   atomik::LwwTable t(/*origin=*/1);
//   atomik::LwwWrite w = t.put(7, 0xAAAA, /*wall_ns=*/now_ns());
//   other.merge(w);                        // ship w to every replica
//   t.get(7);                              // std::optional: 0xAAAA
//
// Timestamps: put() uses a logical clock, max(wall_ns, last + 1), so a
// replica's own writes are strictly ordered even if its wall clock steps
// back; concurrent writes from different replicas are ordered by timestamp
// then origin id (the tie-break), which is arbitrary but the same
// everywhere. A replica with a fast clock wins ties it should not: that is
// the usual LWW trade-off, stated, not hidden.
//
// Thread safety: none (like std::map).
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include "atomik/message.hpp"

namespace atomik {

// One write: the unit replicas exchange.
struct LwwWrite {
  Addr addr = 0;
  std::uint64_t value = 0;
  std::uint64_t timestamp = 0;
  OriginId origin = 0;
  friend bool operator==(const LwwWrite&, const LwwWrite&) = default;
};

// A single register: the winning write so far.
class LwwRegister {
 public:
  // Keeps `w` if it beats the current write: greater timestamp, or equal
  // timestamp and greater origin. Returns true if the value changed hands.
  // Idempotent: merging the current write again changes nothing.
  bool merge(std::uint64_t value, std::uint64_t timestamp,
             OriginId origin) noexcept {
    if (set_ && (timestamp < timestamp_ ||
                 (timestamp == timestamp_ && origin <= origin_))) {
      return false;
    }
    value_ = value;
    timestamp_ = timestamp;
    origin_ = origin;
    set_ = true;
    return true;
  }
  // The winning value, or nullopt if never written.
  std::optional<std::uint64_t> get() const noexcept {
    return set_ ? std::optional<std::uint64_t>(value_) : std::nullopt;
  }
  std::uint64_t timestamp() const noexcept { return timestamp_; }
  OriginId origin() const noexcept { return origin_; }

 private:
  std::uint64_t value_ = 0;
  std::uint64_t timestamp_ = 0;
  OriginId origin_ = 0;
  bool set_ = false;
};

// Registers by address, with a logical clock for local puts.
class LwwTable {
 public:
  explicit LwwTable(OriginId origin) noexcept : origin_(origin) {}

  // A local put: stamps (max(wall_ns, last + 1), own origin), merges it and
  // returns the write to ship to the other replicas.
  LwwWrite put(Addr addr, std::uint64_t value, std::uint64_t wall_ns) {
    clock_ = wall_ns > clock_ ? wall_ns : clock_ + 1;
    const LwwWrite w{addr, value, clock_, origin_};
    merge(w);
    return w;
  }
  // A remote write. Advances the logical clock past its timestamp so a later
  // local put wins over everything seen. Returns true if it won.
  bool merge(const LwwWrite& w) {
    if (w.timestamp > clock_) clock_ = w.timestamp;
    return regs_[w.addr].merge(w.value, w.timestamp, w.origin);
  }
  std::optional<std::uint64_t> get(Addr addr) const {
    auto it = regs_.find(addr);
    return it == regs_.end() ? std::nullopt : it->second.get();
  }
  // Every register's winning write, by address (for state transfer).
  const std::map<Addr, LwwRegister>& registers() const noexcept {
    return regs_;
  }

 private:
  OriginId origin_;
  std::uint64_t clock_ = 0;
  std::map<Addr, LwwRegister> regs_;
};

}  // namespace atomik
