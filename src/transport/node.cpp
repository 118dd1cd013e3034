// SPDX-License-Identifier: Apache-2.0
// Node: a Replica (atomik/replica.hpp) + asio TCP/UDP replication.
// The protocol is docs/protocol.md; the bytes are
// docs/format/node_protocol.md.
//
// Threads: one network thread runs the io_context and owns every
// connection, timer and socket. The Replica owns the replicated state (table,
// marks, retained log, digest); `mu` guards the own deltas not yet sent, the
// durable own seq and the counters, and orders local batches with their
// place in `unsent`. Public methods may run on any thread. Own deltas are
// sent only once durable (a crash can never make a node reuse a seq a peer
// has seen). Remote deltas are applied in seq order per origin (a frame
// that skips seqs is dropped and repaired by catch-up).
#include "atomik/node.hpp"

#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "atomik/replica.hpp"
#include "codec/byte_order.hpp"
#include "transport/packet.hpp"
#include "transport/resolve.hpp"

namespace atomik {
namespace tp = transport;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

std::string hex(std::uint64_t v) { return codec::hex64(v); }

// Records [from, to) of `recs` with seqs base.. as frames of <= max records.
void append_frames(
    OriginId origin, Seq base, std::span<const FrameRecord> recs,
    std::size_t max_records, std::size_t max_bytes,
    std::vector<std::shared_ptr<const std::vector<std::byte>>>* out) {
  const std::size_t by_bytes =
      (max_bytes - kFrameHeaderSize) / kFrameRecordSize;
  const std::size_t per =
      std::max<std::size_t>(1, std::min(max_records, by_bytes));
  for (std::size_t i = 0; i < recs.size(); i += per) {
    const std::size_t n = std::min(per, recs.size() - i);
    FrameHeader h{.origin = origin, .epoch = 0, .base_seq = base + i};
    auto f = encode_frame(h, recs.subspan(i, n), {},
                          FrameLimits{.max_frame_bytes = max_bytes});
    if (f.ok()) {
      out->push_back(
          std::make_shared<const std::vector<std::byte>>(std::move(*f)));
    }
  }
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> parse_host_port(
    const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::invalid_argument("address",
                                    "'" + address + "': expected HOST:PORT");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = address.substr(colon + 1);
  std::uint32_t p = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || p > 65535) {
      return Status::invalid_argument(
          "address", "'" + address + "': port must be 0..65535");
    }
    p = p * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (p > 65535) {
    return Status::invalid_argument("address",
                                    "'" + address + "': port must be 0..65535");
  }
  return std::make_pair(host, static_cast<std::uint16_t>(p));
}

Result<std::vector<std::byte>> read_node_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("key file", "cannot open '" + path + "'");
  std::string s((std::istreambuf_iterator<char>(in)),
                std::istreambuf_iterator<char>());
  std::vector<std::byte> key;
  if (s.size() == kNodeKeySize) {
    for (char c : s) key.push_back(static_cast<std::byte>(c));
    return key;
  }
  std::string t;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') t.push_back(c);
  }
  if (t.size() == 2 * kNodeKeySize) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (std::size_t i = 0; i < t.size(); i += 2) {
      const int hi = nib(t[i]);
      const int lo = nib(t[i + 1]);
      if (hi < 0 || lo < 0) break;
      key.push_back(static_cast<std::byte>(hi * 16 + lo));
    }
    if (key.size() == kNodeKeySize) return key;
  }
  return Status::invalid_argument(
      "key file", "'" + path +
                      "': expected 32 raw bytes or 64 hex digits, got " +
                      std::to_string(s.size()) + " bytes");
}

std::string NodeStatus::to_json() const {
  std::ostringstream o;
  o << R"({"origin":")" << hex(origin) << R"(","listen":")" << listen
    << R"(","digest":")" << digest.to_hex() << R"(","version_vector":{)";
  bool first = true;
  for (const auto& [org, m] : version_vector.entries()) {
    o << (first ? "" : ",") << "\"" << hex(org) << "\":" << m;
    first = false;
  }
  o << "},\"peers\":[";
  first = true;
  for (const PeerStatus& p : peers) {
    o << (first ? "" : ",") << R"({"address":")" << p.address
      << R"(","outgoing":)" << (p.outgoing ? "true" : "false")
      << ",\"connected\":" << (p.connected ? "true" : "false")
      << R"(,"origin":")" << hex(p.origin) << R"(","lag":)" << p.lag
      << ",\"queued_bytes\":" << p.queued_bytes << "}";
    first = false;
  }
  const NodeStats& s = stats;
  o << "],\"stats\":{"
    << "\"packets_in\":" << s.packets_in << ",\"packets_out\":" << s.packets_out
    << ",\"deltas_local\":" << s.deltas_local
    << ",\"deltas_applied\":" << s.deltas_applied
    << ",\"deltas_duplicate\":" << s.deltas_duplicate
    << ",\"frames_gap\":" << s.frames_gap
    << ",\"rejected_bad_header\":" << s.rejected_bad_header
    << ",\"rejected_oversized\":" << s.rejected_oversized
    << ",\"rejected_bad_mac\":" << s.rejected_bad_mac
    << ",\"rejected_replay\":" << s.rejected_replay
    << ",\"rejected_malformed\":" << s.rejected_malformed
    << ",\"rejected_truncated\":" << s.rejected_truncated
    << ",\"rejected_connections\":" << s.rejected_connections
    << ",\"handshake_failures\":" << s.handshake_failures
    << ",\"slow_peer_skips\":" << s.slow_peer_skips
    << ",\"slow_peer_disconnects\":" << s.slow_peer_disconnects
    << ",\"state_transfers_needed\":" << s.state_transfers_needed
    << ",\"state_transfers_sent\":" << s.state_transfers_sent
    << ",\"state_transfers_installed\":" << s.state_transfers_installed
    << ",\"state_transfers_rejected\":" << s.state_transfers_rejected
    << ",\"syncs_sent\":" << s.syncs_sent
    << ",\"syncs_received\":" << s.syncs_received
    << ",\"connects\":" << s.connects
    << ",\"udp_datagrams_in\":" << s.udp_datagrams_in
    << ",\"origins_refused\":" << s.origins_refused
    << ",\"divergences\":" << s.divergences
    << ",\"own_recovered\":" << s.own_recovered
    << ",\"own_conflicts\":" << s.own_conflicts << "}";
  for (const auto& [k, v] : extra) o << ",\"" << k << "\":" << v;
  o << "}";
  return o.str();
}

std::string NodeStatus::to_text() const {
  std::ostringstream o;
  o << "origin  " << hex(origin) << "\nlisten  " << listen << "\ndigest  "
    << digest.to_hex() << "\nversion vector";
  for (const auto& [org, m] : version_vector.entries()) {
    o << "\n  " << hex(org) << (org == origin ? " (self)" : "") << "  " << m;
  }
  o << "\npeers";
  if (peers.empty()) o << " (none)";
  for (const PeerStatus& p : peers) {
    o << "\n  " << p.address << (p.outgoing ? " (outgoing)" : " (incoming)")
      << (p.connected ? " connected" : " disconnected") << "  origin "
      << hex(p.origin) << "  lag " << p.lag << "  queued " << p.queued_bytes
      << " B";
  }
  // Non-zero counters, from the JSON (one source of names).
  const std::string j = to_json();
  const auto at = j.find("\"stats\":{");
  o << "\nstats";
  if (at != std::string::npos) {
    std::string body = j.substr(at + 9);
    body = body.substr(0, body.find('}'));
    std::istringstream in(body);
    std::string kv;
    while (std::getline(in, kv, ',')) {
      const auto colon = kv.find(':');
      if (colon == std::string::npos || kv.substr(colon + 1) == "0") continue;
      o << "\n  " << kv.substr(1, colon - 2) << "  " << kv.substr(colon + 1);
    }
  }
  for (const auto& [k, v] : extra) o << "\n" << k << "  " << v;
  o << "\n";
  return o.str();
}

struct NodeConnection;

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
  OriginId self_origin = 0;  // set before the network thread starts

  // --- guarded by mu ---------------------------------------------------------
  mutable std::mutex mu;
  std::unique_ptr<Replica> replica;  // set before the network thread starts
  Seq durable_seq = 0;               // own seqs acknowledged
  Seq unsent_base = 1;               // seq of unsent.front()
  std::vector<FrameRecord> unsent;   // own deltas not yet sent
  NodeStats st;
  bool stopped = false;

  // --- network thread only
  // -----------------------------------------------------
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<udp::socket> udp_sock;
  std::vector<std::byte> udp_buf;
  udp::endpoint udp_from;
  asio::steady_timer sync_timer{io};
  std::set<std::shared_ptr<NodeConnection>> conns;
  std::vector<std::unique_ptr<PeerSlot>> peers;
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

  void log(const std::string& s) const {
    if (opt.log) {
      std::fprintf(stderr, "atomik node %s: %s\n", listen_addr.c_str(),
                   s.c_str());
    }
  }

  // Copies the Replica's counters into `s`.
  void add_replica_stats(NodeStats* s) const {
    const ReplicaStats r = replica->stats();
    s->origins_refused = r.origins_refused;
    s->own_recovered = r.own_recovered;
    s->own_conflicts = r.own_conflicts;
  }
  Status open_storage();
  Status local_batch(std::span<const FrameRecord> recs);
  // Applies a validated frame. Returns false when it skips seqs (a gap).
  bool apply_frame(const FrameView& f);
  // apply_frame() with the table's error (Node::apply_frame).
  Result<NodeApplyResult> apply_frame_checked(const FrameView& f);
  // Node::swap(), with NodeHooks::before_swap/after_swap.
  Result<EpochState> swap_table();
  void flush_local();
  void broadcast(
      std::vector<std::shared_ptr<const std::vector<std::byte>>>& frames);
  void send_udp(const std::vector<std::byte>& frame);
  void start_accept();
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
  bool install_snapshot(const tp::SnapshotBody& body);
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
  std::vector<std::byte> body;
  std::deque<Out> outq;
  std::size_t queued = 0;
  bool snapshot_queued = false;  // a SNAPSHOT waits in outq
  bool writing = false;
  VersionVector their_vv;
  bool have_vv = false;
  bool suspect = false;  // a digest mismatch at suspect_vv (check_divergence)
  VersionVector suspect_vv;
  std::uint32_t bad = 0;
  Clock::time_point last_gap_sync{};
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

  void start() {
    hs_timer.expires_after(
        std::chrono::milliseconds(n.opt.handshake_timeout_ms));
    hs_timer.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec && self->state == State::kHandshake) {
        {
          std::lock_guard<std::mutex> lk(self->n.mu);
          ++self->n.st.handshake_failures;
        }
        self->n.log("handshake timeout from " + self->remote);
        self->close();
      }
    });
    if (connector) {
      my_nonce = tp::random_nonce();
      tp::Hello h{.origin = n.self_origin, .nonce = my_nonce};
      send_raw(
          tp::PacketType::kHello, 0,
          std::make_shared<const std::vector<std::byte>>(tp::encode_hello(h)),
          n.keyed ? &n.key : nullptr, {});
    }
    read_header();
  }

  void close() {
    if (state == State::kClosed) return;
    state = State::kClosed;
    std::error_code ec;
    hs_timer.cancel();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    auto self = shared_from_this();
    n.conns.erase(self);
    if (slot != nullptr && !n.closing_all) n.schedule_reconnect(slot);
  }

  void send_raw(tp::PacketType type, std::uint64_t counter,
                std::shared_ptr<const std::vector<std::byte>> b,
                const tp::Key* k, std::span<const std::byte> extra) {
    if (state == State::kClosed) return;
    Out o;
    o.body = std::move(b);
    tp::PacketHeader h{
        type, static_cast<std::uint16_t>(k != nullptr ? tp::kTagSize : 0),
        static_cast<std::uint32_t>(o.body->size()), counter};
    tp::write_header(h, o.head);
    if (k != nullptr) {
      o.tag = tp::compute_tag(*k, my_dir(), o.head, *o.body, extra);
      o.tag_len = tp::kTagSize;
    }
    o.snapshot = type == tp::PacketType::kSnapshot;
    if (o.snapshot) {
      snapshot_queued = true;
    } else {
      queued += o.size();
    }
    outq.push_back(std::move(o));
    {
      std::lock_guard<std::mutex> lk(n.mu);
      ++n.st.packets_out;
    }
    if (queued > n.opt.max_queued_bytes) {
      {
        std::lock_guard<std::mutex> lk(n.mu);
        ++n.st.slow_peer_disconnects;
      }
      n.log("peer " + remote + " has " + std::to_string(queued) +
            " bytes queued (> max_queued_bytes): disconnecting");
      close();
      return;
    }
    do_write();
  }

  void send(tp::PacketType type,
            std::shared_ptr<const std::vector<std::byte>> b) {
    send_raw(type, ++send_ctr, std::move(b), n.keyed ? &skey : nullptr, {});
  }

  bool congested() const { return queued > n.opt.max_queued_bytes / 2; }

  void do_write() {
    if (writing || outq.empty() || state == State::kClosed) return;
    writing = true;
    const Out& o = outq.front();
    std::array<asio::const_buffer, 3> bufs{
        asio::buffer(o.head), asio::buffer(*o.body),
        asio::buffer(o.tag.data(), o.tag_len)};
    asio::async_write(
        sock, bufs,
        [self = shared_from_this()](std::error_code ec, std::size_t) {
          self->writing = false;
          if (self->state == State::kClosed) return;
          if (self->outq.front().snapshot) {
            self->snapshot_queued = false;
          } else {
            self->queued -= self->outq.front().size();
          }
          self->outq.pop_front();
          if (ec) {
            self->close();
            return;
          }
          self->do_write();
        });
  }

  void count(std::uint64_t NodeStats::*field) {
    std::lock_guard<std::mutex> lk(n.mu);
    ++(n.st.*field);
  }

  void read_header() {
    asio::async_read(
        sock, asio::buffer(hdr),
        [self = shared_from_this()](std::error_code ec, std::size_t got) {
          if (self->state == State::kClosed) return;
          if (ec) {
            if (got > 0) {
              self->count(&NodeStats::rejected_truncated);
              self->n.log("connection from " + self->remote +
                          " ended inside a packet header (" +
                          std::to_string(got) + " of 24 bytes)");
            }
            self->close();
            return;
          }
          std::string why;
          tp::HeaderError e =
              tp::parse_header(self->hdr,
                               static_cast<std::uint32_t>(std::min<std::size_t>(
                                   self->n.max_body_bytes(), UINT32_MAX)),
                               &self->ph, &why);
          // Only a SNAPSHOT from a peer past its handshake may exceed
          // max_packet_bytes (up to max_snapshot_bytes).
          if (e == tp::HeaderError::kNone &&
              self->ph.body_len > self->n.opt.max_packet_bytes &&
              ((self->ph.type != tp::PacketType::kSnapshot &&
                self->ph.type != tp::PacketType::kSnapshotV1) ||
               self->state != State::kOpen || self->is_client)) {
            e = tp::HeaderError::kOversized;
            why = "body of " + std::to_string(self->ph.body_len) +
                  " bytes > max_packet_bytes " +
                  std::to_string(self->n.opt.max_packet_bytes);
          }
          if (e != tp::HeaderError::kNone) {
            self->count(e == tp::HeaderError::kOversized
                            ? &NodeStats::rejected_oversized
                            : &NodeStats::rejected_bad_header);
            self->n.log("packet header from " + self->remote + ": " + why +
                        "; closing the connection");
            self->close();
            return;
          }
          self->read_body();
        });
  }

  void read_body() {
    body.resize(std::size_t{ph.body_len} + ph.tag_len);
    asio::async_read(
        sock, asio::buffer(body),
        [self = shared_from_this()](std::error_code ec, std::size_t got) {
          if (self->state == State::kClosed) return;
          if (ec) {
            self->count(&NodeStats::rejected_truncated);
            self->n.log("connection from " + self->remote +
                        " ended inside a packet body (" + std::to_string(got) +
                        " of " + std::to_string(self->body.size()) + " bytes)");
            self->close();
            return;
          }
          self->handle();
          if (self->state != State::kClosed) self->read_header();
        });
  }

  // A rejected packet: counted, logged, dropped; too many close the
  // connection.
  void reject(std::uint64_t NodeStats::*field, const std::string& why) {
    count(field);
    n.log("packet from " + remote + " rejected: " + why);
    if (++bad > 16 || state == State::kHandshake) {
      if (state == State::kHandshake) count(&NodeStats::handshake_failures);
      close();
    }
  }

  void handle() {
    const std::span<const std::byte> b(body.data(), ph.body_len);
    const std::span<const std::byte> tag(body.data() + ph.body_len, ph.tag_len);
    if (n.keyed != (ph.tag_len != 0)) {
      reject(&NodeStats::rejected_bad_mac,
             n.keyed ? "no tag, but this node requires one (--key-file)"
                     : "tagged, but this node has no key");
      return;
    }
    if (state == State::kHandshake) {
      if (ph.type != tp::PacketType::kHello || ph.counter != 0) {
        reject(&NodeStats::rejected_malformed,
               "expected HELLO with counter 0 first");
        return;
      }
      if (n.keyed) {
        const tp::Tag want =
            tp::compute_tag(n.key, their_dir(), hdr, b,
                            connector ? std::span<const std::byte>(my_nonce)
                                      : std::span<const std::byte>());
        if (!tp::tag_equal(want, tag)) {
          reject(&NodeStats::rejected_bad_mac,
                 "HELLO tag mismatch (wrong key?)");
          return;
        }
      }
      auto h = tp::decode_hello(b);
      if (!h.ok()) {
        reject(&NodeStats::rejected_malformed, h.status().to_string());
        return;
      }
      if (h->origin == n.self_origin) {
        n.log("connected to itself (" + remote + "): closing");
        close();
        return;
      }
      their_nonce = h->nonce;
      peer_origin = h->origin;
      is_client = (h->flags & tp::kHelloFlagClient) != 0;
      if (connector && is_client) {
        reject(&NodeStats::rejected_malformed,
               "acceptor claims to be a client");
        return;
      }
      if (!connector) {
        my_nonce = tp::random_nonce();
        tp::Hello r{.origin = n.self_origin, .nonce = my_nonce};
        send_raw(
            tp::PacketType::kHello, 0,
            std::make_shared<const std::vector<std::byte>>(tp::encode_hello(r)),
            n.keyed ? &n.key : nullptr, their_nonce);
        if (n.keyed) skey = tp::session_key(n.key, their_nonce, my_nonce);
      } else if (n.keyed) {
        skey = tp::session_key(n.key, my_nonce, their_nonce);
      }
      state = State::kOpen;
      hs_timer.cancel();
      if (slot != nullptr) slot->backoff_ms = 0;
      count(&NodeStats::connects);
      if (!is_client) {
        n.log("connected to peer " + hex(peer_origin) + " at " + remote);
        send_sync(true);
      }
      return;
    }
    if (n.keyed) {
      const tp::Tag want = tp::compute_tag(skey, their_dir(), hdr, b);
      if (!tp::tag_equal(want, tag)) {
        reject(&NodeStats::rejected_bad_mac, "tag mismatch");
        return;
      }
    }
    if (ph.counter <= recv_ctr) {
      reject(&NodeStats::rejected_replay,
             "counter " + std::to_string(ph.counter) + " <= last " +
                 std::to_string(recv_ctr) + " (replayed or reordered)");
      return;
    }
    recv_ctr = ph.counter;
    switch (ph.type) {
      case tp::PacketType::kDeltas:
        on_deltas(b);
        break;
      case tp::PacketType::kSync:
        on_sync(b);
        break;
      case tp::PacketType::kRequest:
        on_request(b);
        break;
      case tp::PacketType::kSnapshot:
      case tp::PacketType::kSnapshotV1:
        on_snapshot(b);
        break;
      default:
        reject(&NodeStats::rejected_malformed,
               "unexpected packet type " +
                   std::to_string(static_cast<int>(ph.type)));
        return;
    }
  }

  void send_sync(bool reply_wanted) {
    send(tp::PacketType::kSync, std::make_shared<const std::vector<std::byte>>(
                                    n.sync_body(reply_wanted)));
  }

  void on_deltas(std::span<const std::byte> b) {
    if (is_client) {
      reject(&NodeStats::rejected_malformed, "DELTAS from a client");
      return;
    }
    auto f = parse_frame(
        b, FrameLimits{.max_frame_bytes = std::max<std::size_t>(
                           kFrameHeaderSize, n.opt.max_packet_bytes)});
    if (!f.ok()) {
      reject(&NodeStats::rejected_malformed, f.status().to_string());
      return;
    }
    if (f->size() != b.size() || f->header().origin == 0) {
      reject(&NodeStats::rejected_malformed,
             "DELTAS body holds bytes after its frame, or origin 0");
      return;
    }
    count(&NodeStats::packets_in);
    if (!n.apply_frame(*f)) {
      const auto now = Clock::now();
      if (now - last_gap_sync > std::chrono::milliseconds(20)) {
        last_gap_sync = now;
        send_sync(true);
      }
    }
  }

  // Equal version vectors with unequal digests: two contents for one
  // (origin, seq) somewhere. Both sides compare what they advertise (own
  // deltas waiting for the disk left out of vector and digest); a mismatch
  // counts when seen twice in a row at the same vector. Logged at 1, 2, 4, ...
  // occurrences, counted in NodeStats::divergences (shown by `status`). Not
  // repaired automatically.
  void check_divergence(const tp::SyncBody& s) {
    Seq durable = 0;
    {
      std::lock_guard<std::mutex> lk(n.mu);
      durable = n.durable_seq;
    }
    const auto [mine, digest] = n.replica->advertised(durable);
    if (!(mine == s.vv) || digest == s.digest) {
      suspect = false;
      return;
    }
    if (!suspect || !(suspect_vv == s.vv)) {
      suspect = true;
      suspect_vv = s.vv;
      return;
    }
    std::uint64_t k = 0;
    {
      std::lock_guard<std::mutex> lk(n.mu);
      k = ++n.st.divergences;
    }
    if ((k & (k - 1)) == 0) {
      n.log("DIVERGED from " + remote + " (origin " + hex(peer_origin) +
            "): equal version vectors " + s.vv.to_string() + ", digests " +
            n.replica->digest().to_hex() + " here, " + s.digest.to_hex() +
            " there (" + std::to_string(k) + " detections)");
    }
  }

  void on_sync(std::span<const std::byte> b) {
    if (is_client) {
      reject(&NodeStats::rejected_malformed, "SYNC from a client");
      return;
    }
    auto s = tp::decode_sync(b);
    if (!s.ok()) {
      reject(&NodeStats::rejected_malformed, s.status().to_string());
      return;
    }
    {
      std::lock_guard<std::mutex> lk(n.mu);
      ++n.st.packets_in;
      ++n.st.syncs_received;
    }
    their_vv = s->vv;
    have_vv = true;
    check_divergence(*s);
    std::shared_ptr<const std::vector<std::byte>> snapshot;
    auto frames = n.catch_up_frames(their_vv, &snapshot);
    // One state transfer in flight per peer: the next sync sends another
    // if it is still needed.
    if (snapshot && !snapshot_queued) {
      send(tp::PacketType::kSnapshot, std::move(snapshot));
    }
    for (auto& f : frames) {
      if (state == State::kClosed) return;
      send(tp::PacketType::kDeltas, std::move(f));
    }
    if (s->reply_wanted) send_sync(false);
  }

  void on_snapshot(std::span<const std::byte> b) {
    if (is_client) {
      reject(&NodeStats::rejected_malformed, "SNAPSHOT from a client");
      return;
    }
    // Version 1 has no checksum over its marks: only a verified tag
    // vouches for them, so it is refused on keyless links.
    auto s = ph.type == tp::PacketType::kSnapshotV1
                 ? tp::decode_snapshot_v1(b, n.keyed)
                 : tp::decode_snapshot(b);
    if (!s.ok()) {
      count(&NodeStats::state_transfers_rejected);
      reject(&NodeStats::rejected_malformed, s.status().to_string());
      return;
    }
    count(&NodeStats::packets_in);
    if (!n.install_snapshot(*s)) {
      count(&NodeStats::state_transfers_rejected);
      reject(&NodeStats::rejected_malformed, "state transfer not installed");
    }
  }

  void on_request(std::span<const std::byte> b) {
    auto r = tp::decode_request(b);
    if (!r.ok()) {
      reject(&NodeStats::rejected_malformed, r.status().to_string());
      return;
    }
    count(&NodeStats::packets_in);
    tp::Response resp;
    resp.id = r->id;
    Status s;
    switch (r->op) {
      case tp::RequestOp::kAccum: {
        FrameRecord rec{r->addr, r->value};
        s = n.local_batch({&rec, 1});
        break;
      }
      case tp::RequestOp::kRead: {
        auto v = n.replica->read(r->addr);
        if (v.ok()) {
          resp.value = *v;
        } else {
          s = v.status();
        }
        break;
      }
      case tp::RequestOp::kSwap: {
        auto e = n.swap_table();
        if (e.ok()) {
          resp.value = e->epoch;
        } else {
          s = e.status();
        }
        break;
      }
      case tp::RequestOp::kStatus:
        // value 1: the human-readable form.
        resp.text = r->value == 1 ? n.build_status().to_text()
                                  : n.build_status().to_json();
        break;
      case tp::RequestOp::kDigest: {
        resp.text = n.replica->digest().to_hex();
        break;
      }
    }
    if (!s.ok()) {
      resp.code = static_cast<std::uint8_t>(s.code());
      resp.text = std::string(s.message());
    }
    send(tp::PacketType::kResponse,
         std::make_shared<const std::vector<std::byte>>(
             tp::encode_response(resp)));
  }
};

}  // namespace atomik

namespace atomik {

std::vector<std::byte> Node::Impl::sync_body(bool reply_wanted) {
  tp::SyncBody s;
  s.reply_wanted = reply_wanted;
  Seq durable = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    durable = durable_seq;
    ++st.syncs_sent;
  }
  // Own deltas not yet durable are not advertised, in the vector nor in the
  // digest (so equal vectors with unequal digests mean divergence).
  std::tie(s.vv, s.digest) = replica->advertised(durable);
  return tp::encode_sync(s);
}

Status Node::Impl::open_storage() {
  ReplicaOptions ro;
  ro.storage = opt.storage;
  ro.retain_per_origin = opt.retain_per_origin;
  ro.max_origins = opt.max_origins;
  ro.log = [this](const std::string& line) { log(line); };
  auto r = Replica::open(opt.data_dir, ro);
  if (!r.ok()) return r.status();
  replica = std::move(*r);
  self_origin = replica->origin();
  durable_seq = replica->mark(self_origin);
  unsent_base = durable_seq + 1;
  return Status();
}

Status Node::Impl::local_batch(std::span<const FrameRecord> recs) {
  if (recs.empty()) return Status();
  Seq last = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    if (stopped) return Status::failed_precondition("Node", "stopped");
    if (opt.hooks.admit_local) {
      ATOMIK_RETURN_IF_ERROR(
          opt.hooks.admit_local(replica->mark(self_origin), recs.size()));
    }
    auto first = replica->accum_batch(recs, /*wait=*/false);
    if (!first.ok()) return first.status();
    if (unsent.empty()) unsent_base = *first;
    unsent.insert(unsent.end(), recs.begin(), recs.end());
    last = *first + recs.size() - 1;
  }
  if (opt.storage.sync != SyncPolicy::kNone) {
    ATOMIK_RETURN_IF_ERROR(replica->sync());
  }
  {
    std::lock_guard<std::mutex> lk(mu);
    durable_seq = std::max(durable_seq, last);
    st.deltas_local += recs.size();
  }
  asio::post(io, [this] { flush_local(); });
  return Status();
}

bool Node::Impl::apply_frame(const FrameView& f) {
  auto r = apply_frame_checked(f);
  if (!r.ok()) {
    // kFailedPrecondition: stopping; nothing to report. kResourceExhausted
    // (max_origins): the Replica logs and counts it.
    if (r.status().code() != Code::kFailedPrecondition &&
        r.status().code() != Code::kResourceExhausted) {
      log("applying a frame of origin " + hex(f.header().origin) + ": " +
          r.status().to_string());
    }
    return true;
  }
  return !r->gap;
}

Result<NodeApplyResult> Node::Impl::apply_frame_checked(const FrameView& f) {
  const OriginId origin = f.header().origin;
  NodeApplyResult out;
  std::vector<FrameRecord> recs(f.count());
  for (std::size_t i = 0; i < f.count(); ++i) recs[i] = f.record(i);
  // Under mu, so the counters change with the state they describe.
  std::lock_guard<std::mutex> lk(mu);
  if (stopped) return Status::failed_precondition("Node", "stopped");
  auto r = replica->apply_run(origin, f.header().base_seq, recs);
  if (!r.ok()) return r.status();
  if (origin == self_origin && r->applied != 0) {
    // Own deltas this node had lost, returned by a peer: durable before
    // they are advertised; new own deltas follow them.
    ATOMIK_RETURN_IF_ERROR(replica->sync());
    durable_seq = replica->mark(self_origin);
    if (unsent.empty()) unsent_base = durable_seq + 1;
  }
  st.deltas_duplicate += r->duplicate;
  st.deltas_applied += r->applied;
  if (r->gap) ++st.frames_gap;
  out.applied = r->applied;
  out.duplicate = r->duplicate;
  out.gap = r->gap;
  return out;
}

Result<EpochState> Node::Impl::swap_table() {
  {
    std::lock_guard<std::mutex> lk(mu);
    if (stopped) return Status::failed_precondition("Node", "stopped");
  }
  if (opt.hooks.before_swap) ATOMIK_RETURN_IF_ERROR(opt.hooks.before_swap());
  auto e = replica->swap();
  if (opt.hooks.after_swap) opt.hooks.after_swap();
  return e;
}

std::vector<std::shared_ptr<const std::vector<std::byte>>>
Node::Impl::catch_up_frames(
    const VersionVector& theirs,
    std::shared_ptr<const std::vector<std::byte>>* snapshot) {
  std::vector<std::shared_ptr<const std::vector<std::byte>>> out;
  Seq durable = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    durable = durable_seq;
  }
  const CatchUp c = replica->missing(theirs, durable);
  const OriginId self = self_origin;
  if (c.needs_state_transfer) {
    std::uint64_t k = 0;
    {
      std::lock_guard<std::mutex> lk(mu);
      k = ++st.state_transfers_needed;
    }
    // Logged at 1, 2, 4, 8, ... occurrences (it repeats every sync).
    if ((k & (k - 1)) == 0) log("a peer needs a state transfer: " + c.reason);
    // Send the whole state instead, unless own deltas are still in flight
    // to the disk (never send what is not durable: retry next sync).
    auto now = replica->state();
    if (now.ok() && now->version_vector.get(self) == durable) {
      tp::SnapshotBody body;
      body.digest = now->digest;
      body.states = std::move(now->states);
      for (const auto& [o, m] : now->version_vector.entries()) {
        body.marks.emplace_back(o, m);
      }
      const std::uint64_t size =
          tp::snapshot_body_size(body.states.size(), body.marks.size());
      if (size <= opt.max_snapshot_bytes) {
        {
          std::lock_guard<std::mutex> lk(mu);
          ++st.state_transfers_sent;
        }
        *snapshot = std::make_shared<const std::vector<std::byte>>(
            tp::encode_snapshot(body));
        return out;
      }
      log("state transfer of " + std::to_string(size) +
          " bytes exceeds max_snapshot_bytes; not sent");
    }
  }
  std::vector<FrameRecord> run;
  OriginId run_origin = 0;
  Seq run_base = 0;
  auto flush = [&] {
    if (!run.empty()) {
      append_frames(run_origin, run_base, run, opt.max_frame_records,
                    opt.max_packet_bytes, &out);
    }
    run.clear();
  };
  for (const StampedDelta& d : c.deltas) {
    if (d.origin == self && d.seq > durable) continue;
    if (d.origin != run_origin || d.seq != run_base + run.size()) {
      flush();
      run_origin = d.origin;
      run_base = d.seq;
    }
    run.push_back(FrameRecord{d.addr, d.delta});
  }
  flush();
  return out;
}

bool Node::Impl::install_snapshot(const tp::SnapshotBody& body) {
  Result<bool> r = false;
  {
    // Under mu, so the counter changes with the state it describes.
    std::lock_guard<std::mutex> lk(mu);
    r = replica->install(body.states, body.marks, body.digest);
    if (r.ok() && *r) ++st.state_transfers_installed;
  }
  if (!r.ok()) {
    log("state transfer rejected: " + r.status().to_string());
    return false;
  }
  if (!*r) return true;  // already have all of it (a stale transfer)
  log("installed a state transfer; version vector now " +
      replica->version_vector().to_string());
  return true;
}

void Node::Impl::flush_local() {
  std::vector<FrameRecord> recs;  // own deltas now durable, seqs first..
  Seq first = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    if (unsent.empty() || durable_seq < unsent_base) return;
    const std::size_t n = static_cast<std::size_t>(
        std::min<Seq>(durable_seq - unsent_base + 1, unsent.size()));
    recs.assign(unsent.begin(), unsent.begin() + static_cast<long>(n));
    first = unsent_base;
    unsent.erase(unsent.begin(), unsent.begin() + static_cast<long>(n));
    unsent_base += n;
  }
  // On this thread only, so the runs arrive in seq order.
  if (opt.hooks.on_local_batch) opt.hooks.on_local_batch(first, recs);
  // Frames only for someone to send them to (a peer that connects later
  // catches up from the retained log).
  bool any_target = opt.udp && !peers.empty();
  for (const auto& c : conns) {
    if (any_target) break;
    any_target = c->state == NodeConnection::State::kOpen && !c->is_client;
  }
  if (!any_target) return;
  std::vector<std::shared_ptr<const std::vector<std::byte>>> frames;
  append_frames(self_origin, first, recs, opt.max_frame_records,
                opt.max_packet_bytes, &frames);
  broadcast(frames);
}

void Node::Impl::broadcast(
    std::vector<std::shared_ptr<const std::vector<std::byte>>>& frames) {
  if (opt.udp) {
    for (const auto& f : frames) send_udp(*f);
    return;
  }
  std::vector<std::shared_ptr<NodeConnection>> targets(conns.begin(),
                                                       conns.end());
  for (const auto& c : targets) {
    if (c->state != NodeConnection::State::kOpen || c->is_client) continue;
    if (c->congested()) {
      std::lock_guard<std::mutex> lk(mu);
      ++st.slow_peer_skips;
      continue;
    }
    for (const auto& f : frames) c->send(tp::PacketType::kDeltas, f);
  }
}

void Node::Impl::send_udp(const std::vector<std::byte>& frame) {
  if (!udp_sock) return;
  // Datagrams carry at most ~60 KB: split bigger frames.
  auto parsed =
      parse_frame(frame, FrameLimits{.max_frame_bytes = opt.max_packet_bytes});
  if (!parsed.ok()) return;
  constexpr std::size_t kPerDatagram = 4096;
  const FrameView& v = *parsed;
  for (std::size_t i = 0; i < v.count(); i += kPerDatagram) {
    const std::size_t cnt = std::min<std::size_t>(kPerDatagram, v.count() - i);
    std::vector<FrameRecord> recs(cnt);
    for (std::size_t j = 0; j < cnt; ++j) recs[j] = v.record(i + j);
    FrameHeader h = v.header();
    h.base_seq += i;
    auto f = encode_frame(h, recs);
    if (!f.ok()) continue;
    const auto pkt =
        tp::seal_packet(tp::PacketType::kDeltas, ++udp_counter, *f,
                        keyed ? &key : nullptr, tp::Direction::kDatagram);
    for (const auto& p : peers) {
      std::error_code ec;
      udp_sock->send_to(asio::buffer(pkt), p->udp_endpoint, 0, ec);
      std::lock_guard<std::mutex> lk(mu);
      ++st.packets_out;
    }
  }
}

void Node::Impl::start_udp_read() {
  udp_buf.resize(65536);
  udp_sock->async_receive_from(
      asio::buffer(udp_buf), udp_from,
      [this](std::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !udp_sock) return;
        if (!ec) handle_datagram(n);
        start_udp_read();
      });
}

void Node::Impl::handle_datagram(std::size_t n) {
  auto count = [&](std::uint64_t NodeStats::*f, const std::string& why) {
    {
      std::lock_guard<std::mutex> lk(mu);
      ++(st.*f);
    }
    log("datagram from " + udp_from.address().to_string() +
        " rejected: " + why);
  };
  if (n < tp::kPacketHeaderSize) {
    count(&NodeStats::rejected_truncated, "shorter than a packet header");
    return;
  }
  tp::PacketHeader h;
  std::string why;
  const std::span<const std::byte, tp::kPacketHeaderSize> head(
      udp_buf.data(), tp::kPacketHeaderSize);
  const auto e =
      tp::parse_header(head,
                       static_cast<std::uint32_t>(std::min<std::size_t>(
                           opt.max_packet_bytes, UINT32_MAX)),
                       &h, &why);
  if (e != tp::HeaderError::kNone) {
    count(e == tp::HeaderError::kOversized ? &NodeStats::rejected_oversized
                                           : &NodeStats::rejected_bad_header,
          why);
    return;
  }
  if (n != tp::kPacketHeaderSize + h.body_len + h.tag_len) {
    count(&NodeStats::rejected_truncated, "length does not match the header");
    return;
  }
  const std::span<const std::byte> b(udp_buf.data() + tp::kPacketHeaderSize,
                                     h.body_len);
  if (keyed != (h.tag_len != 0)) {
    count(&NodeStats::rejected_bad_mac, "tag presence does not match the key");
    return;
  }
  if (keyed) {
    const tp::Tag want =
        tp::compute_tag(key, tp::Direction::kDatagram, head, b);
    if (!tp::tag_equal(want,
                       {udp_buf.data() + tp::kPacketHeaderSize + h.body_len,
                        tp::kTagSize})) {
      count(&NodeStats::rejected_bad_mac, "tag mismatch");
      return;
    }
  }
  if (h.type != tp::PacketType::kDeltas) {
    count(&NodeStats::rejected_malformed, "only DELTAS go over UDP");
    return;
  }
  auto f = parse_frame(b, FrameLimits{.max_frame_bytes = opt.max_packet_bytes});
  if (!f.ok() || f->size() != b.size()) {
    count(&NodeStats::rejected_malformed,
          f.ok() ? "bytes after the frame" : f.status().to_string());
    return;
  }
  // Replay protection per sender origin: counters only go up. (Applying is
  // exactly-once anyway; this also drops stale datagrams early.)
  std::uint64_t& last = udp_last_counter[f->header().origin];
  if (h.counter <= last) {
    count(&NodeStats::rejected_replay, "counter not above the last one");
    return;
  }
  last = h.counter;
  {
    std::lock_guard<std::mutex> lk(mu);
    ++st.udp_datagrams_in;
    ++st.packets_in;
  }
  (void)apply_frame(*f);  // a gap is repaired by the next TCP sync
}

void Node::Impl::start_accept() {
  acceptor.async_accept([this](std::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || closing_all) return;
    if (!ec) {
      if (conns.size() >= opt.max_connections) {
        {
          std::lock_guard<std::mutex> lk(mu);
          ++st.rejected_connections;
        }
        log("refusing a connection: max_connections " +
            std::to_string(opt.max_connections) + " reached");
        std::error_code ig;
        s.close(ig);
      } else {
        auto c = std::make_shared<NodeConnection>(*this, std::move(s), false,
                                                  nullptr);
        conns.insert(c);
        c->start();
      }
    }
    start_accept();
  });
}

void Node::Impl::connect_peer(PeerSlot* slot) {
  if (closing_all) return;
  auto sock = std::make_shared<tcp::socket>(io);
  sock->async_connect(slot->endpoint, [this, slot, sock](std::error_code ec) {
    if (closing_all) return;
    if (ec) {
      schedule_reconnect(slot);
      return;
    }
    if (conns.size() >= opt.max_connections) {
      std::error_code ig;
      sock->close(ig);
      schedule_reconnect(slot);
      return;
    }
    auto c =
        std::make_shared<NodeConnection>(*this, std::move(*sock), true, slot);
    slot->conn = c;
    conns.insert(c);
    c->start();
  });
}

void Node::Impl::schedule_reconnect(PeerSlot* slot) {
  slot->backoff_ms = slot->backoff_ms == 0
                         ? opt.reconnect_min_ms
                         : std::min(opt.reconnect_max_ms, slot->backoff_ms * 2);
  slot->timer->expires_after(std::chrono::milliseconds(slot->backoff_ms));
  slot->timer->async_wait([this, slot](std::error_code ec) {
    if (!ec) connect_peer(slot);
  });
}

void Node::Impl::on_sync_timer() {
  std::vector<std::shared_ptr<NodeConnection>> targets(conns.begin(),
                                                       conns.end());
  for (const auto& c : targets) {
    if (c->state == NodeConnection::State::kOpen && !c->is_client) {
      c->send_sync(false);
    }
  }
  flush_local();
  sync_timer.expires_after(std::chrono::milliseconds(opt.sync_interval_ms));
  sync_timer.async_wait([this](std::error_code ec) {
    if (!ec) on_sync_timer();
  });
}

NodeStatus Node::Impl::build_status() {
  NodeStatus s;
  s.listen = listen_addr;
  if (opt.hooks.status) s.extra = opt.hooks.status();
  {
    s.origin = self_origin;
    s.version_vector = replica->version_vector();
    s.digest = replica->digest();
    std::lock_guard<std::mutex> lk(mu);
    s.stats = st;
    add_replica_stats(&s.stats);
  }
  auto lag_of = [&](const NodeConnection& c) {
    std::uint64_t lag = 0;
    for (const auto& [o, m] : s.version_vector.entries()) {
      const Seq t = c.their_vv.get(o);
      if (m > t) lag += m - t;
    }
    return lag;
  };
  std::set<const NodeConnection*> seen;
  for (const auto& p : peers) {
    PeerStatus ps;
    ps.address = p->address;
    ps.outgoing = true;
    if (auto c = p->conn.lock();
        c && c->state != NodeConnection::State::kClosed) {
      seen.insert(c.get());
      ps.connected = c->state == NodeConnection::State::kOpen;
      ps.origin = c->peer_origin;
      ps.lag = c->have_vv ? lag_of(*c) : 0;
      ps.queued_bytes = c->queued;
    }
    s.peers.push_back(ps);
  }
  for (const auto& c : conns) {
    if (seen.count(c.get()) != 0 || c->is_client ||
        c->state != NodeConnection::State::kOpen) {
      continue;
    }
    PeerStatus ps;
    ps.address = c->remote;
    ps.connected = true;
    ps.origin = c->peer_origin;
    ps.lag = c->have_vv ? lag_of(*c) : 0;
    ps.queued_bytes = c->queued;
    s.peers.push_back(ps);
  }
  return s;
}

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Node::~Node() { (void)stop(); }

Result<std::unique_ptr<Node>> Node::start(const NodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  Impl& m = *impl;
  m.opt = options;
  if (!options.key.empty()) {
    if (options.key.size() != kNodeKeySize) {
      return Status::invalid_argument(
          "Node::start", "key of " + std::to_string(options.key.size()) +
                             " bytes, expected 32");
    }
    m.keyed = true;
    std::copy(options.key.begin(), options.key.end(), m.key.begin());
  }
  if (options.max_packet_bytes < kFrameHeaderSize + kFrameRecordSize ||
      options.max_packet_bytes > kFrameMaxLimit ||
      options.max_frame_records == 0 || options.sync_interval_ms == 0 ||
      options.reconnect_min_ms == 0 ||
      options.reconnect_max_ms < options.reconnect_min_ms) {
    return Status::invalid_argument(
        "Node::start",
        "max_packet_bytes must be in [60, 1 GiB]; max_frame_records, "
        "sync_interval_ms, reconnect_min_ms nonzero; reconnect_max_ms >= min");
  }
  if (options.max_snapshot_bytes > UINT32_MAX) {
    return Status::invalid_argument(
        "Node::start", "max_snapshot_bytes " +
                           std::to_string(options.max_snapshot_bytes) +
                           " > 4 GiB - 1 (a packet body length is 32 bits)");
  }
  auto listen = parse_host_port(options.listen);
  if (!listen.ok()) return listen.status();
  std::error_code ec;
  auto listen_ip = transport::resolve_host(listen->first);
  if (!listen_ip.ok()) return listen_ip.status().with_context("Node::start");
  const auto addr = asio::ip::make_address(*listen_ip, ec);
  if (ec) {
    return Status::invalid_argument(
        "Node::start", "listen host '" + listen->first + "': " + ec.message());
  }
  for (const std::string& p : options.peers) {
    auto hp = parse_host_port(p);
    if (!hp.ok()) return hp.status();
    auto peer_ip = transport::resolve_host(hp->first);
    if (!peer_ip.ok()) {
      return peer_ip.status().with_context("Node::start: peer '" + p + "'");
    }
    const auto pa = asio::ip::make_address(*peer_ip, ec);
    if (ec || hp->second == 0) {
      return Status::invalid_argument(
          "Node::start", "peer '" + p + "': expected HOST:PORT, port > 0");
    }
    auto slot = std::make_unique<PeerSlot>();
    slot->address = p;
    slot->endpoint = tcp::endpoint(pa, hp->second);
    slot->udp_endpoint = udp::endpoint(pa, hp->second);
    slot->timer = std::make_unique<asio::steady_timer>(m.io);
    m.peers.push_back(std::move(slot));
  }
  ATOMIK_RETURN_IF_ERROR(m.open_storage());
  const tcp::endpoint ep(addr, listen->second);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    (void)m.replica->close();
    return Status::unavailable(
        "Node::start",
        "cannot listen on " + options.listen + ": " + ec.message());
  }
  m.port = m.acceptor.local_endpoint().port();
  m.listen_addr = addr.to_string() + ":" + std::to_string(m.port);
  if (options.udp) {
    m.udp_sock = std::make_unique<udp::socket>(m.io);
    m.udp_sock->open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
    if (!ec) m.udp_sock->bind(udp::endpoint(addr, m.port), ec);
    if (ec) {
      (void)m.replica->close();
      return Status::unavailable(
          "Node::start",
          "cannot bind UDP " + m.listen_addr + ": " + ec.message());
    }
    m.start_udp_read();
  }
  m.start_accept();
  for (auto& p : m.peers) m.connect_peer(p.get());
  m.sync_timer.expires_after(
      std::chrono::milliseconds(options.sync_interval_ms));
  m.sync_timer.async_wait([&m](std::error_code e) {
    if (!e) m.on_sync_timer();
  });
  m.thread = std::thread([&m] {
    for (;;) {
      try {
        m.io.run();
        break;
      } catch (const std::exception& e) {
        m.log(std::string("network thread: ") + e.what());
      }
    }
  });
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::stop() {
  Impl& m = *impl_;
  std::call_once(m.stop_once, [&m] {
    {
      std::lock_guard<std::mutex> lk(m.mu);
      m.stopped = true;
    }
    asio::post(m.io, [&m] {
      m.closing_all = true;
      std::error_code ec;
      m.acceptor.close(ec);
      m.sync_timer.cancel();
      if (m.udp_sock) m.udp_sock->close(ec);
      for (auto& p : m.peers) p->timer->cancel();
      std::vector<std::shared_ptr<NodeConnection>> all(m.conns.begin(),
                                                       m.conns.end());
      for (auto& c : all) c->close();
      m.io.stop();
    });
    if (m.thread.joinable()) m.thread.join();
    m.conns.clear();
    std::lock_guard<std::mutex> lk(m.mu);
    m.stop_status = m.replica->close();
  });
  return m.stop_status;
}

Status Node::accum(Addr addr, std::uint64_t delta) {
  FrameRecord r{addr, delta};
  return impl_->local_batch({&r, 1});
}

Status Node::accum_batch(std::span<const FrameRecord> deltas) {
  return impl_->local_batch(deltas);
}

Result<std::uint64_t> Node::read(Addr addr) const {
  return impl_->replica->read(addr);
}

Result<EpochState> Node::swap() { return impl_->swap_table(); }

VersionVector Node::version_vector() const {
  return impl_->replica->version_vector();
}

Digest Node::digest() const { return impl_->replica->digest(); }

std::vector<std::pair<Addr, std::uint64_t>> Node::snapshot() const {
  auto s = impl_->replica->snapshot();
  return s.ok() ? std::move(*s) : std::vector<std::pair<Addr, std::uint64_t>>{};
}

NodeStatus Node::status() const {
  Impl& m = *impl_;
  if (m.io.get_executor().running_in_this_thread()) return m.build_status();
  if (!m.io.stopped()) {
    auto p = std::make_shared<std::promise<NodeStatus>>();
    auto fut = p->get_future();
    asio::post(m.io, [&m, p] { p->set_value(m.build_status()); });
    if (fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready) {
      return fut.get();
    }
  }
  // The network thread is stopped or stuck: local figures only.
  NodeStatus s;
  s.origin = m.self_origin;
  s.listen = m.listen_addr;
  s.version_vector = m.replica->version_vector();
  s.digest = m.replica->digest();
  std::lock_guard<std::mutex> lk(m.mu);
  s.stats = m.st;
  m.add_replica_stats(&s.stats);
  return s;
}

Result<NodeApplyResult> Node::apply_frame(const FrameView& frame) {
  return impl_->apply_frame_checked(frame);
}

Status Node::sync() {
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    if (impl_->stopped) return Status::failed_precondition("Node", "stopped");
  }
  return impl_->replica->sync();
}

Result<std::vector<FrameRecord>> Node::own_deltas_since(Seq after) const {
  return impl_->replica->own_since(after);
}

NodeTableState Node::table_state() const {
  NodeTableState t;
  auto s = impl_->replica->state();
  if (s.ok()) {  // a failed table: reads name the cause
    t.states = std::move(s->states);
    t.version_vector = std::move(s->version_vector);
  }
  return t;
}

const std::string& Node::data_dir() const { return impl_->opt.data_dir; }

NodeStats Node::stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  NodeStats s = impl_->st;
  impl_->add_replica_stats(&s);
  return s;
}

OriginId Node::origin() const { return impl_->self_origin; }
std::string Node::listen_address() const { return impl_->listen_addr; }
std::uint16_t Node::port() const { return impl_->port; }

}  // namespace atomik
