// SPDX-License-Identifier: Apache-2.0
// RedisReplicator: a Replica replicated through Redis Streams.
// Behaviour: docs/redis.md; layouts: docs/format/redis.md.
//
// A transport over the one owner of the table: start() opens a Replica,
// start_node() uses the Node's; marks, retained log and digest are the
// Replica's, so a delta reaching this process through Redis and through
// TCP is applied once. This file keeps only stream positions and the
// outbox of own deltas not yet published.
//
// Threads: the caller's (accum, snapshot, swap), one publisher, one reader
// per held shard. With start_node() the table is a Node's: own deltas come
// from NodeHooks::on_local_batch (network thread, in seq order, durable),
// admission (max_unpublished) is NodeHooks::admit_local under the node's
// lock, and remote entries go through Node::apply_frame; the node's hooks
// reach this Impl through a Bridge, cleared first by stop(). Lock order:
// the node's lock -> mu; the bridge's lock -> the node's, the Replica's
// and mu (the node takes the bridge's lock only outside its own, in
// on_incarnation); nothing here calls the Node while holding mu. Locks,
// in acquisition order: accum_mu (serialises local deltas so the outbox is in
// seq order), apply_mu (shared by readers from apply to position update;
// exclusive for a snapshot), mu (outbox, shard states, stats), file_mu
// (REDIS_STATE writes), ctl_mu (the control link).
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "atomik/redis.hpp"
#include "codec/hex.hpp"
#include "transport/redis_client.hpp"
#include "transport/redis_format.hpp"
#include "transport/redis_replicator_impl.hpp"

namespace atomik {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Compare-and-set of the newest snapshot: refuses (returns 0) a snapshot
// whose position is behind the stored one on some shard, -1 on a shard
// count mismatch. Stream IDs compared numerically (ms fits a double).
constexpr const char* kSnapshotCasScript = R"lua(
local cur = redis.call('HGET', KEYS[1], 'pos')
if cur then
  local new = {}
  for id in string.gmatch(ARGV[1], '[^,]+') do new[#new + 1] = id end
  local i = 0
  for id in string.gmatch(cur, '[^,]+') do
    i = i + 1
    local n = new[i]
    if n == nil then return -1 end
    local ams, aseq = string.match(id, '(%d+)-(%d+)')
    local bms, bseq = string.match(n, '(%d+)-(%d+)')
    ams = tonumber(ams); aseq = tonumber(aseq)
    bms = tonumber(bms); bseq = tonumber(bseq)
    if bms < ams or (bms == ams and bseq < aseq) then return 0 end
  end
  if i ~= #new then return -1 end
end
redis.call('HSET', KEYS[1], 'pos', ARGV[1], 'data', ARGV[2])
return 1
)lua";

}  // namespace

std::uint64_t redis_stream_origin(OriginId origin, std::uint32_t shard) {
  const std::uint64_t o = splitmix64(origin ^ (0x6174726564697300ULL + shard));
  return o == 0 ? 1 : o;
}

std::string redis_stream_key(const std::string& table, std::uint32_t shard) {
  return table + ":{" + table + "-shard-" + std::to_string(shard) + "}:deltas";
}

std::string redis_snapshot_key(const std::string& table) {
  return table + ":snapshot";
}

Status RedisReplicator::Impl::check_room_locked(std::uint64_t unpublished,
                                                std::size_t n) {
  if (unpublished + n <= opt.max_unpublished) return Status();
  stats.deltas_refused += n;
  return Status::resource_exhausted(
      "Redis publishing",
      std::to_string(unpublished) +
          " own deltas are acknowledged but not yet published (Redis " +
          (connected_locked() ? "is slow" : "is unreachable") + "); refusing " +
          std::to_string(n) + " new deltas beyond max_unpublished " +
          std::to_string(opt.max_unpublished) +
          " (nothing acknowledged is lost; retry once Redis is back)");
}

Status RedisReplicator::Impl::admit(std::uint64_t last_seq, std::size_t n) {
  std::lock_guard<std::mutex> lock(mu);
  if (stopping) {
    return Status::unavailable("Redis publishing", "the node is stopping");
  }
  if (swapping) {
    return Status::unavailable("Redis publishing",
                               "a swap is in progress; retry");
  }
  // The node calls this under its lock with its current own seq, which is
  // of local_origin: after a new incarnation local writes are held until
  // NodeHooks::on_incarnation has run.
  return check_room_locked(unpublished_locked({local_origin, last_seq}), n);
}

std::uint64_t RedisReplicator::Impl::unpublished_locked(
    const OwnMark& m) const {
  if (m.origin != local_origin) return outbox.size();
  const std::uint64_t low = min_pub_seq_locked();
  if (origin == local_origin) return m.seq - std::min(m.seq, low);
  // Entries of `origin` published to every shard leave the outbox a moment
  // later (they are consecutive seqs at its front).
  std::uint64_t done = 0;
  if (!outbox.empty() && outbox.front_origin() == origin &&
      outbox.front_seq() <= low) {
    done = low - outbox.front_seq() + 1;
  }
  return m.seq + queued_other - std::min(done, queued_other);
}

void RedisReplicator::Impl::enqueue(std::uint64_t first,
                                    std::span<const FrameRecord> recs) {
  {
    std::lock_guard<std::mutex> lock(mu);
    // Consecutive own seqs per origin (a new incarnation starts at 1).
    ATOMIK_DCHECK(outbox.empty() || outbox.back_origin() != local_origin ||
                  outbox.back_seq() + 1 == first);
    outbox.push(local_origin, first, recs);
    stats.deltas_local += recs.size();
  }
  cv.notify_all();
}

void RedisReplicator::Impl::incarnate(OriginId old, OriginId next) {
  {
    std::lock_guard<std::mutex> lock(mu);
    // finish_start() already read the node's new origin (the hook came
    // after it took the bridge's lock): in the chain already.
    if (next == local_origin) return;
    local_origin = next;
    later_origins.push_back(next);
    queued_other = outbox.size();
    // REDIS_STATE lists it, so a restart before the publisher reaches it
    // still publishes the deltas of every origin in between.
    dirty = true;
  }
  state_cv.notify_one();
  log("own origin " + codec::hex64(old) + " -> " + codec::hex64(next) +
      ": later own deltas are published under it from seq 1");
  cv.notify_all();
}

Status RedisReplicator::Impl::before_swap() {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (swapping) {
      return Status::unavailable("RedisReplicator::swap",
                                 "another swap is in progress");
    }
    swapping = true;
  }
  // Every admitted delta has its seq by now (admit runs under the node's
  // lock, before the seq is assigned).
  const OwnMark own = own_mark();
  {
    std::lock_guard<std::mutex> lock(mu);
    const std::uint64_t waiting = unpublished_locked(own);
    if (waiting != 0) {
      swapping = false;
      return Status::unavailable(
          "RedisReplicator::swap",
          std::to_string(waiting) +
              " own deltas are not yet published to Redis; the WAL must "
              "keep them (retry once Redis is reachable)");
    }
    dirty = true;
  }
  Status s = maybe_flush(/*force=*/true);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu);
    swapping = false;
  }
  return s;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>>
RedisReplicator::Impl::snapshot_marks_locked(const VersionVector& vv) const {
  // Every mark (own origin included: version 2 entries of this node up to
  // it are covered), plus the stream origins of version 1 entries it
  // published, at their published stream seqs.
  std::map<std::uint64_t, std::uint64_t> out;
  for (const auto& [o, mark] : vv.entries()) {
    if (mark != 0) out[o] = mark;
  }
  for (std::uint32_t k = 0; k < shards; ++k) {
    if (state[k].pub_vseq != 0) out[vorigins[k]] = state[k].pub_vseq;
  }
  return {out.begin(), out.end()};
}

RedisReplicator::RedisReplicator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

RedisReplicator::~RedisReplicator() { (void)stop(); }

// Validates `options` and builds an Impl (no connection yet).
Result<std::unique_ptr<RedisReplicator::Impl>> RedisReplicator::Impl::create(
    const std::string& data_dir, const RedisOptions& options) {
  constexpr std::string_view kWhere = "RedisReplicator::start";
  if (options.shards == 0 || options.shards > kRedisMaxShards) {
    return Status::invalid_argument(
        kWhere, "shards must be 1.." + std::to_string(kRedisMaxShards) +
                    ", got " + std::to_string(options.shards));
  }
  if (options.table.empty() ||
      options.table.find_first_of("{}") != std::string::npos) {
    return Status::invalid_argument(kWhere,
                                    "table name must be non-empty, no braces");
  }
  if (options.max_entry_records == 0 ||
      frame_size(options.max_entry_records, 0) > options.max_frame_bytes ||
      options.max_frame_bytes > kFrameMaxLimit) {
    return Status::invalid_argument(
        kWhere, "max_entry_records " +
                    std::to_string(options.max_entry_records) +
                    " does not fit max_frame_bytes " +
                    std::to_string(options.max_frame_bytes));
  }
  if (options.block_ms == 0 || options.read_count == 0 ||
      options.retry_min_ms == 0 ||
      options.retry_min_ms > options.retry_max_ms) {
    return Status::invalid_argument(
        kWhere,
        "block_ms, read_count, retry_min_ms must be > 0 and "
        "retry_min_ms <= retry_max_ms");
  }
  if (options.max_unpublished == 0) {
    return Status::invalid_argument(kWhere, "max_unpublished must be > 0");
  }
  auto ep = parse_redis_url(options.url);
  if (!ep.ok()) return ep.status();
  if (!options.user.empty()) ep->user = options.user;
  if (!options.password.empty()) ep->password = options.password;

  auto impl = std::make_unique<Impl>();
  impl->dir = data_dir;
  impl->opt = options;
  impl->shards = options.shards;
  impl->link_cfg = {.endpoint = *ep,
                    .cluster = options.cluster,
                    .connect_timeout_ms = options.connect_timeout_ms,
                    .command_timeout_ms = options.command_timeout_ms};
  if (options.held_shards.empty()) {
    for (std::uint32_t k = 0; k < options.shards; ++k) impl->held.push_back(k);
  } else {
    impl->held = options.held_shards;
    std::sort(impl->held.begin(), impl->held.end());
    if (std::adjacent_find(impl->held.begin(), impl->held.end()) !=
            impl->held.end() ||
        impl->held.back() >= options.shards) {
      return Status::invalid_argument(
          kWhere, "held_shards must be distinct and < shards");
    }
  }
  impl->read_ok.assign(impl->held.size(), 1);
  impl->own_ids.resize(options.shards);
  for (std::uint32_t k = 0; k < options.shards; ++k) {
    impl->keys.push_back(redis_stream_key(options.table, k));
  }
  return impl;
}

// Once the table (or node) is open: positions, outbox, threads.
//
// The publisher starts on the origin the positions count. When a new
// incarnation started since REDIS_STATE was written (at this start, or in
// an earlier run before the publisher reached it), the own origins with
// deltas not all published form a chain, oldest first: REDIS_STATE's list,
// then the origin the table opened with, then its origin now. Each one's
// waiting deltas are queued in that order (the first's above its publish
// positions, the others' from seq 1) and published under it. Without a
// list (no REDIS_STATE, or version 1) the positions count the origin the
// table opened with.
//
// In a node the bridge's lock is held from reading the node's origins
// until `impl` is set: an incarnation the node starts meanwhile is either
// seen here or reaches incarnate() afterwards (which ignores one seen
// here). At most one incarnation happens per start.
Status RedisReplicator::Impl::finish_start() {
  auto state_origins = load_state_file();
  if (!state_origins.ok()) return state_origins.status();
  // Version 2 entries need one shard and no version 1 history: readers
  // hold this node's earlier deltas under its stream origins.
  write_v2 = shards == 1;
  for (const ShardState& s : state) {
    if (s.pub_vseq != 0) write_v2 = false;
  }
  // Redis calls, before the bridge's lock (the node's network thread may
  // wait for it in on_incarnation).
  ATOMIK_RETURN_IF_ERROR(check_not_behind());
  std::unique_lock<std::mutex> bridge_lock;
  OriginId now = origin;
  OriginId opened = now;
  if (bridge) {
    bridge_lock = std::unique_lock<std::mutex>(bridge->mu);
    opened = node->opened_origin();
    now = node->origin();
  }
  std::vector<OriginId> chain = std::move(*state_origins);  // distinct
  for (OriginId o : {opened, now}) {
    if (std::find(chain.begin(), chain.end(), o) == chain.end()) {
      chain.push_back(o);
    }
  }
  for (OriginId o : chain) {
    // Entries of every origin in the chain may be in the streams already
    // (published before REDIS_STATE recorded it): own.
    own_sorted.push_back(o);
    for (std::uint32_t k = 0; k < shards; ++k) {
      own_sorted.push_back(redis_stream_origin(o, k));
    }
  }
  std::sort(own_sorted.begin(), own_sorted.end());
  for (std::uint32_t k = 0; k < shards; ++k) {
    vorigins.push_back(redis_stream_origin(chain.front(), k));
  }
  origin = chain.front();
  local_origin = now;
  const std::uint64_t low = min_pub_seq_locked();
  // Later origins: those with deltas waiting, then `now` (an origin with
  // none is passed over, so REDIS_STATE's list does not grow with restarts
  // that wrote nothing).
  queued_other = 0;
  later_origins.clear();
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const std::uint64_t after = i == 0 ? low : 0;
    auto got = unpublished_of(chain[i], after);
    if (!got.ok()) {
      // The current origin's are still in the WAL unless it was damaged:
      // refuse to start. An earlier origin's may be gone (checkpointed
      // before this version named them): logged, and still in the table,
      // its snapshots and its TCP catch-up.
      if (chain[i] == now) return got.status();
      log("own deltas of the earlier origin " + codec::hex64(chain[i]) +
          " are not republished to Redis: " + got.status().to_string());
      continue;
    }
    if (got->empty()) continue;
    outbox.push(chain[i], after + 1, *got);
    if (chain[i] != now) queued_other += got->size();
    if (chain[i] != origin &&
        (later_origins.empty() || later_origins.back() != chain[i])) {
      later_origins.push_back(chain[i]);
    }
  }
  if (now != origin && (later_origins.empty() || later_origins.back() != now)) {
    later_origins.push_back(now);
  }
  if (queued_other != 0 && now != origin) {
    log("publishing continues under own origin " + codec::hex64(now) +
        " after " + std::to_string(queued_other) +
        " waiting deltas of earlier origins");
  }
  stats.deltas_local = mark_of(now);
  if (bridge) bridge->impl.store(this);
  bridge_lock = {};
  Impl* p = this;
  publisher = std::thread([p] { p->publish_loop(); });
  state_writer = std::thread([p] { p->state_loop(); });
  for (std::uint32_t k : held) {
    readers.emplace_back([p, k] { p->read_loop(k); });
  }
  return Status();
}

Result<std::unique_ptr<RedisReplicator>> RedisReplicator::start(
    const std::string& data_dir, const PersistentOptions& storage,
    const RedisOptions& options) {
  auto created = Impl::create(data_dir, options);
  if (!created.ok()) return created.status();
  std::unique_ptr<Impl> impl = std::move(*created);
  ATOMIK_RETURN_IF_ERROR(impl->connect_control());
  ATOMIK_RETURN_IF_ERROR(impl->bootstrap_if_empty(storage));
  ReplicaOptions ro;
  ro.storage = storage;
  if (options.log) {
    ro.log = [](const std::string& line) {
      std::fprintf(stderr, "atomik redis: %s\n", line.c_str());
    };
  }
  auto t = Replica::open(data_dir, ro);
  if (!t.ok()) return t.status();
  impl->replica = std::move(*t);
  impl->origin = impl->replica->origin();
  impl->num_contexts = storage.num_contexts;
  ATOMIK_RETURN_IF_ERROR(impl->finish_start());
  return std::unique_ptr<RedisReplicator>(new RedisReplicator(std::move(impl)));
}

Result<std::unique_ptr<RedisReplicator>> RedisReplicator::start_node(
    const NodeOptions& node_options, const RedisOptions& options) {
  const NodeHooks& h = node_options.hooks;
  if (h.admit_local || h.on_local_batch || h.before_swap || h.after_swap ||
      h.on_incarnation || h.status) {
    return Status::invalid_argument(
        "RedisReplicator::start_node",
        "NodeOptions::hooks must be empty (start_node sets them)");
  }
  if (options.shards > 1 && !node_options.peers.empty()) {
    // Sharded tables write version 1 entries (stream origins), which TCP
    // frames cannot be deduped against (docs/format/redis.md section 2).
    return Status::invalid_argument(
        "RedisReplicator::start_node",
        "TCP peers with " + std::to_string(options.shards) +
            " Redis shards: a delta reaching a node through both would be "
            "applied twice (Redis and TCP together need one shard)");
  }
  auto created = Impl::create(node_options.data_dir, options);
  if (!created.ok()) return created.status();
  std::unique_ptr<Impl> impl = std::move(*created);
  ATOMIK_RETURN_IF_ERROR(impl->connect_control());
  ATOMIK_RETURN_IF_ERROR(impl->bootstrap_if_empty(node_options.storage));
  auto bridge = std::make_shared<Impl::Bridge>();
  impl->bridge = bridge;
  NodeOptions no = node_options;
  // Nor may a peer connect to it: its deltas would arrive twice.
  if (options.shards > 1) no.clients_only = true;
  no.hooks.admit_local = [bridge](Seq last, std::size_t n) -> Status {
    Impl* m = bridge->impl.load();
    if (m == nullptr) {
      return Status::unavailable("Redis publishing",
                                 "Redis replication is not running");
    }
    return m->admit(last, n);
  };
  no.hooks.on_local_batch = [bridge](Seq first,
                                     std::span<const FrameRecord> recs) {
    // Not running: the deltas stay in the WAL, republished at next start.
    if (Impl* m = bridge->impl.load()) m->enqueue(first, recs);
  };
  no.hooks.before_swap = [bridge]() -> Status {
    Impl* m = bridge->impl.load();
    if (m == nullptr) {
      return Status::unavailable("RedisReplicator::swap",
                                 "Redis replication is not running");
    }
    return m->before_swap();
  };
  no.hooks.after_swap = [bridge] {
    if (Impl* m = bridge->impl.load()) m->after_swap();
  };
  no.hooks.on_incarnation = [bridge](OriginId old, OriginId next) {
    std::lock_guard<std::mutex> lock(bridge->mu);
    // Not running yet: finish_start() reads the node's origins.
    if (Impl* m = bridge->impl.load()) m->incarnate(old, next);
  };
  no.hooks.status = [bridge] {
    std::vector<std::pair<std::string, std::string>> out;
    if (Impl* m = bridge->impl.load()) {
      out.emplace_back("redis", m->status().to_json());
    }
    return out;
  };
  auto n = Node::start(no);
  if (!n.ok()) return n.status();
  impl->node = std::move(*n);
  impl->origin = impl->node->origin();
  impl->num_contexts = node_options.storage.num_contexts;
  ATOMIK_RETURN_IF_ERROR(impl->finish_start());
  return std::unique_ptr<RedisReplicator>(new RedisReplicator(std::move(impl)));
}

Status RedisReplicator::accum(Addr addr, std::uint64_t delta) {
  const FrameRecord r{addr, delta};
  return accum_batch(std::span<const FrameRecord>(&r, 1));
}

Status RedisReplicator::accum_batch(std::span<const FrameRecord> deltas) {
  Impl& m = *impl_;
  if (deltas.empty()) return Status();
  if (m.node) {
    // The node's admit_local hook checks the room (and refuses after stop).
    return m.node->accum_batch(deltas);
  }
  std::lock_guard<std::mutex> accum_lock(m.accum_mu);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.stopped) {
      return Status::failed_precondition("RedisReplicator::accum",
                                         "the replicator is stopped");
    }
    ATOMIK_RETURN_IF_ERROR(m.check_room_locked(m.outbox.size(), deltas.size()));
  }
  auto first = m.replica->accum_batch(deltas, /*wait=*/true);
  if (!first.ok()) return first.status();
  m.enqueue(*first, deltas);  // durable now, in seq order (accum_mu)
  return Status();
}

Result<std::uint64_t> RedisReplicator::read(Addr addr) const {
  if (impl_->node) return impl_->node->read(addr);
  return impl_->replica->read(addr);
}

Result<std::vector<std::pair<Addr, std::uint64_t>>> RedisReplicator::snapshot()
    const {
  if (impl_->node) return impl_->node->snapshot();
  return impl_->replica->snapshot();
}

VersionVector RedisReplicator::version_vector() const {
  if (impl_->node) return impl_->node->version_vector();
  return impl_->replica->version_vector();
}

Result<Digest> RedisReplicator::digest() const {
  const Digest d =
      impl_->node ? impl_->node->digest() : impl_->replica->digest();
  // A failed table stays failed: if it failed before or while the digest
  // was taken, this read returns that error (the digest is then invalid).
  auto failed = impl_->node ? impl_->node->read(0) : impl_->replica->read(0);
  if (!failed.ok() && failed.status().code() != Code::kOutOfRange) {
    return failed.status().with_context("RedisReplicator::digest");
  }
  return d;
}

std::uint64_t RedisReplicator::unpublished() const {
  if (impl_->node) {
    // Acknowledged deltas not yet handed over by the node count too.
    const Impl::OwnMark own = impl_->own_mark();
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->unpublished_locked(own);
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->outbox.size();
}

Status RedisReplicator::wait_published(std::uint32_t timeout_ms) const {
  if (impl_->node) {
    // The own deltas acknowledged now, also across a new incarnation that
    // the publisher has not switched to yet.
    const Impl::OwnMark own = impl_->own_mark();
    std::unique_lock<std::mutex> lock(impl_->mu);
    if (impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
          return impl_->unpublished_locked(own) == 0;
        })) {
      return Status();
    }
    return Status::unavailable("RedisReplicator::wait_published",
                               std::to_string(impl_->unpublished_locked(own)) +
                                   " deltas still unpublished after " +
                                   std::to_string(timeout_ms) + " ms");
  }
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [&] { return impl_->outbox.empty(); })) {
    return Status();
  }
  return Status::unavailable("RedisReplicator::wait_published",
                             std::to_string(impl_->outbox.size()) +
                                 " deltas still unpublished after " +
                                 std::to_string(timeout_ms) + " ms");
}

Status RedisReplicator::publish_snapshot(bool trim) {
  Impl& m = *impl_;
  constexpr std::string_view kWhere = "RedisReplicator::publish_snapshot";
  transport::SnapshotData snap;
  if (m.node) {
    // Readers paused; the node's states and version vector at one instant
    // (TCP peers and clients may go on; what is taken is consistent).
    std::unique_lock<std::shared_mutex> apply_lock = m.lock_apply();
    NodeTableState ts = m.node->table_state();
    std::lock_guard<std::mutex> lock(m.mu);
    const std::uint64_t waiting = m.unpublished_locked(
        {m.local_origin, ts.version_vector.get(m.local_origin)});
    if (waiting != 0) {
      return Status::failed_precondition(
          kWhere,
          std::to_string(waiting) + " own deltas are not yet published");
    }
    if (m.stats.frames_gap != 0) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.stats.frames_gap) +
                      " frames were skipped as gaps: this node's state does "
                      "not cover its stream positions");
    }
    snap.states = std::move(ts.states);
    snap.vv = m.snapshot_marks_locked(ts.version_vector);
    for (std::uint32_t k = 0; k < m.shards; ++k) {
      snap.positions.push_back(m.state[k].read);
    }
  } else {
    std::lock_guard<std::mutex> accum_lock(m.accum_mu);
    std::unique_lock<std::shared_mutex> apply_lock = m.lock_apply();
    auto st = m.replica->state();
    if (!st.ok()) return st.status().with_context(kWhere);
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.outbox.empty()) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.outbox.size()) +
                      " own deltas are not yet published");
    }
    if (m.stats.frames_gap != 0) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.stats.frames_gap) +
                      " frames were skipped as gaps: this node's state does "
                      "not cover its stream positions");
    }
    snap.states = std::move(st->states);
    snap.vv = m.snapshot_marks_locked(st->version_vector);
    for (std::uint32_t k = 0; k < m.shards; ++k) {
      snap.positions.push_back(m.state[k].read);
    }
  }
  // Shards this node does not read are not covered: position 0-0.
  for (std::uint32_t k = 0; k < m.shards; ++k) {
    if (!std::binary_search(m.held.begin(), m.held.end(), k)) {
      snap.positions[k] = StreamId{};
    }
  }
  // Dense tables: the snapshot records the table's size.
  snap.num_contexts = m.num_contexts;
  auto bytes = transport::encode_redis_snapshot(snap);
  if (!bytes.ok()) return bytes.status();
  const std::string pos = transport::positions_text(snap.positions);
  std::lock_guard<std::mutex> ctl_lock(m.ctl_mu);
  auto r = m.ctl->run({"EVAL", kSnapshotCasScript, "1",
                       redis_snapshot_key(m.opt.table), pos, as_view(*bytes)});
  if (!r.ok()) return r.status().with_context(kWhere);
  if (transport::reply_integer(r->get()) != 1) {
    std::lock_guard<std::mutex> lock(m.mu);
    ++m.stats.snapshots_refused;
    return Status::failed_precondition(
        kWhere,
        "Redis holds a snapshot that covers more of some shard (or "
        "another shard count) than " +
            pos);
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    ++m.stats.snapshots_published;
  }
  if (!trim) return Status();
  for (std::uint32_t k = 0; k < m.shards; ++k) {
    if (snap.positions[k] == StreamId{}) continue;
    auto t = m.ctl->run(
        {"XTRIM", m.keys[k], "MINID", snap.positions[k].to_string()});
    if (!t.ok()) return t.status().with_context(kWhere);
  }
  return Status();
}

Result<EpochState> RedisReplicator::swap() {
  Impl& m = *impl_;
  if (m.node) return m.node->swap();  // NodeHooks::before_swap checks
  std::lock_guard<std::mutex> accum_lock(m.accum_mu);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.outbox.empty()) {
      return Status::unavailable(
          "RedisReplicator::swap",
          std::to_string(m.outbox.size()) +
              " own deltas are not yet published to Redis; the WAL must "
              "keep them (retry once Redis is reachable)");
    }
    m.dirty = true;
  }
  ATOMIK_RETURN_IF_ERROR(m.maybe_flush(/*force=*/true));
  return m.replica->swap();
}

std::vector<RedisShardPosition> RedisReplicator::positions() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<RedisShardPosition> out;
  for (std::uint32_t k = 0; k < impl_->shards; ++k) {
    const ShardState& s = impl_->state[k];
    out.push_back({k, s.read.to_string(), s.pub_seq, s.pub_vseq});
  }
  return out;
}

RedisStats RedisReplicator::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

bool RedisReplicator::connected() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connected_locked();
}

RedisStatus RedisReplicator::status() const { return impl_->status(); }

std::string RedisReplicator::status_json() const {
  return impl_->status().to_json();
}

Node* RedisReplicator::node() const { return impl_->node.get(); }

OriginId RedisReplicator::origin() const {
  // start_node(): the node's (a new incarnation changes it). Not the
  // publisher's, which may still be an earlier own origin's.
  return impl_->node ? impl_->node->origin() : impl_->replica->origin();
}

const std::string& RedisReplicator::data_dir() const { return impl_->dir; }

Status RedisReplicator::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.stopped) return Status();
    m.stopped = true;
    m.stopping = true;
  }
  if (m.bridge) {
    // Under the bridge's lock: an on_incarnation hook running now finishes
    // with this Impl before it goes.
    std::lock_guard<std::mutex> lock(m.bridge->mu);
    m.bridge->impl.store(nullptr);
  }
  m.cv.notify_all();
  m.state_cv.notify_all();
  if (m.publisher.joinable()) m.publisher.join();
  if (m.state_writer.joinable()) m.state_writer.join();
  for (std::thread& t : m.readers) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.dirty = true;
  }
  Status s = m.maybe_flush(/*force=*/true);
  const Status c = m.node ? m.node->stop() : m.replica->close();
  if (s.ok()) s = c;
  return s;
}

}  // namespace atomik
