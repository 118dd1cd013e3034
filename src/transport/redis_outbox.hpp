// SPDX-License-Identifier: Apache-2.0
// RedisOutbox: the own deltas a RedisReplicator has still to publish, in
// the order they were acknowledged. Private to src/transport.
//
// Deltas are kept as runs of consecutive seqs of one own origin (a batch
// of accum_batch() is one run, or part of one), not one entry per delta:
// pushing, copying out and dropping cost a memcpy per run. Runs hold at
// most kRunRecords deltas, and the buffers of dropped runs are reused, so
// a steady stream of batches allocates (and page-faults) nothing new.
// Not thread-safe: RedisReplicator::Impl::mu guards it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "atomik/frame.hpp"
#include "atomik/status.hpp"
#include "atomik/types.hpp"

namespace atomik::transport {

class RedisOutbox {
 public:
  bool empty() const noexcept { return size_ == 0; }
  // Deltas waiting, of every origin.
  std::uint64_t size() const noexcept { return size_; }
  // The origin and seq of the oldest delta waiting (DCHECK: not empty()).
  OriginId front_origin() const {
    ATOMIK_DCHECK(!runs_.empty());
    return runs_.front().origin;
  }
  Seq front_seq() const {
    ATOMIK_DCHECK(!runs_.empty());
    const Run& r = runs_.front();
    return r.first + r.head;
  }
  // The origin and seq of the newest delta waiting (DCHECK: not empty()).
  OriginId back_origin() const {
    ATOMIK_DCHECK(!runs_.empty());
    return runs_.back().origin;
  }
  Seq back_seq() const {
    ATOMIK_DCHECK(!runs_.empty());
    const Run& r = runs_.back();
    return r.first + r.recs.size() - 1;
  }

  // Appends `recs` of `origin`, seqs first, first + 1, ... (own seqs of
  // one origin only grow). A seq that does not follow the newest delta
  // waiting starts a new run, so each delta keeps its own seq.
  void push(OriginId origin, Seq first, std::span<const FrameRecord> recs);
  // Replaces *out with the oldest deltas waiting, up to `max` of them, of
  // front_origin() and consecutive seqs (a slice stops where seqs skip);
  // returns the seq of (*out)[0]. DCHECK: not empty(), max > 0.
  Seq copy_front(std::size_t max, std::vector<FrameRecord>* out) const;
  // Drops the oldest deltas while they are of `origin` with seqs up to
  // `last`; returns how many were dropped.
  std::uint64_t pop_through(OriginId origin, Seq last);

  static constexpr std::size_t kRunRecords = std::size_t{1} << 16;

 private:
  struct Run {
    OriginId origin = 0;
    Seq first = 0;                  // seq of recs[0]
    std::vector<FrameRecord> recs;  // recs[head..] wait
    std::size_t head = 0;
  };
  std::deque<Run> runs_;
  std::vector<std::vector<FrameRecord>> spare_;  // cleared, capacity kept
  std::uint64_t size_ = 0;
};

}  // namespace atomik::transport
