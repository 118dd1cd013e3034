// SPDX-License-Identifier: Apache-2.0
#include "transport/redis_outbox.hpp"

#include <algorithm>
#include <utility>

namespace atomik::transport {

namespace {
// Buffers of dropped runs kept for reuse: enough for the runs in flight
// between the node's flushes and the publisher.
constexpr std::size_t kSpareRuns = 4;
}  // namespace

void RedisOutbox::push(OriginId origin, Seq first,
                       std::span<const FrameRecord> recs) {
  std::size_t i = 0;
  while (i < recs.size()) {
    if (runs_.empty() || runs_.back().origin != origin ||
        back_seq() + 1 != first + i ||
        runs_.back().recs.size() >= kRunRecords) {
      Run r;
      r.origin = origin;
      r.first = first + i;
      if (!spare_.empty()) {
        r.recs = std::move(spare_.back());
        spare_.pop_back();
      }
      runs_.push_back(std::move(r));
    }
    Run& b = runs_.back();
    const std::size_t n =
        std::min(recs.size() - i, kRunRecords - b.recs.size());
    b.recs.insert(b.recs.end(), recs.begin() + static_cast<long>(i),
                  recs.begin() + static_cast<long>(i + n));
    i += n;
  }
  size_ += recs.size();
}

Seq RedisOutbox::copy_front(std::size_t max,
                            std::vector<FrameRecord>* out) const {
  ATOMIK_DCHECK(!runs_.empty() && max > 0);
  out->clear();
  const OriginId o = runs_.front().origin;
  const Seq first = front_seq();
  for (const Run& r : runs_) {
    if (r.origin != o || out->size() >= max ||
        r.first + r.head != first + out->size()) {
      break;
    }
    const std::size_t n = std::min(r.recs.size() - r.head, max - out->size());
    const auto from = r.recs.begin() + static_cast<long>(r.head);
    out->insert(out->end(), from, from + static_cast<long>(n));
  }
  return first;
}

std::uint64_t RedisOutbox::pop_through(OriginId origin, Seq last) {
  std::uint64_t dropped = 0;
  while (!runs_.empty() && runs_.front().origin == origin &&
         front_seq() <= last) {
    Run& r = runs_.front();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
        last - front_seq() + 1, r.recs.size() - r.head));
    r.head += n;
    dropped += n;
    if (r.head == r.recs.size()) {
      if (spare_.size() < kSpareRuns) {
        r.recs.clear();
        spare_.push_back(std::move(r.recs));
      }
      runs_.pop_front();
    }
  }
  size_ -= dropped;
  return dropped;
}

}  // namespace atomik::transport
