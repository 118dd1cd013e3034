// SPDX-License-Identifier: Apache-2.0
// Node::Impl and NodeConnection: the private parts of a Node shared by
// node.cpp (replication), node_connection.cpp (TCP connections),
// node_udp.cpp (datagrams), node_incarnation.cpp (holding local writes
// after a restart) and node_status.cpp (status). The threading
// rules are those of node.cpp: see its opening comment.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "atomik/log.hpp"
#include "atomik/node.hpp"
#include "atomik/replica.hpp"
#include "codec/byte_order.hpp"
#include "codec/hex.hpp"
#include "transport/packet.hpp"

namespace atomik {
namespace tp = transport;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

struct NodeConnection;

// Largest step in which a packet body's memory grows while it arrives.
inline constexpr std::size_t kBodyChunkBytes = std::size_t{64} << 10;

struct PeerSlot {
  std::string address;
  tcp::endpoint endpoint;
  udp::endpoint udp_endpoint;
  std::uint32_t backoff_ms = 0;
  std::unique_ptr<asio::steady_timer> timer;
  std::weak_ptr<NodeConnection> conn;
};

struct Node::Impl {
  NodeOptions opt;
  bool keyed = false;
  tp::Key key{};
  // Set before the network thread starts; changed by a new incarnation
  // (network thread, under mu).
  std::atomic<OriginId> self_origin{0};
  // The own origin the table had when this node opened it (set once in
  // start, before any incarnation).
  OriginId opened_origin = 0;

  // --- guarded by mu ---------------------------------------------------------
  mutable std::mutex mu;
  std::unique_ptr<Replica> replica;  // set before the network thread starts
  Seq durable_seq = 0;               // own seqs acknowledged
  Seq unsent_base = 1;               // seq of unsent.front()
  std::vector<FrameRecord> unsent;   // own deltas not yet sent
  // A received frame's records, decoded for the Replica (kept: a frame of
  // 2^16 records is 1 MiB, which a fresh vector would page-fault in again).
  // Guarded by mu like the rest of this block.
  std::vector<FrameRecord> frame_scratch;
  NodeStats st;
  bool stopped = false;
  // Local writes wait (Node::accum) or are deferred (client requests) while
  // set: after a restart, until every peer's mark for our origin is known
  // (docs/design.md "Incarnations"). gate_cv is notified when it clears.
  bool writes_held = false;
  std::condition_variable gate_cv;

  // --- network thread only
  // -----------------------------------------------------
  // Refusals still open; declared before io, whose handlers hold them.
  std::size_t pending_refusals = 0;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<udp::socket> udp_sock;
  std::vector<std::byte> udp_buf;
  udp::endpoint udp_from;
  asio::steady_timer sync_timer{io};
  asio::steady_timer gate_timer{io};
  // Client accum requests that arrived while writes_held: run when it
  // clears (they answer their clients then).
  std::vector<std::function<void()>> held_requests;
  std::set<std::shared_ptr<NodeConnection>> conns;
  std::vector<std::unique_ptr<PeerSlot>> peers;
  // flush_local()'s own deltas of one flush, swapped with unsent under mu
  // and read outside it (this thread only).
  std::vector<FrameRecord> flushing;
  // Starts at the wall clock in microseconds, so a restarted node's
  // datagram counters stay above its previous incarnation's.
  std::uint64_t udp_counter = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::unordered_map<OriginId, std::uint64_t> udp_last_counter;
  std::thread thread;
  std::string listen_addr;
  std::uint16_t port = 0;
  bool closing_all = false;
  std::once_flag stop_once;
  Status stop_status;

  // Through atomik::log (atomik/log.hpp), component "node", prefixed
  // with the listening address. Callers that build costly messages check
  // logging(level) first.
  bool logging(LogLevel level) const { return opt.log && log_enabled(level); }
  void log(const std::string& s, LogLevel level = LogLevel::kWarn) const {
    if (logging(level)) atomik::log(level, "node", who() + ": " + s);
  }
  // The listening address once bound, the data directory before.
  const std::string& who() const {
    return listen_addr.empty() ? opt.data_dir : listen_addr;
  }

  // Copies the Replica's counters into `s`.
  void add_replica_stats(NodeStats* s) const {
    const ReplicaStats r = replica->stats();
    s->origins_refused = r.origins_refused;
    s->own_recovered = r.own_recovered;
    s->own_conflicts = r.own_conflicts;
    s->conflicts = r.conflicts;
  }
  Status open_storage();
  // Network thread. Clears writes_held when every configured peer (or, with
  // none configured, some peer) has sent a SYNC and none of them holds a
  // mark for our origin above ours.
  void check_gate();
  // Network thread: the gate's deadline passed; start a new incarnation.
  void on_gate_timeout();
  // A new origin incarnation, then writes_held cleared; `why` is logged.
  void start_incarnation(const std::string& why);
  void open_gate(const std::string& why);
  bool gate_closed() const {
    std::lock_guard<std::mutex> lk(mu);
    return writes_held;
  }
  Status local_batch(std::span<const FrameRecord> recs);
  // Applies a validated frame. Returns false when it skips seqs (a gap).
  // Deltas that arrived again with other contents add to *conflicts.
  bool apply_frame(const FrameView& f, std::uint64_t* conflicts = nullptr);
  // apply_frame() with the table's error (Node::apply_frame).
  Result<NodeApplyResult> apply_frame_checked(const FrameView& f);
  // Node::swap(), with NodeHooks::before_swap/after_swap.
  Result<EpochState> swap_table();
  void flush_local();
  void broadcast(
      std::vector<std::shared_ptr<const std::vector<std::byte>>>& frames);
  void send_udp(const std::vector<std::byte>& frame);
  void start_accept();
  // Answers and closes a connection over max_connections.
  void refuse(tcp::socket s);
  void start_udp_read();
  void handle_datagram(std::size_t n);
  void connect_peer(PeerSlot* slot);
  void schedule_reconnect(PeerSlot* slot);
  void on_sync_timer();
  NodeStatus build_status();
  // The DELTAS frames a peer with `theirs` lacks, or (in *snapshot) a
  // SNAPSHOT body when the retained log cannot catch it up.
  std::vector<std::shared_ptr<const std::vector<std::byte>>> catch_up_frames(
      const VersionVector& theirs,
      std::shared_ptr<const std::vector<std::byte>>* snapshot);
  // Installs a state transfer (verified by digest); false if rejected.
  // With `repair`, installed even over equal marks (a divergence repair).
  bool install_snapshot(const tp::SnapshotBody& body, bool repair = false);
  // The whole state as a SNAPSHOT body, or null while own deltas are not
  // yet durable (never send what is not durable) or when it exceeds
  // max_snapshot_bytes (logged).
  std::shared_ptr<const std::vector<std::byte>> snapshot_now();
  // Every retained durable own delta as DELTAS frames: sent to a peer we
  // diverged from, so that it can compare them with what it holds for our
  // origin (docs/design.md "Divergence repair").
  std::vector<std::shared_ptr<const std::vector<std::byte>>> own_frames();
  // The largest packet body read: a SNAPSHOT may be larger than the rest.
  std::size_t max_body_bytes() const {
    return std::max(opt.max_packet_bytes, opt.max_snapshot_bytes);
  }
  std::vector<std::byte> sync_body(bool reply_wanted);
};

// One TCP connection (either side). Network thread only.
struct NodeConnection : std::enable_shared_from_this<NodeConnection> {
  enum class State { kHandshake, kOpen, kClosed };
  struct Out {
    std::array<std::byte, tp::kPacketHeaderSize> head{};
    std::shared_ptr<const std::vector<std::byte>> body;
    tp::Tag tag{};
    std::size_t tag_len = 0;
    // A SNAPSHOT: not counted in `queued` (it may exceed max_queued_bytes;
    // at most one is queued per connection, see snapshot_queued).
    bool snapshot = false;
    std::size_t size() const {
      return head.size() + (body ? body->size() : 0) + tag_len;
    }
  };

  Node::Impl& n;
  tcp::socket sock;
  bool connector;
  PeerSlot* slot;
  std::string remote;
  State state = State::kHandshake;
  bool is_client = false;
  OriginId peer_origin = 0;
  tp::Nonce my_nonce{};
  tp::Nonce their_nonce{};
  tp::Key skey{};
  std::uint64_t send_ctr = 0;
  std::uint64_t recv_ctr = 0;
  std::array<std::byte, tp::kPacketHeaderSize> hdr{};
  tp::PacketHeader ph;
  std::vector<std::byte> body;  // grows to body_want as bytes arrive
  std::size_t body_want = 0;    // body_len + tag_len of the packet read
  Clock::time_point last_read;  // last bytes received (idle timeout)
  std::deque<Out> outq;
  std::size_t queued = 0;
  bool snapshot_queued = false;  // a SNAPSHOT waits in outq
  bool writing = false;
  // Live own deltas were not queued (the queue was over half full): none
  // are queued until the queue drains; then the peer is asked for its
  // version vector (catch_up_asked) and its SYNC brings one catch-up of
  // everything it lacks (retained frames, or the state), which clears it.
  bool lagging = false;
  bool catch_up_asked = false;
  VersionVector their_vv;
  bool have_vv = false;
  bool suspect = false;  // a digest mismatch at suspect_vv (check_divergence)
  // Divergence seen and this side yields: the next SNAPSHOT from this peer
  // is installed even over equal marks (Replica::install repair).
  bool repair_expected = false;
  // This divergence episode (cleared when the digests agree again): our own
  // deltas were sent for comparison; the peer asked us for our state.
  std::uint32_t episode_detections = 0;
  bool peer_yielded = false;
  // Asks the peer for its whole state and installs it over equal marks.
  void request_repair(const std::string& why);
  VersionVector suspect_vv;
  std::uint32_t bad = 0;
  Clock::time_point last_gap_sync{};
  // The handshake deadline, then (state kOpen) the idle deadline.
  asio::steady_timer hs_timer;

  NodeConnection(Node::Impl& node, tcp::socket s, bool is_connector,
                 PeerSlot* sl)
      : n(node),
        sock(std::move(s)),
        connector(is_connector),
        slot(sl),
        hs_timer(node.io) {
    std::error_code ec;
    auto ep = sock.remote_endpoint(ec);
    remote = ec ? std::string("?")
                : ep.address().to_string() + ":" + std::to_string(ep.port());
    sock.set_option(tcp::no_delay(true), ec);
  }

  tp::Direction my_dir() const {
    return connector ? tp::Direction::kFromConnector
                     : tp::Direction::kFromAcceptor;
  }
  tp::Direction their_dir() const {
    return connector ? tp::Direction::kFromAcceptor
                     : tp::Direction::kFromConnector;
  }

  void start();

  void close();

  void send_raw(tp::PacketType type, std::uint64_t counter,
                std::shared_ptr<const std::vector<std::byte>> b,
                const tp::Key* k, std::span<const std::byte> extra);

  void send(tp::PacketType type,
            std::shared_ptr<const std::vector<std::byte>> b) {
    send_raw(type, ++send_ctr, std::move(b), n.keyed ? &skey : nullptr, {});
  }

  bool congested() const { return queued > n.opt.max_queued_bytes / 2; }

  void do_write();

  void count(std::uint64_t NodeStats::*field) {
    std::lock_guard<std::mutex> lk(n.mu);
    ++(n.st.*field);
  }

  void read_header();

  void read_body();
  void read_body_chunk();
  // Closes the connection once nothing arrived for idle_timeout_ms.
  void arm_idle_timer();

  // A rejected packet: counted, logged, dropped; too many close the
  // connection.
  void reject(std::uint64_t NodeStats::*field, const std::string& why);

  void handle();

  void send_sync(bool reply_wanted) {
    send(tp::PacketType::kSync, std::make_shared<const std::vector<std::byte>>(
                                    n.sync_body(reply_wanted)));
  }

  void on_deltas(std::span<const std::byte> b);

  // Equal version vectors with unequal digests: two contents for one
  // (origin, seq) somewhere. Both sides compare what they advertise (own
  // deltas waiting for the disk left out of vector and digest); a mismatch
  // counts when seen twice in a row at the same vector. Logged at 1, 2, 4, ...
  // occurrences, counted in NodeStats::divergences (shown by `status`), and
  // repaired by a state transfer: the side with the lower origin id sends
  // its state, the other installs it (docs/design.md).
  void check_divergence(const tp::SyncBody& s);

  void on_sync(std::span<const std::byte> b);

  void on_snapshot(std::span<const std::byte> b);

  void on_request(std::span<const std::byte> b);
};

}  // namespace atomik
