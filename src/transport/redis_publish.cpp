// SPDX-License-Identifier: Apache-2.0
// The publisher thread: XADDs own deltas from the outbox to every shard,
// retrying with backoff while Redis is unreachable; publish positions
// move only after Redis acknowledged.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "transport/redis_replicator_impl.hpp"

namespace atomik {

void RedisReplicator::Impl::publish_loop() {
  std::vector<std::unique_ptr<redis::RedisLink>> links;
  std::vector<std::uint64_t> seen(shards, 0);
  for (std::uint32_t k = 0; k < shards; ++k) {
    links.push_back(std::make_unique<redis::RedisLink>(link_cfg));
  }
  std::uint32_t backoff = opt.retry_min_ms;
  bool outage_logged = false;
  std::vector<FrameRecord> recs;
  std::vector<std::byte> frame;
  for (;;) {
    std::vector<Pending> slice;
    std::vector<ShardState> st;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping || !outbox.empty(); });
      if (stopping) break;
      const std::size_t n =
          std::min<std::size_t>(outbox.size(), opt.max_entry_records);
      slice.assign(outbox.begin(),
                   outbox.begin() + static_cast<std::ptrdiff_t>(n));
      st = state;
    }
    const std::uint64_t slice_end = slice.back().seq;
    bool failed = false;
    for (std::uint32_t k = 0; k < shards && !failed; ++k) {
      if (st[k].pub_seq >= slice_end) continue;
      recs.clear();
      for (const Pending& p : slice) {
        if (p.seq > st[k].pub_seq && redis_shard_of(p.addr, shards) == k) {
          recs.push_back({p.addr, p.delta});
        }
      }
      if (!recs.empty()) {
        const FrameHeader h{
            .origin = vorigins[k], .epoch = 0, .base_seq = st[k].pub_vseq + 1};
        auto enc = encode_frame(
            h, recs, {}, FrameLimits{.max_frame_bytes = opt.max_frame_bytes});
        if (!enc.ok()) {
          // Options are validated so that this cannot happen.
          log("cannot encode a frame: " + std::string(enc.status().message()));
          failed = true;
          break;
        }
        frame = std::move(*enc);
        auto r = links[k]->run({"XADD", keys[k], "*", "f", as_view(frame)});
        count_connects(*links[k], &seen[k]);
        if (!r.ok()) {
          {
            std::lock_guard<std::mutex> lock(mu);
            ++stats.connection_errors;
            pub_ok = false;
          }
          if (!outage_logged) {
            log("publishing stalled (deltas wait in the WAL): " +
                std::string(r.status().message()));
            outage_logged = true;
          }
          failed = true;
          break;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      pub_ok = true;
      state[k].pub_seq = slice_end;
      state[k].pub_vseq += recs.size();
      if (!recs.empty()) {
        ++stats.entries_published;
        stats.deltas_published += recs.size();
      }
      dirty = true;
    }
    if (failed) {
      if (!backoff_wait(&backoff)) break;
      continue;
    }
    if (outage_logged) {
      log("publishing resumed");
      outage_logged = false;
    }
    backoff = opt.retry_min_ms;
    {
      std::lock_guard<std::mutex> lock(mu);
      const std::uint64_t low = min_pub_seq_locked();
      while (!outbox.empty() && outbox.front().seq <= low) outbox.pop_front();
    }
    cv.notify_all();
    (void)maybe_flush(false);
  }
}

}  // namespace atomik
