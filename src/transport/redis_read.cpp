// SPDX-License-Identifier: Apache-2.0
// The reader threads (one per held shard): XREAD entries, apply them
// exactly once through the Replica's (or the Node's) marks, and move the read
// position only after what it covers is durable. Malformed entries are counted
// and logged.
#include <algorithm>
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
  for (;;) {
    std::string from;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
      from = state[k].read.to_string();
    }
    auto r = link.run(
        {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", keys[k], from},
        opt.block_ms);
    count_connects(link, &seen);
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
      continue;  // BLOCK timed out
    }
    const redisReply* stream = transport::reply_at(top, 0);
    if (transport::reply_size(stream) != 2) continue;
    const redisReply* entries = transport::reply_at(stream, 1);
    const std::size_t n = transport::reply_size(entries);
    if (n == 0) continue;
    StreamId last;
    {
      std::shared_lock<std::shared_mutex> apply_lock(apply_mu);
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
        last = *sid;
      }
      // The position moves only after what it covers is durable.
      const Status s = sync_table();
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (fatal.ok()) fatal = s;
        log("shard " + std::to_string(k) +
            ": reader stopped: " + std::string(s.message()));
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      stats.entries_read += n;
      if (state[k].read < last) state[k].read = last;
      dirty = true;
    }
    cv.notify_all();
    (void)maybe_flush(false);
  }
}

}  // namespace atomik
