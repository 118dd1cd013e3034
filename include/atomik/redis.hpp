// SPDX-License-Identifier: Apache-2.0
// atomik/redis.hpp: RedisReplicator, a Replica replicated through Redis
// Streams (many nodes, one durable delta log).
//
// A transport over the one owner of a table (atomik/replica.hpp): every
// node has a Replica (its WAL acknowledges local deltas; the Node's with
// start_node()) and XADDs its own acknowledged deltas as framed batches
// (docs/format/wire.md) to the table's Redis stream(s); it reads every
// other node's batches with XREAD BLOCK from the last stream ID it applied
// and applies each delta exactly once through the Replica's per-origin
// marks (Redis delivers at least once). With one shard every delta travels
// under its original (origin, seq), the identity TCP frames carry, so a
// node joined to another by Redis and by TCP applies each delta once. The
// applied stream IDs and the publish progress live in the table directory (file
// REDIS_STATE, docs/format/redis.md), so a restart resumes without loss or
// double application. A node can publish a snapshot (table
// + version vector + the stream IDs it covers); a new node with an empty
// data directory bootstraps from it, and the stream is trimmed (XTRIM
// MINID) only below the newest snapshot. With `shards` > 1 the address space
// is split into N streams by address range, each with its own Redis Cluster
// hash tag. docs/redis.md describes keys, fields, trimming and failures.
//
//   atomik::RedisOptions ro;
//   ro.url = "redis://127.0.0.1:6379/0";
//   auto a = atomik::RedisReplicator::start("/tmp/a", {}, ro).value();
//   auto b = atomik::RedisReplicator::start("/tmp/b", {}, ro).value();
//   a->accum(7, 0xFF);        // durable in a's WAL, then XADDed
//   // ... b->read(7) becomes 0xFF; b->digest() == a->digest()
//
// RedisReplicator::start_node() runs the same replication for a Node
// (atomik/node.hpp): the node keeps serving its clients and TCP peers on
// its listen address, and its own deltas also go through Redis (what
// `atomik node --redis` runs).
//
// Redis outages: accum() keeps acknowledging (the WAL holds the deltas)
// until max_unpublished own deltas wait, then refuses new ones with
// kResourceExhausted (backpressure; nothing acknowledged is lost);
// publishing and reading stall and resume, with capped exponential backoff.
// Thread safety: every method may be called from any thread. A replicator
// runs one publisher thread and one reader thread per shard it holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/frame.hpp"
#include "atomik/node.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/status.hpp"
#include "atomik/stream.hpp"

namespace atomik {

inline constexpr const char* kDefaultRedisUrl = "redis://127.0.0.1:6379/0";
// Largest shard count (docs/format/redis.md).
inline constexpr std::uint32_t kRedisMaxShards = 1024;

// A parsed redis://[user[:password]@]host[:port][/db] URL.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::uint32_t db = 0;
  std::string user;
  std::string password;
};

// Parses a redis:// URL (port defaults to 6379, db to 0). kInvalidArgument
// naming the bad part otherwise.
ATOMIK_EXPORT Result<RedisEndpoint> parse_redis_url(const std::string& url);

// The shard of `addr` among `shards` contiguous address ranges:
// (addr * shards) >> 32.
constexpr std::uint32_t redis_shard_of(Addr addr,
                                       std::uint32_t shards) noexcept {
  return static_cast<std::uint32_t>(
      (static_cast<std::uint64_t>(addr) * shards) >> 32);
}
// The frame origin a node with origin `origin` uses on shard `shard`
// (docs/format/redis.md section 2). Never 0.
ATOMIK_EXPORT std::uint64_t redis_stream_origin(OriginId origin,
                                                std::uint32_t shard);
// "T:{T-shard-K}:deltas", the stream key of shard K of table T.
ATOMIK_EXPORT std::string redis_stream_key(const std::string& table,
                                           std::uint32_t shard);
// "T:snapshot".
ATOMIK_EXPORT std::string redis_snapshot_key(const std::string& table);

struct RedisOptions {
  std::string url = kDefaultRedisUrl;
  // ACL user and password; when set they override the URL's.
  std::string user;
  std::string password;
  // Key prefix: streams "T:{T-shard-K}:deltas", snapshot "T:snapshot".
  std::string table = "atomik";
  // Number of streams the address space is split into (1..kRedisMaxShards).
  // Every node of a table must use the same value.
  std::uint32_t shards = 1;
  // Shards this node reads (empty: all). It publishes to every shard.
  std::vector<std::uint32_t> held_shards;
  // Redis Cluster: follow MOVED/ASK redirects, never SELECT a database.
  bool cluster = false;
  // Most own deltas per XADDed frame (and per publish round and shard).
  std::uint32_t max_entry_records = 16384;
  // Entries per XREAD and its BLOCK time (also the stop latency).
  std::uint32_t read_count = 256;
  std::uint32_t block_ms = 100;
  // Connect and per-command timeouts (a command waits block_ms longer).
  std::uint32_t connect_timeout_ms = 2000;
  std::uint32_t command_timeout_ms = 5000;
  // start() waits this long for Redis to answer before failing.
  std::uint32_t start_timeout_ms = 5000;
  // Reconnect backoff: starts at min, doubles per failure, capped at max.
  std::uint32_t retry_min_ms = 20;
  std::uint32_t retry_max_ms = 1000;
  // REDIS_STATE is rewritten at most this often (and at stop and swap).
  std::uint32_t state_flush_ms = 200;
  // A node with an empty data directory installs the newest snapshot.
  bool bootstrap = true;
  // Frames larger than this are refused (reader) / never built.
  std::size_t max_frame_bytes = std::size_t{4} << 20;
  // Most own deltas acknowledged but not yet published (a Redis outage):
  // beyond it accum() fails with kResourceExhausted, nothing written. They
  // wait in memory (24 bytes each: 384 MiB at the default) and the WAL.
  std::uint64_t max_unpublished = std::uint64_t{16} << 20;
  // Log skipped entries, gaps and connection events to stderr.
  bool log = true;
};

struct RedisStats {
  std::uint64_t deltas_local = 0;       // own deltas acknowledged
  std::uint64_t entries_published = 0;  // XADDs acknowledged by Redis
  std::uint64_t deltas_published = 0;   // records in them
  std::uint64_t entries_read = 0;       // entries read (or own, passed)
  std::uint64_t entries_own = 0;        // own entries (skipped)
  std::uint64_t deltas_applied = 0;     // remote deltas applied (first time)
  std::uint64_t deltas_duplicate = 0;   // remote deltas already applied
  std::uint64_t entries_malformed = 0;  // skipped: bad field or frame
  std::uint64_t frames_gap = 0;         // skipped: seqs skip ahead
  std::uint64_t connects = 0;           // connections established
  std::uint64_t connection_errors = 0;  // failed connects and commands
  std::uint64_t snapshots_published = 0;
  std::uint64_t snapshots_refused = 0;  // a newer snapshot was already there
  std::uint64_t bootstrapped = 0;       // 1 if start() installed a snapshot
  std::uint64_t state_writes = 0;       // REDIS_STATE rewrites
  std::uint64_t deltas_refused = 0;     // own deltas refused: max_unpublished
};

// One shard's progress.
struct RedisShardPosition {
  std::uint32_t shard = 0;
  std::string read_id;               // last stream ID applied ("0-0": none)
  std::uint64_t published_seq = 0;   // own seqs published up to here
  std::uint64_t published_vseq = 0;  // as stream-origin seqs 1..this
};

// What RedisReplicator::status() reports: the one source of its JSON
// (status_json(), `atomik node --redis status`) and of its metrics.
struct ATOMIK_EXPORT RedisStatus {
  bool connected = false;  // the last command of every link succeeded
  std::string endpoint;    // host:port/db (no credentials)
  std::string table;       // RedisOptions::table
  std::uint32_t shards = 0;
  std::uint64_t unpublished = 0;  // own deltas not yet in Redis
  std::uint64_t max_unpublished = 0;
  RedisStats stats;
  std::vector<RedisShardPosition> positions;
  // One JSON object: connected, endpoint, table, shards, unpublished,
  // max_unpublished, stats, positions (shard, read, published_seq). Strings
  // are escaped: always valid JSON.
  std::string to_json() const;
  // Prometheus text exposition of atomik_redis_* (docs/metrics.md).
  std::string to_prometheus() const;
};

class ATOMIK_EXPORT RedisReplicator {
 public:
  // Connects to Redis (AUTH, SELECT; waiting up to start_timeout_ms),
  // bootstraps an empty `data_dir` from the newest snapshot (if any and
  // options.bootstrap), opens the Replica, reloads the unpublished own
  // deltas from its retained log (the WAL if more wait than it retains),
  // and starts the publisher and reader threads.
  // Fails with kInvalidArgument (bad options or URL), kFailedPrecondition
  // (authentication refused: "Redis AUTH failed ...", or the directory is
  // behind a trimmed stream), kUnavailable (Redis did not answer in time),
  // kCorruption (bad REDIS_STATE or snapshot), or the table's open error;
  // nothing keeps running on failure.
  static Result<std::unique_ptr<RedisReplicator>> start(
      const std::string& data_dir, const PersistentOptions& storage,
      const RedisOptions& options);
  // start(), but the table is a Node's: starts Node::start(node) (with
  // NodeOptions::hooks set by this function: they must be empty) whose own
  // deltas are published once durable and which applies the other nodes'
  // Redis deltas through Node::apply_frame. accum/read/swap here and on
  // node() (and its clients) are equivalent; a swap is refused while own
  // deltas are unpublished; node()->status() gains a "redis" member
  // (status_json()). After a new origin incarnation of the node (docs/
  // design.md "Incarnations") own deltas are published under the new
  // origin from seq 1, and origin() returns it. Fails as start() or
  // Node::start(), or with
  // kInvalidArgument for TCP peers (node.peers) with more than one shard
  // (their entries cannot be deduped against TCP frames); nothing keeps
  // running on failure.
  static Result<std::unique_ptr<RedisReplicator>> start_node(
      const NodeOptions& node, const RedisOptions& options);
  RedisReplicator(const RedisReplicator&) = delete;
  RedisReplicator& operator=(const RedisReplicator&) = delete;
  // stop().
  ~RedisReplicator();

  // A local delta: returns once the table acknowledged it; then it is
  // queued for publishing. Fails (kOutOfRange address, the table's I/O
  // error, kResourceExhausted when max_unpublished deltas wait already,
  // kFailedPrecondition after stop()) without queueing anything.
  Status accum(Addr addr, std::uint64_t delta);
  // accum() of a batch under one durability wait. O(deltas).
  Status accum_batch(std::span<const FrameRecord> deltas);
  // The state at addr (0 if never written).
  Result<std::uint64_t> read(Addr addr) const;
  // Every non-zero state, by address. O(table).
  Result<std::vector<std::pair<Addr, std::uint64_t>>> snapshot() const;
  // The table's version vector (own origin and stream origins).
  VersionVector version_vector() const;
  // The table digest (docs/format/digest.md, default key; the Replica's).
  // O(table) after a change, then cached. Fails with the table's error once
  // its log failed (never the digest of an empty table).
  Result<Digest> digest() const;

  // Own deltas acknowledged but not yet published to every shard.
  std::uint64_t unpublished() const;
  // Blocks until unpublished() == 0 or timeout_ms passes (kUnavailable
  // "N deltas still unpublished after T ms").
  Status wait_published(std::uint32_t timeout_ms) const;
  // Publishes a snapshot of this node (table, version vector, the stream IDs
  // it has applied) as the newest snapshot, refusing (kFailedPrecondition)
  // while own deltas are unpublished or gaps were seen, and (counted in
  // snapshots_refused, kFailedPrecondition) if Redis holds a snapshot that
  // covers more of some shard. With `trim`, then XTRIMs every shard's
  // stream to MINID = the snapshot's position. kUnavailable if Redis
  // cannot be reached. O(table).
  Status publish_snapshot(bool trim);
  // Closes an epoch of the table (Replica::swap()) once every own
  // delta is published and REDIS_STATE is written; kUnavailable (nothing
  // done) while deltas are unpublished, since the WAL must keep them.
  Result<EpochState> swap();

  std::vector<RedisShardPosition> positions() const;
  RedisStats stats() const;
  // True when the last command of every Redis link succeeded.
  bool connected() const;
  // Connection, counters and positions at one instant.
  RedisStatus status() const;
  // status().to_json().
  std::string status_json() const;
  // The Node of start_node() (nullptr after start()); valid until this
  // replicator is destroyed.
  Node* node() const;
  // The own origin (start_node(): the node's, changed by a new incarnation).
  OriginId origin() const;
  const std::string& data_dir() const;
  // Stops the threads, writes REDIS_STATE and closes the table. Idempotent.
  Status stop();

 private:
  struct Impl;
  explicit RedisReplicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atomik
