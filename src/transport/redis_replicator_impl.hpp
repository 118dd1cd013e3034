// SPDX-License-Identifier: Apache-2.0
// RedisReplicator::Impl: the private state of a RedisReplicator shared by
// redis_replicator.cpp (options, start, public methods), redis_startup.cpp,
// redis_publish.cpp (the publisher), redis_read.cpp (the readers),
// redis_state_file.cpp (REDIS_STATE) and redis_status.cpp. Threads and
// lock order: see the opening comment of redis_replicator.cpp.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "atomik/log.hpp"
#include "atomik/redis.hpp"
#include "atomik/replica.hpp"
#include "transport/redis_client.hpp"
#include "transport/redis_format.hpp"
#include "transport/redis_outbox.hpp"

namespace atomik {

using transport::Reply;
using transport::ReplyType;
using transport::ShardState;
using transport::StreamId;

using Clock = std::chrono::steady_clock;

// The bytes of `b` as a Redis argument.
inline std::string_view as_view(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct RedisReplicator::Impl {
  // What a Node's hooks point at (start_node); null before the replicator
  // is running and from the start of stop().
  struct Bridge {
    std::atomic<Impl*> impl{nullptr};
    // Held by on_incarnation, and by finish_start() from reading the
    // node's origins until `impl` is set: an incarnation is either seen
    // there (Node::origin) or reaches incarnate().
    std::mutex mu;
  };
  std::string dir;
  RedisOptions opt;
  transport::LinkConfig link_cfg;
  // The one owner of the table, its marks and retained log: the Replica
  // (start()) or the Node's Replica (start_node()). This replicator keeps
  // no marks of its own; it only remembers stream positions.
  std::unique_ptr<Replica> replica;  // start()
  std::unique_ptr<Node> node;        // start_node()
  std::uint64_t num_contexts = 0;    // the table's dense size (0: sparse)
  std::shared_ptr<Bridge> bridge;
  // The own origin deltas are published under (publisher thread; read
  // anywhere). A new incarnation changes it once the outbox holds no delta
  // of the old one (switch_origin_locked).
  std::atomic<OriginId> origin{0};
  // The own origin of the deltas enqueue() receives next: the node's,
  // updated by NodeHooks::on_incarnation. Guarded by mu.
  OriginId local_origin = 0;
  // Own origins after `origin` whose deltas wait, oldest first (the last
  // is local_origin). The publisher reaches them in this order; those with
  // no delta in the outbox are passed over. Written to REDIS_STATE after
  // `origin`. Guarded by mu.
  std::vector<OriginId> later_origins;
  // Outbox entries not of local_origin. Guarded by mu.
  std::uint64_t queued_other = 0;
  std::uint32_t shards = 1;
  std::vector<std::uint32_t> held;
  // Entry version written (docs/format/redis.md section 2): 2 = field "r",
  // own deltas under this node's origin and own seqs (one shard, no
  // version 1 history); 1 = field "f", under the stream origins.
  bool write_v2 = false;
  std::vector<std::uint64_t> vorigins;  // per shard
  std::vector<std::uint64_t> own_sorted;
  std::vector<std::string> keys;  // per shard

  std::mutex accum_mu;
  std::shared_mutex apply_mu;
  // Callers waiting for apply_mu exclusively (publish_snapshot): readers
  // then release it between reads instead of holding it across the next
  // XREAD, so a snapshot is not starved by a busy stream.
  std::atomic<int> apply_waiters{0};
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  // Own deltas acknowledged and not yet published to every shard, under
  // their own origin (a new incarnation changes it), in order.
  transport::RedisOutbox outbox;
  std::vector<ShardState> state;
  bool dirty = false;
  Clock::time_point last_flush = Clock::now();
  RedisStats stats;
  bool swapping = false;      // start_node(): a swap is checking/closing
  bool pub_ok = true;         // last XADD succeeded
  std::vector<char> read_ok;  // per held shard: last XREAD succeeded
  // Per shard: stream IDs of the newest own entries published (at most
  // kOwnIdsKept), oldest first; the reader skips them without reading
  // (skip_own_entries in redis_read.cpp).
  std::vector<std::deque<StreamId>> own_ids;
  static constexpr std::size_t kOwnIdsKept = 1024;
  bool stopping = false;
  Status fatal;
  std::mutex file_mu;
  std::mutex ctl_mu;
  std::unique_ptr<transport::RedisLink> ctl;
  std::condition_variable state_cv;  // the state writer waits here (on mu)
  std::thread publisher;
  std::thread state_writer;
  std::vector<std::thread> readers;
  bool stopped = false;

  void log(const std::string& line) const {
    if (opt.log) atomik::log(LogLevel::kWarn, "redis", line);
  }

  // Whether a frame of `frame_origin` is this node's own: its origin
  // (version 2) or one of its stream origins (version 1).
  bool is_own(std::uint64_t frame_origin) const {
    std::lock_guard<std::mutex> lock(mu);
    return frame_origin == origin ||
           std::binary_search(own_sorted.begin(), own_sorted.end(),
                              frame_origin);
  }

  std::uint64_t min_pub_seq_locked() const {
    std::uint64_t m = UINT64_MAX;
    for (const ShardState& s : state) m = std::min(m, s.pub_seq);
    return m;
  }

  // The own seq last assigned under `o` (start_node(): possibly not durable
  // yet). Never called with mu held: the node's lock comes first.
  std::uint64_t mark_of(OriginId o) const {
    if (node) return node->version_vector().get(o);
    return replica->mark(o);
  }

  // An own origin and the seq last assigned under it.
  struct OwnMark {
    OriginId origin = 0;
    std::uint64_t seq = 0;
  };

  // The mark of the origin own deltas are enqueued under now
  // (local_origin). Never called with mu held.
  OwnMark own_mark() const {
    OwnMark m;
    {
      std::lock_guard<std::mutex> lock(mu);
      m.origin = local_origin;
    }
    m.seq = mark_of(m.origin);
    return m;
  }

  // Own deltas up to `m` (of local_origin) and before it not yet published
  // to every shard. O(1). The publish positions are those of `origin`;
  // until the publisher reaches local_origin (switch_origin_locked) every
  // delta of it waits, behind the outbox entries of earlier origins. When
  // `m` is stale (an incarnation since it was read) the whole outbox is
  // counted (an overcount that ends once it is published).
  std::uint64_t unpublished_locked(const OwnMark& m) const;

  bool connected_locked() const {
    if (!pub_ok) return false;
    for (char ok : read_ok) {
      if (ok == 0) return false;
    }
    return true;
  }

  // Backpressure: kResourceExhausted when `unpublished` + n exceeds
  // max_unpublished.
  Status check_room_locked(std::uint64_t unpublished, std::size_t n);

  // NodeHooks::admit_local (under the node's lock).
  Status admit(std::uint64_t last_seq, std::size_t n);

  // Queues own deltas, seqs first.., durable and in seq order, for the
  // publisher: NodeHooks::on_local_batch (the node's network thread), or
  // the standalone accum_batch (under accum_mu).
  void enqueue(std::uint64_t first, std::span<const FrameRecord> recs);

  // NodeHooks::on_incarnation (network thread, before any own delta under
  // `next`): later enqueued deltas are published under `next`, from seq 1.
  void incarnate(OriginId old, OriginId next);
  // The publisher reached the first delta of a new own origin: every delta
  // of the old one is published. Publish positions restart for `next`
  // (version 1: its stream origins); entries of the old origins read back
  // stay recognised as own. mu held.
  void switch_origin_locked(OriginId next);

  // NodeHooks::before_swap: every own delta published, REDIS_STATE
  // written, and new local deltas refused until after_swap.
  Status before_swap();
  void after_swap() {
    std::lock_guard<std::mutex> lock(mu);
    swapping = false;
  }

  // The snapshot's marks (docs/format/redis.md section 3) from the table's
  // version vector `vv`; mu held.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> snapshot_marks_locked(
      const VersionVector& vv) const;

  Status sync_table() { return node ? node->sync() : replica->sync(); }

  // apply_mu, exclusively: readers paused with every applied entry's
  // position moved (apply_waiters tells them to let go).
  std::unique_lock<std::shared_mutex> lock_apply() {
    apply_waiters.fetch_add(1);
    std::unique_lock<std::shared_mutex> lock(apply_mu);
    apply_waiters.fetch_sub(1);
    return lock;
  }

  RedisStatus status() const;

  // Waits `ms` or until stop; false if stopping.
  bool backoff_wait(std::uint32_t* ms) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(*ms), [&] { return stopping; });
    *ms = std::min(opt.retry_max_ms, *ms * 2);
    return !stopping;
  }

  Status write_state_file(const transport::StateFile& s);

  // Writes REDIS_STATE if it changed and (force or state_flush_ms passed).
  Status maybe_flush(bool force);
  // The state writer thread: maybe_flush(false) whenever the state is dirty
  // and state_flush_ms has passed, until stop. The publisher and readers
  // only wake it (state_cv): the file's two fsyncs stay off their path.
  void state_loop();

  void count_connects(const transport::RedisLink& link, std::uint64_t* seen) {
    if (link.connects() != *seen) {
      std::lock_guard<std::mutex> lock(mu);
      stats.connects += link.connects() - *seen;
      *seen = link.connects();
    }
  }

  // --- publisher -----------------------------------------------------------
  void publish_loop();

  // Remembers own entry `id` (XADD's reply) on shard k for its reader; mu
  // held.
  void note_own_id(std::uint32_t k, std::string_view id);

  // --- readers -------------------------------------------------------------
  // Applies one stream entry; returns false on a fatal table error.
  bool apply_entry(std::uint32_t k, std::string_view id,
                   const redisReply* fields);

  // Applies a frame's run of (origin, seq) through the one set of marks
  // (the Node's or the Replica's): what TCP frames go through too.
  Result<ReplicaApply> apply_run(const FrameView& f);

  void read_loop(std::uint32_t k);

  // --- startup --------------------------------------------------------------
  static Result<std::unique_ptr<Impl>> create(const std::string& data_dir,
                                              const RedisOptions& options);
  Status finish_start();

  Status connect_control();

  // Checks (and on first use records) the table's group and width in the
  // key T:shape (docs/format/redis.md): kFailedPrecondition naming both if
  // the Redis table holds another. Called first by bootstrap_if_empty().
  Status check_shape(const PersistentOptions& storage);
  Status bootstrap_if_empty(const PersistentOptions& storage);

  // Reads REDIS_STATE into `state` and returns its origins (empty: no
  // file, or version 1); no file: positions all zero.
  Result<std::vector<OriginId>> load_state_file();

  // Own deltas of `o` with seqs low+1..its mark, from the retained log or
  // else the WAL: what was acknowledged and not yet published to every
  // shard. kFailedPrecondition if some are in neither. Never with mu held.
  Result<std::vector<FrameRecord>> unpublished_of(OriginId o,
                                                  std::uint64_t low) const;

  // Fails if a held shard was trimmed past this node's position: entries
  // were removed (entries-added > length), our position is below the first
  // entry, and the entry at our position is gone too (trimming removes a
  // prefix, so if it survived nothing after it was removed). Conservative:
  // a node that had read exactly up to the trim point is also refused.
  Status check_not_behind();
};

}  // namespace atomik
