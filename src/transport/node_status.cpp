// SPDX-License-Identifier: Apache-2.0
// A Node's status: NodeStatus as JSON and as text (`atomik node status`),
// and the snapshot of counters and peers behind it.
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

#include "transport/node_impl.hpp"

namespace atomik {

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
    << ",\"idle_disconnects\":" << s.idle_disconnects
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

}  // namespace atomik
