// SPDX-License-Identifier: Apache-2.0
// What a RedisReplicator does before its threads start: connect the
// control link, bootstrap an empty directory from the newest snapshot,
// refuse a position the streams were trimmed past, and reload own deltas
// not yet published.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "atomik/checkpoint.hpp"
#include "atomik/file.hpp"
#include "atomik/wal.hpp"
#include "codec/hex.hpp"
#include "sync/origin.hpp"
#include "transport/redis_replicator_impl.hpp"

namespace atomik {

Status RedisReplicator::Impl::connect_control() {
  ctl = std::make_unique<transport::RedisLink>(link_cfg);
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(opt.start_timeout_ms);
  std::uint32_t backoff = opt.retry_min_ms;
  for (;;) {
    Status s = ctl->connect();
    if (s.ok()) {
      stats.connects += 1;
      return s;
    }
    if (s.code() != Code::kUnavailable) return s;
    if (Clock::now() + std::chrono::milliseconds(backoff) > deadline) {
      return Status::unavailable("RedisReplicator::start",
                                 "Redis at " + ctl->where() +
                                     " did not answer within " +
                                     std::to_string(opt.start_timeout_ms) +
                                     " ms: " + std::string(s.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
    backoff = std::min(opt.retry_max_ms, backoff * 2);
  }
}

Status RedisReplicator::Impl::check_shape(const PersistentOptions& storage) {
  const std::string key = opt.table + ":shape";
  const std::string want = storage.shape().to_string();
  auto set = ctl->run({"SET", key, want, "NX"});
  if (!set.ok()) return set.status();
  auto got = ctl->run({"GET", key});
  if (!got.ok()) return got.status();
  if (transport::reply_type(got->get()) == ReplyType::kString &&
      transport::reply_str(got->get()) != want) {
    return Status::failed_precondition(
        "Redis table '" + opt.table + "'",
        "holds group " + std::string(transport::reply_str(got->get())) +
            " (key " + key + "), this replicator's table is " + want);
  }
  return Status();
}

Status RedisReplicator::Impl::bootstrap_if_empty(
    const PersistentOptions& storage) {
  // Replicators of different groups or widths never share a Redis table.
  ATOMIK_RETURN_IF_ERROR(check_shape(storage));
  FileSystem& fs = FileSystem::posix();
  if (fs.exists(dir + "/" + kCheckpointFileName) || !opt.bootstrap) {
    return Status();
  }
  auto r = ctl->run({"HGET", redis_snapshot_key(opt.table), "data"});
  if (!r.ok()) return r.status();
  if (transport::reply_type(r->get()) != ReplyType::kString) return Status();
  const std::string_view v = transport::reply_str(r->get());
  auto snap = transport::decode_redis_snapshot(std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(v.data()), v.size()));
  if (!snap.ok()) {
    return snap.status().with_context("key " + redis_snapshot_key(opt.table));
  }
  if (snap->positions.size() != shards) {
    return Status::invalid_argument(
        "bootstrap", "snapshot has " + std::to_string(snap->positions.size()) +
                         " shards, options say " + std::to_string(shards));
  }
  if (snap->num_contexts != storage.num_contexts) {
    return Status::invalid_argument(
        "bootstrap", "snapshot has num_contexts " +
                         std::to_string(snap->num_contexts) + ", options say " +
                         std::to_string(storage.num_contexts));
  }
  ATOMIK_RETURN_IF_ERROR(fs.create_dirs(dir));
  CheckpointData cp;
  cp.self_origin = storage.origin != 0 ? storage.origin : sync::random_origin();
  transport::StateFile st{.origins = {cp.self_origin},
                          .shards = std::vector<ShardState>(shards)};
  for (std::uint32_t k = 0; k < shards; ++k) {
    st.shards[k].read = snap->positions[k];
  }
  ATOMIK_RETURN_IF_ERROR(write_state_file(st));
  cp.num_contexts = storage.num_contexts;
  cp.shape = storage.shape();
  cp.states = snap->states;
  cp.origins = snap->vv;
  // The checkpoint is written last: its presence means "bootstrapped".
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(fs, dir, cp));
  stats.bootstrapped = 1;
  log("bootstrapped '" + dir + "' from snapshot at " +
      transport::positions_text(snap->positions) + " (" +
      std::to_string(snap->states.size()) + " states)");
  return Status();
}

Result<std::vector<FrameRecord>> RedisReplicator::Impl::unpublished_of(
    OriginId o, std::uint64_t low) const {
  const std::uint64_t own_seq = mark_of(o);
  std::vector<FrameRecord> out;
  if (own_seq <= low) return out;
  {
    // The Replica retains recent deltas of every origin: no WAL read. The
    // WAL is read again only when more than
    // ReplicaOptions::retain_per_origin own deltas wait (a long Redis
    // outage before a restart).
    auto kept =
        node ? node->retained_since(o, low) : replica->retained_since(o, low);
    if (kept.ok() && kept->size() == own_seq - low) {
      out = std::move(*kept);
      log("republishing " + std::to_string(out.size()) + " own deltas of " +
          codec::hex64(o) + " from the retained log");
      return out;
    }
  }
  FileSystem& fs = FileSystem::posix();
  auto cp = read_checkpoint(fs, dir + "/" + kCheckpointFileName);
  if (!cp.ok()) return cp.status();
  std::uint64_t next = low + 1;
  Status gap;
  const WalVisitor visit = [&](const WalRecord& r, const WalPlace&) {
    if (r.origin != o || r.seq < next) return Status();
    if (r.seq != next || r.type != WalRecordType::kDelta) {
      return Status::failed_precondition(
          "RedisReplicator::start",
          "own seq " + std::to_string(r.seq) + " in the WAL is a " +
              to_string(r.type) + " record or skips ahead of " +
              std::to_string(next) +
              " (only accum() through the replicator is replicated)");
    }
    out.push_back({r.addr, r.value});
    ++next;
    return Status();
  };
  RecoveryReport report;
  ATOMIK_RETURN_IF_ERROR(read_wal(dir, cp->wal_first_segment,
                                  RecoveryMode::kSkip, visit, &report));
  if (next != own_seq + 1) {
    return Status::failed_precondition(
        "RedisReplicator::start",
        "own deltas " + std::to_string(next) + ".." + std::to_string(own_seq) +
            " of origin " + codec::hex64(o) + " in '" + dir +
            "' are acknowledged but neither published (up to seq " +
            std::to_string(low) + ") nor in the WAL");
  }
  log("republishing " + std::to_string(out.size()) + " own deltas of " +
      codec::hex64(o) + " from the WAL");
  return out;
}

Status RedisReplicator::Impl::check_not_behind() {
  for (std::uint32_t k : held) {
    auto r = ctl->run({"XINFO", "STREAM", keys[k]});
    if (!r.ok()) {
      if (r.status().message().find("no such key") != std::string::npos) {
        continue;
      }
      return r.status();
    }
    const redisReply* info = r->get();
    long long length = 0;
    long long added = 0;
    StreamId first;
    bool has_first = false;
    StreamId last;
    for (std::size_t i = 0; i + 1 < transport::reply_size(info); i += 2) {
      const std::string_view name =
          transport::reply_str(transport::reply_at(info, i));
      const redisReply* val = transport::reply_at(info, i + 1);
      if (name == "length") {
        length = transport::reply_integer(val);
      } else if (name == "entries-added") {
        added = transport::reply_integer(val);
      } else if (name == "first-entry" && transport::reply_size(val) == 2) {
        auto id = transport::parse_stream_id(
            transport::reply_str(transport::reply_at(val, 0)));
        if (id.ok()) {
          first = *id;
          has_first = true;
        }
      } else if (name == "last-generated-id") {
        auto id = transport::parse_stream_id(transport::reply_str(val));
        if (id.ok()) last = *id;
      }
    }
    const StreamId pos = state[k].read;
    if (last < pos) {
      log("shard " + std::to_string(k) + ": stream ends at " +
          last.to_string() + " but this node applied up to " + pos.to_string() +
          ": Redis lost data?");
    }
    if (added <= length) continue;  // nothing was ever removed
    const StreamId bound = has_first ? first : last;
    bool behind = pos < bound;
    if (behind && pos != StreamId{}) {
      const std::string p = pos.to_string();
      auto at = ctl->run({"XRANGE", keys[k], p, p});
      if (!at.ok()) return at.status();
      behind = transport::reply_size(at->get()) == 0;
    }
    if (behind) {
      return Status::failed_precondition(
          "RedisReplicator::start",
          "'" + dir + "' has applied shard " + std::to_string(k) + " up to " +
              pos.to_string() +
              " but the stream was trimmed past it (first entry " +
              bound.to_string() +
              "): move the directory away and start with an empty one "
              "to bootstrap from the newest snapshot");
    }
  }
  return Status();
}
}  // namespace atomik
