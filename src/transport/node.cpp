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
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "atomik/checkpoint.hpp"
#include "atomik/file.hpp"
#include "atomik/replica.hpp"
#include "codec/byte_order.hpp"
#include "transport/node_impl.hpp"
#include "transport/packet.hpp"
#include "transport/resolve.hpp"

namespace atomik {

namespace {

// Reused record buffers (a received frame's, a flush's) give their room
// back above this many records (2 MiB) before the next use, as the
// Replica's scratch does: a burst does not pin its peak.
constexpr std::size_t kKeepRecords = std::size_t{1} << 17;

void reuse(std::vector<FrameRecord>& v, std::size_t next) {
  if (v.capacity() > kKeepRecords && next <= kKeepRecords) {
    std::vector<FrameRecord>().swap(v);
  }
}

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

// One message per bad option, naming it (the first found is returned).
Status check_options(const NodeOptions& o) {
  auto bad = [](const std::string& what) {
    return Status::invalid_argument("Node::start", what);
  };
  if (o.max_packet_bytes < kFrameHeaderSize + kFrameRecordSize ||
      o.max_packet_bytes > kFrameMaxLimit) {
    return bad("max_packet_bytes " + std::to_string(o.max_packet_bytes) +
               " outside [" +
               std::to_string(kFrameHeaderSize + kFrameRecordSize) + ", " +
               std::to_string(kFrameMaxLimit) + "]");
  }
  if (o.max_frame_records == 0) return bad("max_frame_records must be > 0");
  if (o.sync_interval_ms == 0) return bad("sync_interval_ms must be > 0");
  if (o.clients_only && !o.peers.empty()) {
    return bad("peers must be empty with clients_only");
  }
  if (o.incarnation_timeout_ms == 0) {
    return bad("incarnation_timeout_ms must be > 0");
  }
  if (o.reconnect_min_ms == 0) return bad("reconnect_min_ms must be > 0");
  if (o.reconnect_max_ms < o.reconnect_min_ms) {
    return bad("reconnect_max_ms " + std::to_string(o.reconnect_max_ms) +
               " < reconnect_min_ms " + std::to_string(o.reconnect_min_ms));
  }
  if (o.max_snapshot_bytes > UINT32_MAX) {
    return bad("max_snapshot_bytes " + std::to_string(o.max_snapshot_bytes) +
               " > 4 GiB - 1 (a packet body length is 32 bits)");
  }
  if (o.max_connections == 0) return bad("max_connections must be > 0");
  // Peers send a SYNC every sync_interval_ms: a shorter idle timeout would
  // close every healthy peer link.
  if (o.idle_timeout_ms != 0 && o.idle_timeout_ms <= o.sync_interval_ms) {
    return bad("idle_timeout_ms " + std::to_string(o.idle_timeout_ms) +
               " must exceed sync_interval_ms " +
               std::to_string(o.sync_interval_ms) + " (or be 0: no timeout)");
  }
  return Status();
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
  // A directory opens as a stream whose first read throws: refuse it first.
  std::error_code fec;
  if (std::filesystem::is_directory(path, fec)) {
    return Status::invalid_argument(
        "key file", "'" + path + "' is a directory, expected a key file");
  }
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
  // NodeOptions::log = false silences the Replica too.
  ro.log = [this](const std::string& line) {
    if (logging(LogLevel::kWarn)) {
      atomik::log(LogLevel::kWarn, "replica", who() + ": " + line);
    }
  };
  // A table created by this open has an origin nobody has seen: no gate.
  FileSystem* fs =
      opt.storage.fs != nullptr ? opt.storage.fs : &FileSystem::posix();
  const bool existed =
      fs->exists(opt.data_dir + "/" + std::string(kCheckpointFileName));
  auto r = Replica::open(opt.data_dir, ro);
  if (!r.ok()) return r.status();
  replica = std::move(*r);
  self_origin = replica->origin();
  opened_origin = self_origin;
  durable_seq = replica->mark(self_origin);
  unsent_base = durable_seq + 1;
  writes_held = existed;
  return Status();
}

Status Node::Impl::local_batch(std::span<const FrameRecord> recs) {
  if (recs.empty()) return Status();
  Seq last = 0;
  {
    std::unique_lock<std::mutex> lk(mu);
    if (writes_held) {
      // The network thread opens the gate: it must not wait for itself.
      if (io.get_executor().running_in_this_thread()) {
        return Status::unavailable(
            "Node", "local writes wait for the peers' marks after a restart");
      }
      gate_cv.wait(lk, [this] { return !writes_held || stopped; });
    }
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

bool Node::Impl::apply_frame(const FrameView& f, std::uint64_t* conflicts) {
  auto r = apply_frame_checked(f);
  if (r.ok() && conflicts != nullptr) *conflicts += r->conflicts;
  if (!r.ok()) {
    // kFailedPrecondition: stopping; nothing to report. kResourceExhausted
    // (max_origins): the Replica logs and counts it.
    if (r.status().code() != Code::kFailedPrecondition &&
        r.status().code() != Code::kResourceExhausted) {
      log("applying a frame of origin " + codec::hex64(f.header().origin) +
          ": " + r.status().to_string());
    }
    return true;
  }
  return !r->gap;
}

Result<NodeApplyResult> Node::Impl::apply_frame_checked(const FrameView& f) {
  const OriginId origin = f.header().origin;
  NodeApplyResult out;
  // Under mu, so the counters change with the state they describe. The
  // records are decoded under it too, into the kept buffer: a few percent
  // of the apply that follows under the same lock.
  std::lock_guard<std::mutex> lk(mu);
  if (stopped) return Status::failed_precondition("Node", "stopped");
  std::vector<FrameRecord>& recs = frame_scratch;
  reuse(recs, f.count());
  recs.resize(f.count());
  for (std::size_t i = 0; i < f.count(); ++i) recs[i] = f.record(i);
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
  out.conflicts = r->conflicts;
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
    // Send the whole state instead (retried next sync when not possible).
    *snapshot = snapshot_now();
    if (*snapshot) {
      std::lock_guard<std::mutex> lk(mu);
      ++st.state_transfers_sent;
      return out;
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

std::vector<std::shared_ptr<const std::vector<std::byte>>>
Node::Impl::own_frames() {
  std::vector<std::shared_ptr<const std::vector<std::byte>>> out;
  Seq durable = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    durable = durable_seq;
  }
  const OriginId self = self_origin;
  // A peer that knows every origin as we do but none of our own deltas.
  VersionVector others;
  const VersionVector mine = replica->version_vector();
  for (const auto& [o, m] : mine.entries()) {
    if (o != self) others.set(o, m);
  }
  const CatchUp c = replica->missing(others, durable);
  std::vector<FrameRecord> run;
  Seq base = 0;
  for (const StampedDelta& d : c.deltas) {
    if (d.origin != self || d.seq > durable) continue;
    if (run.empty()) base = d.seq;
    run.push_back(FrameRecord{d.addr, d.delta});
  }
  if (!run.empty()) {
    append_frames(self, base, run, opt.max_frame_records, opt.max_packet_bytes,
                  &out);
  }
  return out;
}

std::shared_ptr<const std::vector<std::byte>> Node::Impl::snapshot_now() {
  // Under mu no local batch enters the table; own deltas already in it but
  // not yet durable are made durable first (one sync), so the state sent
  // never holds what the disk does not, whatever local writers are doing
  // (waiting for a moment without them could wait forever).
  auto now = [this]() -> Result<ReplicaState> {
    std::lock_guard<std::mutex> lk(mu);
    const Seq own = replica->mark(self_origin);
    if (own > durable_seq) {
      if (opt.storage.sync != SyncPolicy::kNone) {
        ATOMIK_RETURN_IF_ERROR(replica->sync());
      }
      durable_seq = own;
    }
    return replica->state();
  }();
  if (!now.ok()) {
    log("state transfer not sent: " + now.status().to_string());
    return nullptr;
  }
  tp::SnapshotBody body;
  body.digest = now->digest;
  body.states = std::move(now->states);
  for (const auto& [o, m] : now->version_vector.entries()) {
    body.marks.emplace_back(o, m);
  }
  const std::uint64_t size =
      tp::snapshot_body_size(body.states.size(), body.marks.size());
  if (size > opt.max_snapshot_bytes) {
    log("state transfer of " + std::to_string(size) +
        " bytes exceeds max_snapshot_bytes; not sent");
    return nullptr;
  }
  return std::make_shared<const std::vector<std::byte>>(
      tp::encode_snapshot(body));
}

bool Node::Impl::install_snapshot(const tp::SnapshotBody& body, bool repair) {
  Result<bool> r = false;
  {
    // Under mu, so the counter changes with the state it describes.
    std::lock_guard<std::mutex> lk(mu);
    r = replica->install(body.states, body.marks, body.digest, repair);
    if (r.ok() && *r) ++st.state_transfers_installed;
    if (r.ok() && *r && repair) ++st.repairs_installed;
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
  std::vector<FrameRecord>& recs = flushing;  // own deltas now durable
  Seq first = 0;                              // recs' first seq
  {
    std::lock_guard<std::mutex> lk(mu);
    if (unsent.empty() || durable_seq < unsent_base) return;
    const std::size_t n = static_cast<std::size_t>(
        std::min<Seq>(durable_seq - unsent_base + 1, unsent.size()));
    reuse(recs, n);
    if (n == unsent.size()) {
      recs.swap(unsent);  // the usual case: both buffers keep their pages
      unsent.clear();
    } else {
      recs.assign(unsent.begin(), unsent.begin() + static_cast<long>(n));
      unsent.erase(unsent.begin(), unsent.begin() + static_cast<long>(n));
    }
    first = unsent_base;
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
    // A peer that fell behind gets the rest from one catch-up once its
    // queue drains (NodeConnection::lagging), not as frames it would drop
    // as gaps; checked per frame, so one large flush cannot push a healthy
    // peer over max_queued_bytes (a disconnect).
    for (const auto& f : frames) {
      if (c->lagging || c->congested()) {
        c->lagging = true;
        std::lock_guard<std::mutex> lk(mu);
        ++st.slow_peer_skips;
        break;
      }
      c->send(tp::PacketType::kDeltas, f);
    }
  }
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
  ATOMIK_RETURN_IF_ERROR(check_options(options));
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
  if (m.writes_held && m.peers.empty()) {
    // Nobody to ask for our marks: never reuse a seq another node may hold.
    m.start_incarnation("restarted with no peer configured");
  } else if (m.writes_held) {
    m.log(
        "restarted: local writes wait until every peer reports its mark "
        "for own origin " +
        codec::hex64(m.self_origin) + " (at most " +
        std::to_string(options.incarnation_timeout_ms) + " ms)");
    m.gate_timer.expires_after(
        std::chrono::milliseconds(options.incarnation_timeout_ms));
    m.gate_timer.async_wait([&m](std::error_code e) {
      if (!e) m.on_gate_timeout();
    });
  }
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
    m.gate_cv.notify_all();
    asio::post(m.io, [&m] {
      m.gate_timer.cancel();
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

Result<std::vector<FrameRecord>> Node::retained_since(OriginId origin,
                                                      Seq after) const {
  return impl_->replica->retained_since(origin, after);
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
OriginId Node::opened_origin() const { return impl_->opened_origin; }
std::string Node::listen_address() const { return impl_->listen_addr; }
std::uint16_t Node::port() const { return impl_->port; }

}  // namespace atomik
