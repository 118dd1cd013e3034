// SPDX-License-Identifier: Apache-2.0
// NodeConnection (one TCP connection, either side: handshake, packet
// framing, the SYNC/DELTAS/SNAPSHOT/REQUEST handlers) and the accept and
// connect loops that make them. Network thread only.
#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "transport/node_impl.hpp"
#include "transport/packet.hpp"

namespace atomik {

void NodeConnection::start() {
  last_read = Clock::now();
  hs_timer.expires_after(std::chrono::milliseconds(n.opt.handshake_timeout_ms));
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
    tp::Hello h{.origin = n.self_origin,
                .nonce = my_nonce,
                .shape = n.replica->shape()};
    send_raw(
        tp::PacketType::kHello, 0,
        std::make_shared<const std::vector<std::byte>>(tp::encode_hello(h)),
        n.keyed ? &n.key : nullptr, {});
  }
  read_header();
}

void NodeConnection::arm_idle_timer() {
  if (n.opt.idle_timeout_ms == 0 || state != State::kOpen) return;
  const auto idle = std::chrono::milliseconds(n.opt.idle_timeout_ms);
  // One wait per idle period, not per packet: reads only stamp last_read,
  // and an early wake-up re-arms for the rest.
  hs_timer.expires_at(last_read + idle);
  hs_timer.async_wait([self = shared_from_this(), idle](std::error_code ec) {
    if (ec || self->state != State::kOpen) return;
    if (Clock::now() - self->last_read < idle) {
      self->arm_idle_timer();
      return;
    }
    self->count(&NodeStats::idle_disconnects);
    self->n.log("closing the connection from " + self->remote +
                    ": nothing received for " +
                    std::to_string(self->n.opt.idle_timeout_ms) +
                    " ms (idle timeout)",
                LogLevel::kInfo);
    self->close();
  });
}

void NodeConnection::close() {
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

void NodeConnection::send_raw(tp::PacketType type, std::uint64_t counter,
                              std::shared_ptr<const std::vector<std::byte>> b,
                              const tp::Key* k,
                              std::span<const std::byte> extra) {
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

void NodeConnection::do_write() {
  if (writing || outq.empty() || state == State::kClosed) return;
  writing = true;
  const Out& o = outq.front();
  std::array<asio::const_buffer, 3> bufs{asio::buffer(o.head),
                                         asio::buffer(*o.body),
                                         asio::buffer(o.tag.data(), o.tag_len)};
  asio::async_write(
      sock, bufs, [self = shared_from_this()](std::error_code ec, std::size_t) {
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
        if (self->outq.empty() && self->lagging && !self->catch_up_asked) {
          self->catch_up_asked = true;
          self->send_sync(/*reply_wanted=*/true);
          return;
        }
        self->do_write();
      });
}

void NodeConnection::read_header() {
  asio::async_read(
      sock, asio::buffer(hdr),
      [self = shared_from_this()](std::error_code ec, std::size_t got) {
        if (self->state == State::kClosed) return;
        if (!ec) self->last_read = Clock::now();
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

void NodeConnection::read_body() {
  body.clear();
  // Memory from a body kept after a SNAPSHOT is given back.
  if (body.capacity() > n.opt.max_packet_bytes) body.shrink_to_fit();
  body_want = std::size_t{ph.body_len} + ph.tag_len;
  read_body_chunk();
}

void NodeConnection::read_body_chunk() {
  const std::size_t have = body.size();
  if (have == body_want) {
    handle();
    if (state != State::kClosed) read_header();
    return;
  }
  // The body grows only as its bytes arrive: a declared length alone
  // (up to max_snapshot_bytes) allocates at most one chunk.
  const std::size_t chunk = std::min(body_want - have, kBodyChunkBytes);
  body.resize(have + chunk);
  asio::async_read(
      sock, asio::buffer(body.data() + have, chunk),
      [self = shared_from_this(), have](std::error_code ec, std::size_t got) {
        if (self->state == State::kClosed) return;
        if (ec) {
          self->count(&NodeStats::rejected_truncated);
          self->n.log("connection from " + self->remote +
                      " ended inside a packet body (" +
                      std::to_string(have + got) + " of " +
                      std::to_string(self->body_want) + " bytes)");
          self->close();
          return;
        }
        self->last_read = Clock::now();
        self->read_body_chunk();
      });
}

void NodeConnection::reject(std::uint64_t NodeStats::*field,
                            const std::string& why) {
  count(field);
  n.log("packet from " + remote + " rejected: " + why);
  if (++bad > 16 || state == State::kHandshake) {
    if (state == State::kHandshake) count(&NodeStats::handshake_failures);
    close();
  }
}

void NodeConnection::handle() {
  const std::span<const std::byte> b(body.data(), ph.body_len);
  const std::span<const std::byte> tag(body.data() + ph.body_len, ph.tag_len);
  if (state == State::kHandshake && connector &&
      ph.type == tp::PacketType::kResponse && ph.counter == 0 &&
      ph.tag_len == 0) {
    // The peer refused us (unauthenticated; it only closes the link).
    auto r = tp::decode_response(b);
    count(&NodeStats::handshake_failures);
    n.log("peer " + remote + " refused the connection: " +
          (r.ok() ? r->text.substr(0, 256) : r.status().to_string()));
    close();
    return;
  }
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
        reject(&NodeStats::rejected_bad_mac, "HELLO tag mismatch (wrong key?)");
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
      reject(&NodeStats::rejected_malformed, "acceptor claims to be a client");
      return;
    }
    if (!is_client && n.opt.clients_only) {
      reject(&NodeStats::handshake_failures,
             "peer " + codec::hex64(peer_origin) +
                 " refused: this node accepts clients only (a table of "
                 "several Redis shards replicates through Redis alone)");
      return;
    }
    // Replicas of different groups or widths must never exchange deltas or
    // states: refused, both named (docs/format/node_protocol.md, version 3).
    if (!is_client && h->shape != n.replica->shape()) {
      reject(&NodeStats::rejected_malformed,
             "peer " + codec::hex64(peer_origin) + " has table group " +
                 h->shape.to_string() + ", this node " +
                 n.replica->shape().to_string() +
                 " (start every node with the same --group and --width)");
      return;
    }
    if (!connector) {
      my_nonce = tp::random_nonce();
      tp::Hello r{.origin = n.self_origin,
                  .nonce = my_nonce,
                  .shape = n.replica->shape()};
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
    arm_idle_timer();
    if (slot != nullptr) slot->backoff_ms = 0;
    count(&NodeStats::connects);
    if (!is_client) {
      n.log("connected to peer " + codec::hex64(peer_origin) + " at " + remote,
            LogLevel::kInfo);
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

void NodeConnection::on_deltas(std::span<const std::byte> b) {
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
  std::uint64_t conflicts = 0;
  const bool applied = n.apply_frame(*f, &conflicts);
  n.check_gate();  // own deltas a peer returned may open it
  // The peer's own deltas differ from what we hold for them: the peer
  // acknowledged its contents (it never reuses a seq), ours are wrong.
  if (conflicts != 0 && f->header().origin == peer_origin && !repair_expected) {
    request_repair(std::to_string(conflicts) + " of its own seqs hold other " +
                   "contents here");
  }
  if (!applied) {
    const auto now = Clock::now();
    if (now - last_gap_sync > std::chrono::milliseconds(20)) {
      last_gap_sync = now;
      send_sync(true);
    }
  }
}

void NodeConnection::check_divergence(const tp::SyncBody& s) {
  Seq durable = 0;
  {
    std::lock_guard<std::mutex> lk(n.mu);
    durable = n.durable_seq;
  }
  const auto [mine, digest] = n.replica->advertised(durable);
  if (digest == s.digest) {  // this divergence episode, if any, is over
    episode_detections = 0;
    peer_yielded = false;
    repair_expected = false;
  }
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
    n.log("DIVERGED from " + remote + " (origin " + codec::hex64(peer_origin) +
          "): equal version vectors " + s.vv.to_string() + ", digests " +
          n.replica->digest().to_hex() + " here, " + s.digest.to_hex() +
          " there (" + std::to_string(k) + " detections)");
  }
  suspect = false;
  // Repair (docs/design.md "Divergence repair"). First, each side sends
  // its own deltas: a side holding other contents for them yields to their
  // origin, which acknowledged them (on_deltas). Without such evidence two
  // detections later (four SYNCs: the frames precede them on the stream,
  // so the peer has compared them), the side with the higher origin id
  // yields. Only the yielding side asks, so the two never overwrite each
  // other in turn.
  if (++episode_detections == 1) {
    for (auto& f : n.own_frames()) {
      if (state == State::kClosed) return;
      send(tp::PacketType::kDeltas, std::move(f));
    }
    return;
  }
  if (repair_expected) {  // the answer was lost or not sent: ask again
    request_repair("still diverged");
    return;
  }
  if (episode_detections >= 3 && !peer_yielded && n.self_origin > peer_origin) {
    request_repair("no origin evidence; the lower origin id's state is kept");
  }
}

void NodeConnection::request_repair(const std::string& why) {
  repair_expected = true;
  n.log("divergence from " + remote + " (origin " + codec::hex64(peer_origin) +
        "): asking for its state (" + why + ")");
  tp::SyncBody s;
  s.state_wanted = true;
  Seq durable = 0;
  {
    std::lock_guard<std::mutex> lk(n.mu);
    durable = n.durable_seq;
    ++n.st.syncs_sent;
  }
  std::tie(s.vv, s.digest) = n.replica->advertised(durable);
  send(tp::PacketType::kSync,
       std::make_shared<const std::vector<std::byte>>(tp::encode_sync(s)));
}

void NodeConnection::on_sync(std::span<const std::byte> b) {
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
  n.check_gate();
  if (s->state_wanted) {
    // The peer yields in a divergence: send our whole state.
    peer_yielded = true;
    auto snap = snapshot_queued ? nullptr : n.snapshot_now();
    if (snap) {
      {
        std::lock_guard<std::mutex> lk(n.mu);
        ++n.st.repairs_sent;
        ++n.st.state_transfers_sent;
      }
      n.log("sending our state to " + remote + " to repair a divergence");
      send(tp::PacketType::kSnapshot, std::move(snap));
    }
  }
  if (lagging && !catch_up_asked) {
    // Still draining: the catch-up follows the drain (do_write asks for
    // it), so it is not queued behind what the peer cannot read yet.
    if (s->reply_wanted) send_sync(false);
    return;
  }
  lagging = false;
  catch_up_asked = false;
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

void NodeConnection::on_snapshot(std::span<const std::byte> b) {
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
  const bool repair = repair_expected;
  repair_expected = false;
  if (!n.install_snapshot(*s, repair)) {
    count(&NodeStats::state_transfers_rejected);
    reject(&NodeStats::rejected_malformed, "state transfer not installed");
  }
}

void NodeConnection::on_request(std::span<const std::byte> b) {
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
      if (n.gate_closed()) {
        // After a restart: answered once the peers' marks are known.
        std::weak_ptr<NodeConnection> w = weak_from_this();
        n.held_requests.emplace_back([w, req = *r] {
          auto c = w.lock();
          if (!c || c->state == State::kClosed) return;
          FrameRecord rec{req.addr, req.value};
          const Status st = c->n.local_batch({&rec, 1});
          tp::Response out;
          out.id = req.id;
          if (!st.ok()) {
            out.code = static_cast<std::uint8_t>(st.code());
            out.text = std::string(st.message());
          }
          c->send(tp::PacketType::kResponse,
                  std::make_shared<const std::vector<std::byte>>(
                      tp::encode_response(out)));
        });
        return;
      }
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

void Node::Impl::start_accept() {
  acceptor.async_accept([this](std::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || closing_all) return;
    if (!ec) {
      if (conns.size() >= opt.max_connections) {
        refuse(std::move(s));
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

namespace {

// A connection refused at max_connections: it gets one untagged RESPONSE
// (counter 0, kResourceExhausted) saying why, then the node reads and drops
// whatever the other side sends until it closes (so the kernel does not
// reset the connection before the reply is read), at most
// handshake_timeout_ms.
struct Refusal : std::enable_shared_from_this<Refusal> {
  tcp::socket sock;
  std::vector<std::byte> packet;
  std::array<std::byte, 512> sink{};
  asio::steady_timer timer;
  std::size_t* pending;

  Refusal(tcp::socket s, std::vector<std::byte> p, std::size_t* count)
      : sock(std::move(s)),
        packet(std::move(p)),
        timer(sock.get_executor()),
        pending(count) {
    ++*pending;
  }
  ~Refusal() { --*pending; }

  void start(std::uint32_t timeout_ms) {
    timer.expires_after(std::chrono::milliseconds(timeout_ms));
    timer.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->finish();
    });
    asio::async_write(
        sock, asio::buffer(packet),
        [self = shared_from_this()](std::error_code ec, std::size_t) {
          if (ec) {
            self->finish();
            return;
          }
          std::error_code ig;
          self->sock.shutdown(tcp::socket::shutdown_send, ig);
          self->drain();
        });
  }
  void drain() {
    sock.async_read_some(
        asio::buffer(sink),
        [self = shared_from_this()](std::error_code ec, std::size_t) {
          if (ec) {
            self->finish();
          } else {
            self->drain();
          }
        });
  }
  void finish() {
    std::error_code ig;
    timer.cancel();
    sock.close(ig);
  }
};

// Refusals in progress at once; more are closed without a reply.
constexpr std::size_t kMaxPendingRefusals = 16;

}  // namespace

void Node::Impl::refuse(tcp::socket s) {
  std::uint64_t k = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    k = ++st.rejected_connections;
  }
  const std::string why = "node at its connection limit (max_connections " +
                          std::to_string(opt.max_connections) +
                          "); try again later";
  // Logged at 1, 2, 4, ... refusals: a flood must not flood the log.
  if ((k & (k - 1)) == 0) {
    std::error_code ig;
    const auto ep = s.remote_endpoint(ig);
    this->log("refusing a connection from " +
              (ig ? std::string("?") : ep.address().to_string()) + ": " + why +
              " (" + std::to_string(k) + " refused so far)");
  }
  if (pending_refusals >= kMaxPendingRefusals) {
    std::error_code ig;
    s.close(ig);
    return;
  }
  tp::Response r;
  r.code = static_cast<std::uint8_t>(Code::kResourceExhausted);
  r.text = why;
  auto refusal = std::make_shared<Refusal>(
      std::move(s),
      tp::seal_packet(tp::PacketType::kResponse, 0, tp::encode_response(r),
                      nullptr, tp::Direction::kFromAcceptor),
      &pending_refusals);
  refusal->start(opt.handshake_timeout_ms);
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

}  // namespace atomik
