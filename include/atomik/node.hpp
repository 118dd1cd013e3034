// SPDX-License-Identifier: Apache-2.0
// atomik/node.hpp: Node, a replica that replicates a PersistentTable over TCP
// (and optionally UDP), and NodeClient, the client of a running node.
//
// A Node owns a Replica (atomik/replica.hpp) of the table in `data_dir`:
// the one copy of its states, marks, retained log and digest. It listens on
// `listen` (127.0.0.1 by default), connects to every `peers` address
// (reconnecting with capped exponential backoff) and sends each locally
// acknowledged delta to every connected peer as framed batches
// (atomik/frame.hpp inside the packets of docs/format/node_protocol.md). On
// connect and every `sync_interval_ms`, peers exchange version vectors and
// digests and send each other what the other lacks from the retained log.
// Deltas from peers go: transport -> codec (packet, MAC, frame checksum) ->
// sync (exactly-once, in order per origin) -> storage (WAL) -> table. With a
// 32-byte shared key every packet carries a keyed BLAKE2b tag; bad,
// unauthenticated and replayed packets are dropped and counted (NodeStats) and
// never change state. docs/protocol.md describes the protocol, its limits and
// what each bad input gets.
//
//   atomik::NodeOptions o;
//   o.data_dir = "/tmp/a";
//   o.listen = "127.0.0.1:0";                 // port 0: pick a free port
//   auto a = atomik::Node::start(o).value();
//   o.data_dir = "/tmp/b";
//   o.peers = {a->listen_address()};
//   auto b = atomik::Node::start(o).value();
//   a->accum(7, 0xFF);                        // durable on a, then sent to b
//   // ... b->read(7) becomes 0xFF, b->digest() == a->digest()
//
//   auto c = atomik::NodeClient::connect(a->listen_address()).value();
//   c->accum(7, 0x01);                        // returns once acknowledged
//
// NodeOptions::hooks let a channel outside the node see and gate its own
// deltas (RedisReplicator::start_node in atomik/redis.hpp: `atomik node
// --redis`), and Node::apply_frame feeds remote frames through the same
// exactly-once path as TCP.
//
// Thread safety: every Node and NodeClient method may be called from any
// thread. A Node runs one network thread of its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/frame.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/replica.hpp"
#include "atomik/status.hpp"
#include "atomik/stream.hpp"

namespace atomik {

// See NodeOptions::storage.
inline constexpr std::uint64_t kDigestOnDemandMax = std::uint64_t{1} << 20;
// Length of the shared key (bytes).
inline constexpr std::size_t kNodeKeySize = 32;

// Hooks through which a replication channel outside the node (e.g.
// RedisReplicator::start_node, atomik/redis.hpp) sees the node's own deltas
// and gates them. Every hook may be empty. Hooks must not call back into
// the Node (they may run under its lock) and must not block for long.
struct NodeHooks {
  // Called under the node's lock before local deltas are written, with the
  // last own seq assigned so far and the number of new deltas. A non-OK
  // status refuses them unchanged (backpressure) and is returned to the
  // caller (accum, accum_batch, a client's accum).
  std::function<Status(Seq last_seq, std::size_t count)> admit_local;
  // Called on the network thread, outside the node's lock, with each run of
  // own deltas once durable, in seq order without gaps across calls: recs[i]
  // has seq first + i. Deltas acknowledged but not yet passed here when the
  // node stops are in the WAL (not passed again at the next start).
  std::function<void(Seq first, std::span<const FrameRecord> recs)>
      on_local_batch;
  // Called before a swap (Node::swap or a client's swap), outside the lock;
  // a non-OK status refuses the swap unchanged. after_swap runs after it,
  // whatever its outcome, when before_swap succeeded.
  std::function<Status()> before_swap;
  std::function<void()> after_swap;
  // Called when the node starts a new origin incarnation (docs/design.md
  // "Incarnations"), before any own delta under `new_origin` is written:
  // in Node::start (no peer configured) or later on the network thread
  // (no answer in time). Outside the node's lock.
  std::function<void(OriginId old_origin, OriginId new_origin)> on_incarnation;
  // Extra members of NodeStatus (status(), a client's `status`): key, JSON
  // value. Called outside the node's lock.
  std::function<std::vector<std::pair<std::string, std::string>>()> status;
};

struct NodeOptions {
  std::string data_dir = kDefaultDataDir;
  // HOST:PORT to listen on (TCP, and UDP with `udp`); port 0 picks one.
  std::string listen = "127.0.0.1:0";
  // HOST:PORT of peers to connect to (and, with `udp`, to send datagrams to).
  std::vector<std::string> peers;
  // Empty (no authentication) or kNodeKeySize bytes shared by all nodes and
  // clients.
  std::vector<std::byte> key;
  // Send live deltas as UDP datagrams to the peers (loss is repaired by the
  // version-vector catch-up over TCP).
  bool udp = false;
  // Durability of the table (SyncPolicy::kEveryRecord by default) and its
  // shape: storage.num_contexts > 0 gives a dense table (faster); dense
  // tables of at most kDigestOnDemandMax addresses compute the digest when
  // asked (O(table), once per sync) instead of updating it per delta.
  PersistentOptions storage;
  // Version vector + digest exchange period.
  std::uint32_t sync_interval_ms = 1000;
  // After a restart on an existing table, local writes wait until every
  // configured peer has reported its mark for this node's origin and every
  // own delta a peer holds above ours has come back (catch-up), so no
  // (origin, seq) is ever reused. A peer that has not answered within this
  // time, or no peer configured, starts a new origin incarnation instead
  // (Replica::reincarnate; docs/design.md "Incarnations").
  std::uint32_t incarnation_timeout_ms = 5000;
  // Reconnect backoff: starts at min, doubles per failure, capped at max.
  std::uint32_t reconnect_min_ms = 50;
  std::uint32_t reconnect_max_ms = 2000;
  // Largest packet body accepted or sent (a delta frame, a snapshot). A
  // body's memory is allocated as its bytes arrive, never from its declared
  // length alone.
  std::size_t max_packet_bytes = std::size_t{4} << 20;
  // Largest state transfer (SNAPSHOT) sent or accepted, from a peer past its
  // handshake only: 12 bytes per non-zero state + 16 per origin, so the
  // default carries about 22 M states. A node needs this much memory per
  // connection receiving one; at most one is queued per connection.
  std::size_t max_snapshot_bytes = std::size_t{256} << 20;
  // Per connection: above half of it live deltas are not queued; once the
  // queue drains the peer is asked for its version vector and caught up in
  // one go (retained deltas, or the state). Above all of it (a peer that
  // stops reading replies and snapshots) the connection is closed.
  std::size_t max_queued_bytes = std::size_t{64} << 20;
  // Accept clients only: a replicating peer's handshake is refused (logged,
  // counted in NodeStats::handshake_failures) and `peers` must be empty.
  // RedisReplicator::start_node sets it for a table of several Redis
  // shards, whose deltas a TCP link would deliver a second time
  // (docs/redis.md "Topology").
  bool clients_only = false;
  // Simultaneous connections (accepted + outgoing); more are refused: an
  // accepted one gets a RESPONSE saying the node is at its connection limit
  // (docs/format/node_protocol.md section 4), then is closed. Nonzero.
  std::size_t max_connections = 64;
  // A connection that has not completed its handshake in this time is closed.
  std::uint32_t handshake_timeout_ms = 5000;
  // A connection past its handshake that sends nothing for this long is
  // closed (logged, counted in NodeStats::idle_disconnects), so idle clients
  // cannot hold every slot of max_connections. Peers send a SYNC every
  // sync_interval_ms, so it must exceed that; 0 disables it.
  std::uint32_t idle_timeout_ms = 60000;
  // Deltas retained per origin for catch-up (a power of two >= 1024).
  std::uint64_t retain_per_origin = std::uint64_t{1} << 16;
  // Distinct delta origins the table accepts (ReplicaOptions::max_origins):
  // a delta from one more is refused, logged and counted
  // (NodeStats::origins_refused); origins accepted before a restart are
  // accepted after it.
  std::uint64_t max_origins = kDefaultMaxOrigins;
  // Records per delta frame sent.
  std::uint32_t max_frame_records = 65536;
  // Log rejected input and connection events through atomik::log
  // (atomik/log.hpp; components "node" and "replica").
  bool log = true;
  // See NodeHooks.
  NodeHooks hooks;
};

// Counters of what the node received and what it did about it.
struct NodeStats {
  std::uint64_t packets_in = 0;        // packets accepted (MAC and checks ok)
  std::uint64_t packets_out = 0;       // packets queued for sending
  std::uint64_t deltas_local = 0;      // local deltas acknowledged
  std::uint64_t deltas_applied = 0;    // remote deltas applied (first time)
  std::uint64_t deltas_duplicate = 0;  // remote deltas already applied
  std::uint64_t frames_gap = 0;        // frames dropped: they skip seqs
  std::uint64_t rejected_bad_header = 0;   // bad magic/version/type/reserved
  std::uint64_t rejected_oversized = 0;    // length above max_packet_bytes
  std::uint64_t rejected_bad_mac = 0;      // missing or wrong tag
  std::uint64_t rejected_replay = 0;       // counter not above the last one
  std::uint64_t rejected_malformed = 0;    // bad body (frame checksum, ...)
  std::uint64_t rejected_truncated = 0;    // connection ended mid-packet
  std::uint64_t rejected_connections = 0;  // over max_connections
  std::uint64_t idle_disconnects = 0;      // silent past idle_timeout_ms
  std::uint64_t handshake_failures = 0;
  std::uint64_t slow_peer_skips = 0;  // live frames not queued (congested)
  std::uint64_t slow_peer_disconnects = 0;
  std::uint64_t state_transfers_needed = 0;     // catch-up impossible from log
  std::uint64_t state_transfers_sent = 0;       // SNAPSHOTs sent instead
  std::uint64_t state_transfers_installed = 0;  // SNAPSHOTs installed here
  // SNAPSHOTs refused (checksum, body, digest, or version 1 without a key);
  // each is logged and also counted in rejected_malformed.
  std::uint64_t state_transfers_rejected = 0;
  std::uint64_t syncs_sent = 0;
  std::uint64_t syncs_received = 0;
  std::uint64_t connects = 0;          // handshakes completed
  std::uint64_t udp_datagrams_in = 0;  // accepted datagrams
  std::uint64_t origins_refused = 0;   // deltas of origins above max_origins
  // SYNCs showing a peer with our version vector but another digest, seen
  // twice in a row (two contents for one (origin, seq)); logged.
  std::uint64_t divergences = 0;
  std::uint64_t own_recovered = 0;  // own deltas lost here, returned by a peer
  std::uint64_t own_conflicts = 0;  // own seqs a peer holds other contents for
  // Remote (origin, seq)s applied here that arrived again with other
  // contents: two contents for one (origin, seq); logged.
  std::uint64_t conflicts = 0;
  std::uint64_t incarnations = 0;  // new own origins started (see above)
  // Divergence repairs: state transfers sent because this node is the side
  // that sends (docs/design.md), and ones installed here over equal marks.
  std::uint64_t repairs_sent = 0;
  std::uint64_t repairs_installed = 0;
};

struct PeerStatus {
  std::string address;     // configured peer, or the remote endpoint
  bool outgoing = false;   // we connect to it
  bool connected = false;  // handshake completed
  OriginId origin = 0;     // the peer's origin id (0: unknown or a client)
  // Deltas we hold that the peer's last reported version vector lacks.
  std::uint64_t lag = 0;
  std::uint64_t queued_bytes = 0;
};

struct ATOMIK_EXPORT NodeStatus {
  OriginId origin = 0;
  std::string listen;  // HOST:PORT actually bound
  VersionVector version_vector;
  Digest digest;
  std::vector<PeerStatus> peers;
  NodeStats stats;
  std::uint64_t origins = 0;    // distinct origins in the table
  std::uint64_t wal_bytes = 0;  // WAL segment bytes on disk now
  WalWriterStats wal;           // the table's WAL writer since it opened
  // Own deltas under `origin`: the highest seq logged here (applied, visible
  // to reads) and the highest acknowledged (durable per the SyncPolicy; what
  // the node advertises to peers). Applied runs ahead while a write waits
  // for its fdatasync.
  Seq own_applied = 0;
  Seq own_durable = 0;
  // Local writes wait after a restart until the peers report their marks
  // for the own origin (NodeOptions::incarnation_timeout_ms at most).
  bool writes_held = false;
  // Empty, or the table's error once it failed (PersistentTable: reads and
  // writes return it until the node is restarted).
  std::string table_error;
  // From NodeHooks::status: (key, JSON value), e.g. ("redis", "{...}").
  std::vector<std::pair<std::string, std::string>> extra;
  // "" while the node is healthy; otherwise one line saying why not: the
  // table failed (its error) or local writes are held after a restart.
  // What GET /healthz of `atomik node --metrics` answers with 503.
  std::string health() const;
  // One JSON object (keys: origin, listen, digest, version_vector, peers,
  // stats, origins, wal, own_seq, writes_held, table_error, then the keys of
  // `extra`); origins and ids as
  // "0x..." strings. Always valid JSON: strings are escaped, and an `extra`
  // value that is not JSON becomes a JSON string.
  std::string to_json() const;
  // Human-readable lines built from the same fields: origin, listen,
  // digest, version vector, one line per peer (connected, origin, lag,
  // queued bytes), origins, WAL size, non-zero counters, one "key  value"
  // line per `extra` member.
  std::string to_text() const;
  // The Prometheus text exposition (format 0.0.4) of these fields: the
  // families of docs/metrics.md, each with HELP and TYPE. Peer labels are
  // the configured address of an outgoing peer, the origin ("0x...") of an
  // incoming one: at most max_connections series per family.
  std::string to_prometheus() const;
};

// What Node::apply_frame did with a frame.
struct NodeApplyResult {
  std::uint64_t applied = 0;    // deltas applied (first time)
  std::uint64_t duplicate = 0;  // deltas already applied (or own)
  bool gap = false;  // nothing applied: the frame skips seqs of its origin
  // Already applied deltas that arrived with other contents (counted in
  // NodeStats::conflicts).
  std::uint64_t conflicts = 0;
};

// The table's states and version vector, taken at one instant.
struct NodeTableState {
  std::vector<std::pair<Addr, std::uint64_t>> states;  // non-zero, by address
  VersionVector version_vector;
};

class ATOMIK_EXPORT Node {
 public:
  // Opens the table (recovering it), rebuilds the retained log from the WAL,
  // binds `listen` and starts the network thread. Fails with
  // kInvalidArgument (bad address, key length, or one message naming the
  // first bad option), the table's open error, or
  // kUnavailable (bind failed); nothing keeps running on failure.
  static Result<std::unique_ptr<Node>> start(const NodeOptions& options);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // stop().
  ~Node();

  // A local delta: returns once the table acknowledged it (its SyncPolicy);
  // then it is sent to the peers. Fails (kOutOfRange address, the table's
  // I/O error) without sending anything. After a restart it first waits
  // until local writes are allowed (NodeOptions::incarnation_timeout_ms at
  // most).
  Status accum(Addr addr, std::uint64_t delta);
  // accum() of a batch under one durability wait. O(deltas).
  Status accum_batch(std::span<const FrameRecord> deltas);
  // The state at addr (0 if never written). Sees remote deltas as soon as
  // they are applied (possibly before they are durable here).
  Result<std::uint64_t> read(Addr addr) const;
  // Closes an epoch of the table (PersistentTable::swap()), unless
  // NodeHooks::before_swap refuses (its status, nothing done).
  Result<EpochState> swap();
  // Applies a frame of remote deltas through the exactly-once path the
  // node's TCP/UDP frames take (in seq order per origin; the already applied
  // prefix is skipped, counted in NodeStats::deltas_duplicate). The deltas
  // are visible at once and durable after sync(). Returns what was done; a
  // frame that skips seqs applies nothing (gap = true, counted in
  // NodeStats::frames_gap). Fails with the table's error (kOutOfRange
  // address, I/O error; nothing applied) or kFailedPrecondition after
  // stop(). O(frame).
  Result<NodeApplyResult> apply_frame(const FrameView& frame);
  // Makes every delta applied or acknowledged so far durable (the table's
  // sync()). The table's error otherwise.
  Status sync();
  // The deltas of `origin` (this node's, or an own origin of an earlier
  // incarnation) with seqs after+1..its mark, from the Replica's retained
  // log (Replica::retained_since): kOutOfRange when some are no longer
  // retained (read them from the WAL instead).
  Result<std::vector<FrameRecord>> retained_since(OriginId origin,
                                                  Seq after) const;
  // The states and version vector at one instant. O(table).
  NodeTableState table_state() const;
  const std::string& data_dir() const;
  VersionVector version_vector() const;
  Digest digest() const;
  // Every non-zero state, by address. O(table).
  std::vector<std::pair<Addr, std::uint64_t>> snapshot() const;
  NodeStatus status() const;
  NodeStats stats() const;
  // The own origin: constant, except that a new incarnation after a
  // restart replaces it once (NodeHooks::on_incarnation).
  OriginId origin() const;
  // The own origin the table had when this node opened it: origin() until
  // a new incarnation.
  OriginId opened_origin() const;
  // "127.0.0.1:41234": the bound address (the chosen port when 0 was asked).
  std::string listen_address() const;
  std::uint16_t port() const;
  // Closes every connection, stops the network thread and closes the table.
  // Idempotent.
  Status stop();

  // Opaque: defined in src/transport/node_impl.hpp, where the connection
  // code reaches it by name; users cannot do anything with it.
  struct Impl;

 private:
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A blocking client of a node (what `atomik accum/read/swap/status` use).
class ATOMIK_EXPORT NodeClient {
 public:
  // Connects to HOST:PORT and completes the handshake within timeout_ms.
  // kUnavailable if nothing answers, kPermissionDenied-like kFailedPrecondition
  // if the key does not match.
  static Result<std::unique_ptr<NodeClient>> connect(
      const std::string& address, std::span<const std::byte> key = {},
      std::uint32_t timeout_ms = 5000);
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;
  ~NodeClient();

  // Returns once the node acknowledged the delta.
  Status accum(Addr addr, std::uint64_t delta);
  Result<std::uint64_t> read(Addr addr);
  // The epoch number closed.
  Result<std::uint64_t> swap();
  // The node's NodeStatus::to_json().
  Result<std::string> status_json();
  // The node's NodeStatus::to_text().
  Result<std::string> status_text();
  // The node's digest and version vector (parsed from status).
  Result<Digest> digest();

 private:
  struct Impl;
  explicit NodeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a key file: exactly kNodeKeySize raw bytes, or 64 hex digits
// (whitespace around them ignored). kInvalidArgument otherwise.
ATOMIK_EXPORT Result<std::vector<std::byte>> read_node_key_file(
    const std::string& path);

// Splits "HOST:PORT" (port 0..65535). kInvalidArgument otherwise.
ATOMIK_EXPORT Result<std::pair<std::string, std::uint16_t>> parse_host_port(
    const std::string& address);

}  // namespace atomik
