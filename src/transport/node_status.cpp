// SPDX-License-Identifier: Apache-2.0
// A Node's status: NodeStatus as JSON and as text (`atomik node status`),
// and the snapshot of counters and peers behind it.
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <system_error>

#include "transport/node_impl.hpp"
#include "transport/node_stats_fields.hpp"

namespace atomik {

// Members keep the order they are added in (origin first), as before.
using Json = nlohmann::ordered_json;

std::string NodeStatus::to_json() const {
  Json j;
  j["origin"] = codec::hex64(origin);
  j["listen"] = listen;
  j["digest"] = digest.to_hex();
  Json vv = Json::object();
  for (const auto& [org, m] : version_vector.entries()) {
    vv[codec::hex64(org)] = m;
  }
  j["version_vector"] = std::move(vv);
  Json ps = Json::array();
  for (const PeerStatus& p : peers) {
    ps.push_back({{"address", p.address},
                  {"outgoing", p.outgoing},
                  {"connected", p.connected},
                  {"origin", codec::hex64(p.origin)},
                  {"lag", p.lag},
                  {"queued_bytes", p.queued_bytes}});
  }
  j["peers"] = std::move(ps);
  Json st = Json::object();
  transport::detail::for_each_node_stat(
      stats, [&](const char* name, std::uint64_t v) { st[name] = v; });
  j["stats"] = std::move(st);
  j["origins"] = origins;
  j["wal"] = {{"bytes_on_disk", wal_bytes},
              {"bytes_written", wal.bytes},
              {"records", wal.records},
              {"syncs", wal.syncs},
              {"sync_seconds", wal.sync_time.sum_seconds},
              {"appended_lsn", wal.appended_lsn},
              {"durable_lsn", wal.durable_lsn}};
  j["own_seq"] = {{"applied", own_applied}, {"durable", own_durable}};
  j["writes_held"] = writes_held;
  j["table_error"] = table_error;
  // An extra value that is not JSON (a hook's bug) is kept as a string, so
  // the object stays valid and the value visible.
  for (const auto& [k, v] : extra) {
    Json x = Json::parse(v, nullptr, /*allow_exceptions=*/false);
    j[k] = x.is_discarded() ? Json(v) : std::move(x);
  }
  return j.dump();
}

std::string NodeStatus::to_text() const {
  std::ostringstream o;
  o << "origin  " << codec::hex64(origin) << "\nlisten  " << listen
    << "\ndigest  " << digest.to_hex() << "\nversion vector";
  for (const auto& [org, m] : version_vector.entries()) {
    o << "\n  " << codec::hex64(org) << (org == origin ? " (self)" : "") << "  "
      << m;
  }
  o << "\npeers";
  if (peers.empty()) o << " (none)";
  for (const PeerStatus& p : peers) {
    o << "\n  " << p.address << (p.outgoing ? " (outgoing)" : " (incoming)")
      << (p.connected ? " connected" : " disconnected") << "  origin "
      << codec::hex64(p.origin) << "  lag " << p.lag << "  queued "
      << p.queued_bytes << " B";
  }
  o << "\norigins  " << origins << "\nwal  " << wal_bytes << " B on disk, "
    << wal.syncs << " syncs";
  o << "\nown seq  applied " << own_applied << ", durable " << own_durable;
  const std::string why = health();
  o << "\nhealth  " << (why.empty() ? "ok" : why);
  o << "\nstats";
  transport::detail::for_each_node_stat(stats,
                                        [&](const char* name, std::uint64_t v) {
                                          if (v != 0) {
                                            o << "\n  " << name << "  " << v;
                                          }
                                        });
  for (const auto& [k, v] : extra) o << "\n" << k << "  " << v;
  o << "\n";
  return o.str();
}

std::string NodeStatus::health() const {
  if (!table_error.empty()) return "table failed: " + table_error;
  if (writes_held) {
    return "local writes held after a restart: waiting for the peers' marks "
           "of own origin " +
           codec::hex64(origin) + " (or a new incarnation)";
  }
  return "";
}

namespace {

// The table's error once it failed, else "": a failed PersistentTable
// returns its error from every read, and address 0 is in range for every
// table shape, so read(0) is the probe (O(1), no I/O).
std::string table_error(const Replica& r) {
  auto v = r.read(0);
  return v.ok() ? std::string() : v.status().to_string();
}

// The storage figures: origins, WAL writer counters and the WAL's size on
// disk (one directory listing; a listing error leaves wal_bytes at what
// could be read, the table itself reports I/O failures).
void add_storage_status(const Replica& r, NodeStatus* s) {
  s->origins = r.stats().origins;
  s->wal = r.wal_stats();
  auto segs = list_wal_segments(r.dir());
  if (!segs.ok()) return;
  for (const std::uint64_t n : *segs) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(
        std::filesystem::path(r.dir()) / wal_segment_name(n), ec);
    if (!ec) s->wal_bytes += size;
  }
}

}  // namespace

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
    s.own_applied = replica->mark(s.origin);
    s.own_durable = durable_seq;
    s.writes_held = writes_held;
  }
  add_storage_status(*replica, &s);
  s.table_error = table_error(*replica);
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
  add_storage_status(*m.replica, &s);
  s.table_error = table_error(*m.replica);
  std::lock_guard<std::mutex> lk(m.mu);
  s.stats = m.st;
  m.add_replica_stats(&s.stats);
  s.own_applied = m.replica->mark(s.origin);
  s.own_durable = m.durable_seq;
  s.writes_held = m.writes_held;
  return s;
}

}  // namespace atomik
