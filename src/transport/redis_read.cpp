// SPDX-License-Identifier: Apache-2.0
// The reader threads (one per held shard): XREAD entries, apply them
// exactly once through the Replica's (or the Node's) marks, and move the read
// position only after what it covers is durable. Malformed entries are counted
// and logged.
#include <algorithm>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/redis_replicator_impl.hpp"

namespace atomik {

Result<ReplicaApply> RedisReplicator::Impl::apply_run(const FrameView& f) {
  if (node) {
    auto r = node->apply_frame(f);
    if (!r.ok()) return r.status();
    return ReplicaApply{
        .applied = r->applied, .duplicate = r->duplicate, .gap = r->gap};
  }
  std::vector<FrameRecord> recs(f.count());
  for (std::size_t i = 0; i < f.count(); ++i) recs[i] = f.record(i);
  return replica->apply_run(f.header().origin, f.header().base_seq, recs);
}

bool RedisReplicator::Impl::apply_entry(std::uint32_t k, std::string_view id,
                                        const redisReply* fields) {
  auto malformed = [&](const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++stats.entries_malformed;
    }
    log("shard " + std::to_string(k) + " entry " + std::string(id) +
        ": skipped malformed entry: " + why);
    return true;
  };
  // Version 2 ("r") and version 1 ("f") entries are applied alike: a run
  // of the frame's origin and seqs (docs/format/redis.md section 5).
  if (fields == nullptr || transport::reply_type(fields) != ReplyType::kArray ||
      transport::reply_size(fields) != 2) {
    return malformed("expected exactly one field 'r' or 'f'");
  }
  const redisReply* name = transport::reply_at(fields, 0);
  const redisReply* value = transport::reply_at(fields, 1);
  const std::string_view field = transport::reply_str(name);
  if ((field != "r" && field != "f") ||
      transport::reply_type(value) != ReplyType::kString) {
    return malformed("expected exactly one field 'r' or 'f'");
  }
  const std::string_view v = transport::reply_str(value);
  const std::span<const std::byte> bytes(
      reinterpret_cast<const std::byte*>(v.data()), v.size());
  auto f =
      parse_frame(bytes, FrameLimits{.max_frame_bytes = opt.max_frame_bytes});
  if (!f.ok()) return malformed(std::string(f.status().message()));
  if (f->size() != bytes.size()) {
    return malformed(std::to_string(bytes.size() - f->size()) +
                     " bytes after the frame");
  }
  if (is_own(f->header().origin)) {
    std::lock_guard<std::mutex> lock(mu);
    ++stats.entries_own;
    return true;
  }
  if (f->count() == 0) return true;
  auto r = apply_run(*f);
  if (!r.ok()) {
    const Status& s = r.status();
    // kResourceExhausted: an origin above max_origins (the Replica logs
    // and counts it too); the entry is skipped, not fatal.
    if (s.code() == Code::kOutOfRange || s.code() == Code::kInvalidArgument ||
        s.code() == Code::kResourceExhausted) {
      return malformed(std::string(s.message()));
    }
    std::lock_guard<std::mutex> lock(mu);
    if (fatal.ok()) fatal = s;
    return false;
  }
  if (r->gap) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++stats.frames_gap;
    }
    log("shard " + std::to_string(k) + " entry " + std::string(id) +
        ": not applied (gap): origin " + std::to_string(f->header().origin) +
        " base seq " + std::to_string(f->header().base_seq));
    return true;
  }
  std::lock_guard<std::mutex> lock(mu);
  stats.deltas_applied += r->applied;
  stats.deltas_duplicate += r->duplicate;
  return true;
}

void RedisReplicator::Impl::read_loop(std::uint32_t k) {
  transport::RedisLink link(link_cfg);
  std::uint64_t seen = 0;
  std::uint32_t backoff = opt.retry_min_ms;
  bool outage_logged = false;
  const std::string count = std::to_string(opt.read_count);
  const std::string block = std::to_string(opt.block_ms);
  // Entries applied whose table sync and position move wait until the next
  // XREAD (sent without BLOCK) has returned: the WAL's fdatasync of one
  // read overlaps Redis sending the next. apply_lock (shared) is held from
  // their apply until the position covers them, so a snapshot never sees
  // the one without the other.
  std::shared_lock<std::shared_mutex> apply_lock(apply_mu, std::defer_lock);
  StreamId pending;           // the last applied entry's id
  std::size_t pending_n = 0;  // entries read and not yet settled
  // The position moves only after what it covers is durable. False: the
  // table failed, the reader stops.
  auto settle = [&]() -> bool {
    if (!apply_lock.owns_lock()) return true;
    const Status s = sync_table();
    if (!s.ok()) {
      apply_lock.unlock();
      std::lock_guard<std::mutex> lock(mu);
      if (fatal.ok()) fatal = s;
      log("shard " + std::to_string(k) +
          ": reader stopped: " + std::string(s.message()));
      return false;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      stats.entries_read += pending_n;
      if (state[k].read < pending) state[k].read = pending;
      dirty = true;
    }
    apply_lock.unlock();
    pending_n = 0;
    cv.notify_all();
    state_cv.notify_one();
    return true;
  };
  // Own entries next in the stream are passed without reading them (each
  // is as large as the batch it carries): an XRANGE COUNT 1 of the IDs
  // between the position and the entry proves nothing else comes first (no
  // entry can be added below an existing ID). They hold this node's own
  // deltas, durable before they were published, so the position may move
  // past them at once. Counted as read and own, as if read. Stops at the
  // first entry of another node, or on any error (XREAD then reads on).
  auto skip_own_entries = [&] {
    bool skipped = false;
    for (;; skipped = true) {
      StreamId pos;
      StreamId own;
      {
        std::lock_guard<std::mutex> lock(mu);
        pos = state[k].read;
        std::deque<StreamId>& q = own_ids[k];
        while (!q.empty() && !(pos < q.front())) q.pop_front();
        if (q.empty() || stopping) break;
        own = q.front();
      }
      // [lo, hi]: the IDs strictly between pos and own.
      StreamId lo = pos;
      if (++lo.seq == 0) ++lo.ms;
      StreamId hi = own;
      if (hi.seq-- == 0) --hi.ms;
      if (!(hi < lo)) {
        auto r = link.run(
            {"XRANGE", keys[k], lo.to_string(), hi.to_string(), "COUNT", "1"});
        count_connects(link, &seen);
        if (!r.ok() || transport::reply_type(r->get()) != ReplyType::kArray ||
            transport::reply_size(r->get()) != 0) {
          break;
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      if (state[k].read < own) state[k].read = own;
      ++stats.entries_read;
      ++stats.entries_own;
      dirty = true;
    }
    if (skipped) {
      cv.notify_all();
      state_cv.notify_one();
    }
  };
  for (;;) {
    std::string from;
    bool stop_now = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      stop_now = stopping;
      from = state[k].read.to_string();
    }
    if (stop_now) {
      (void)settle();
      return;
    }
    // A snapshot waiting for apply_mu: settle now and XREAD without it.
    if (apply_waiters.load() > 0 && !settle()) return;
    const bool unsettled = apply_lock.owns_lock();
    if (!unsettled) {
      skip_own_entries();
      std::lock_guard<std::mutex> lock(mu);
      from = state[k].read.to_string();
    }
    if (unsettled && StreamId{} < pending) from = pending.to_string();
    auto r = unsettled
                 ? link.run({"XREAD", "COUNT", count, "STREAMS", keys[k], from})
                 : link.run({"XREAD", "COUNT", count, "BLOCK", block, "STREAMS",
                             keys[k], from},
                            opt.block_ms);
    count_connects(link, &seen);
    if (!settle()) return;
    const std::size_t slot = static_cast<std::size_t>(
        std::lower_bound(held.begin(), held.end(), k) - held.begin());
    {
      std::lock_guard<std::mutex> lock(mu);
      read_ok[slot] = r.ok() ? 1 : 0;
    }
    if (!r.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++stats.connection_errors;
      }
      if (!outage_logged) {
        log("shard " + std::to_string(k) +
            ": reading stalled: " + std::string(r.status().message()));
        outage_logged = true;
      }
      if (!backoff_wait(&backoff)) return;
      continue;
    }
    if (outage_logged) {
      log("shard " + std::to_string(k) + ": reading resumed");
      outage_logged = false;
    }
    backoff = opt.retry_min_ms;
    const redisReply* top = r->get();
    if (transport::reply_type(top) != ReplyType::kArray ||
        transport::reply_size(top) == 0) {
      continue;  // BLOCK timed out, or nothing new
    }
    const redisReply* stream = transport::reply_at(top, 0);
    if (transport::reply_size(stream) != 2) continue;
    const redisReply* entries = transport::reply_at(stream, 1);
    const std::size_t n = transport::reply_size(entries);
    if (n == 0) continue;
    apply_lock.lock();
    for (std::size_t i = 0; i < n; ++i) {
      const redisReply* e = transport::reply_at(entries, i);
      if (transport::reply_size(e) != 2) continue;
      const std::string_view id =
          transport::reply_str(transport::reply_at(e, 0));
      auto sid = transport::parse_stream_id(id);
      if (!sid.ok()) continue;  // Redis never sends these
      if (!apply_entry(k, id, transport::reply_at(e, 1))) {
        log("shard " + std::to_string(k) +
            ": reader stopped: " + std::string(fatal.message()));
        return;
      }
      pending = *sid;
    }
    pending_n = n;
  }
}

}  // namespace atomik
