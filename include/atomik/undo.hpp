// SPDX-License-Identifier: Apache-2.0
// atomik/undo.hpp: UndoHistory<W, G>, the rollback chain (seed pattern 4).
//
// Undo by re-applying a delta's inverse (for XOR, the delta itself): no
// snapshots, one word per level (8 bytes for 64-bit words), held in a ring
// of `max_levels` words allocated once. When the ring is full the oldest
// level is dropped (and counted). A new edit after an undo drops the redo
// branch, as in any editor.
//
//   atomik::Context<std::uint64_t> doc(document_state);
//   atomik::UndoHistory<std::uint64_t> history(1000);
//   history.apply(doc, 0x0001);
//   history.apply(doc, 0x0010);
//   history.undo(doc);                  // removes 0x0010
//   if (!history.undo(doc)) { ... }     // std::nullopt when nothing to undo
//
// apply/undo/redo work on any target with accum(W) and rollback(W): a
// Context, ConcurrentContext, or a table wrapped to an address.
// Thread safety: none; the history and its target belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "atomik/group.hpp"
#include "atomik/status.hpp"
#include "atomik/word.hpp"

namespace atomik {

template <DeltaWord W = std::uint64_t, typename G = XorGroup>
requires DeltaGroup<G, W>
class UndoHistory {
 public:
  // A history of at most `max_levels` undo (plus redo) levels.
  explicit UndoHistory(std::size_t max_levels) : ring_(max_levels) {}

  // Rebuilds a history from saved deltas (oldest first), e.g. after a
  // restart. Fails with kInvalidArgument if they exceed max_levels.
  static Result<UndoHistory> restore(std::size_t max_levels,
                                     const std::vector<W>& undo_deltas,
                                     const std::vector<W>& redo_deltas) {
    if (undo_deltas.size() + redo_deltas.size() > max_levels) {
      return Status::invalid_argument(
          "UndoHistory::restore",
          std::to_string(undo_deltas.size() + redo_deltas.size()) +
              " saved levels exceed max_levels " + std::to_string(max_levels));
    }
    UndoHistory h(max_levels);
    for (W d : undo_deltas) h.ring_[h.undo_n_++] = d;
    // Redo levels sit after the undo levels, nearest first.
    for (std::size_t i = 0; i < redo_deltas.size(); ++i) {
      h.ring_[h.undo_n_ + i] = redo_deltas[i];
    }
    h.redo_n_ = redo_deltas.size();
    return h;
  }

  // Applies `delta` to `target` and records it; drops any redo levels.
  template <typename Target>
  void apply(Target& target, W delta) {
    target.accum(delta);
    redo_n_ = 0;
    if (ring_.empty()) {
      ++dropped_;
      return;
    }
    if (undo_n_ == ring_.size()) {
      start_ = (start_ + 1) % ring_.size();
      --undo_n_;
      ++dropped_;
    }
    ring_[slot(undo_n_)] = delta;
    ++undo_n_;
  }
  // Undoes the newest level: applies its inverse to `target` and returns
  // the delta. std::nullopt, with `target` unchanged, if there is none.
  template <typename Target>
  std::optional<W> undo(Target& target) {
    if (undo_n_ == 0) return std::nullopt;
    --undo_n_;
    ++redo_n_;
    const W d = ring_[slot(undo_n_)];
    target.rollback(d);
    return d;
  }
  // Re-applies the newest undone level. std::nullopt if there is none.
  template <typename Target>
  std::optional<W> redo(Target& target) {
    if (redo_n_ == 0) return std::nullopt;
    const W d = ring_[slot(undo_n_)];
    target.accum(d);
    ++undo_n_;
    --redo_n_;
    return d;
  }

  std::size_t undo_depth() const noexcept { return undo_n_; }
  std::size_t redo_depth() const noexcept { return redo_n_; }
  std::size_t max_levels() const noexcept { return ring_.size(); }
  // Levels pushed out of a full ring (or recorded with max_levels == 0).
  std::uint64_t dropped() const noexcept { return dropped_; }
  // Heap bytes used for levels: max_levels * sizeof(W), fixed at construction.
  std::size_t memory_bytes() const noexcept {
    return ring_.capacity() * sizeof(W);
  }
  void clear() noexcept { start_ = undo_n_ = redo_n_ = 0; }

  // The undo levels, oldest first (what restore() takes back).
  std::vector<W> undo_deltas() const {
    std::vector<W> out;
    for (std::size_t i = 0; i < undo_n_; ++i) out.push_back(ring_[slot(i)]);
    return out;
  }
  // The redo levels, next-to-redo first.
  std::vector<W> redo_deltas() const {
    std::vector<W> out;
    for (std::size_t i = 0; i < redo_n_; ++i) {
      out.push_back(ring_[slot(undo_n_ + i)]);
    }
    return out;
  }

 private:
  std::size_t slot(std::size_t k) const noexcept {
    return (start_ + k) % ring_.size();
  }

  std::vector<W> ring_;
  std::size_t start_ = 0;   // ring index of the oldest level
  std::size_t undo_n_ = 0;  // levels that can be undone
  std::size_t redo_n_ = 0;  // undone levels after them that can be redone
  std::uint64_t dropped_ = 0;
};

}  // namespace atomik
