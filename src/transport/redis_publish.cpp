// SPDX-License-Identifier: Apache-2.0
// The publisher thread: XADDs own deltas from the outbox to every shard,
// retrying with backoff while Redis is unreachable; publish positions
// move only after Redis acknowledged. Only own deltas are published (never
// one received from a TCP peer or read from Redis): version 2 entries under
// this node's origin and own seqs, version 1 under its stream origins
// (docs/format/redis.md section 2).
#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/hex.hpp"
#include "transport/redis_replicator_impl.hpp"

namespace atomik {

void RedisReplicator::Impl::publish_loop() {
  std::vector<std::unique_ptr<transport::RedisLink>> links;
  std::vector<std::uint64_t> seen(shards, 0);
  for (std::uint32_t k = 0; k < shards; ++k) {
    links.push_back(std::make_unique<transport::RedisLink>(link_cfg));
  }
  std::uint32_t backoff = opt.retry_min_ms;
  bool outage_logged = false;
  // Reused by every loop: a slice of max_entry_records (up to 2^16) deltas
  // is megabytes, and fresh buffers of that size would be page-faulted in
  // again for every entry.
  std::vector<FrameRecord> slice;  // of `origin`, seqs slice_first..
  std::vector<FrameRecord> recs;   // one shard's part of the slice
  std::vector<std::byte> frame;
  std::vector<ShardState> st;
  for (;;) {
    Seq slice_first = 0;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return stopping || !outbox.empty(); });
      if (stopping) break;
      // Deltas of one own origin at a time: those of an old incarnation
      // are all published (popped) before the first of the new one.
      if (outbox.front_origin() != origin) {
        switch_origin_locked(outbox.front_origin());
      }
      slice_first = outbox.copy_front(opt.max_entry_records, &slice);
      st = state;
    }
    const std::uint64_t slice_end = slice_first + slice.size() - 1;
    bool failed = false;
    for (std::uint32_t k = 0; k < shards && !failed; ++k) {
      if (st[k].pub_seq >= slice_end) continue;
      std::string_view added_id;  // XADD's reply: the new entry's ID
      Reply added;
      // The slice's deltas above the shard's publish position (all of
      // them, unless an earlier XADD to another shard failed) in that
      // shard: with one shard, a span of the slice itself.
      const auto from = static_cast<std::size_t>(
          st[k].pub_seq >= slice_first ? st[k].pub_seq + 1 - slice_first : 0);
      std::span<const FrameRecord> part =
          std::span<const FrameRecord>(slice).subspan(from);
      const std::uint64_t first_seq = slice_first + from;
      if (shards > 1) {
        recs.clear();
        for (const FrameRecord& r : part) {
          if (redis_shard_of(r.addr, shards) == k) recs.push_back(r);
        }
        part = recs;
      }
      if (!part.empty()) {
        // Version 2 (one shard): `part` holds own seqs first_seq..
        // slice_end, consecutive (RedisOutbox::copy_front).
        const FrameHeader h = write_v2
                                  ? FrameHeader{.origin = origin,
                                                .epoch = 0,
                                                .base_seq = first_seq}
                                  : FrameHeader{.origin = vorigins[k],
                                                .epoch = 0,
                                                .base_seq = st[k].pub_vseq + 1};
        frame.resize(static_cast<std::size_t>(frame_size(part.size(), 0)));
        auto enc = encode_frame_into(
            h, part, {}, frame,
            FrameLimits{.max_frame_bytes = opt.max_frame_bytes});
        if (!enc.ok()) {
          // Options are validated so that this cannot happen.
          log("cannot encode a frame: " + std::string(enc.status().message()));
          failed = true;
          break;
        }
        frame.resize(*enc);
        auto r = links[k]->run(
            {"XADD", keys[k], "*", write_v2 ? "r" : "f", as_view(frame)});
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
        added = std::move(*r);
        added_id = transport::reply_str(added.get());
      }
      std::lock_guard<std::mutex> lock(mu);
      pub_ok = true;
      if (!part.empty()) note_own_id(k, added_id);
      state[k].pub_seq = slice_end;
      if (!write_v2) state[k].pub_vseq += part.size();
      if (!part.empty()) {
        ++stats.entries_published;
        stats.deltas_published += part.size();
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
      const std::uint64_t dropped =
          outbox.pop_through(origin, min_pub_seq_locked());
      if (origin != local_origin) queued_other -= dropped;
    }
    cv.notify_all();
    state_cv.notify_one();
  }
}

void RedisReplicator::Impl::note_own_id(std::uint32_t k, std::string_view id) {
  auto sid = transport::parse_stream_id(id);
  if (!sid.ok()) return;  // not an ID: the reader reads the entry instead
  std::deque<StreamId>& q = own_ids[k];
  if (!q.empty() && !(q.back() < *sid)) return;  // IDs only grow
  q.push_back(*sid);
  if (q.size() > kOwnIdsKept) q.pop_front();
}

void RedisReplicator::Impl::switch_origin_locked(OriginId next) {
  const OriginId old = origin;
  own_sorted.push_back(old);
  vorigins.clear();
  for (std::uint32_t k = 0; k < shards; ++k) {
    vorigins.push_back(redis_stream_origin(next, k));
    own_sorted.push_back(vorigins.back());
  }
  std::sort(own_sorted.begin(), own_sorted.end());
  // Origins before `next` in the list had no delta waiting: passed over.
  auto it = std::find(later_origins.begin(), later_origins.end(), next);
  if (it != later_origins.end()) {
    later_origins.erase(later_origins.begin(), it + 1);
  }
  for (ShardState& s : state) {
    s.pub_seq = 0;
    s.pub_vseq = 0;
  }
  origin = next;
  dirty = true;
  log("publishing own deltas under the new origin " + codec::hex64(next) +
      " (was " + codec::hex64(old) + ")");
}

}  // namespace atomik
