// SPDX-License-Identifier: Apache-2.0
// NodeStatus::to_prometheus: the node's figures in the Prometheus text
// exposition format, built from the same NodeStatus as to_json/to_text.
// docs/metrics.md lists every family, its labels and its meaning.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "atomik/node.hpp"
#include "transport/node_impl.hpp"
#include "transport/prometheus_text.hpp"

namespace atomik {

namespace {

// One series per peer label: an outgoing peer by its configured address
// (bounded by the configured peers), an incoming one by its origin (bounded
// by the origin limit). Two connections with one label (an incoming
// connection replaced by a new one) are merged: connected if either is,
// the larger lag.
struct PeerSeries {
  bool connected = false;
  std::uint64_t lag = 0;
  std::uint64_t queued_bytes = 0;
};

std::map<std::string, PeerSeries> peer_series(const NodeStatus& s) {
  std::map<std::string, PeerSeries> out;
  for (const PeerStatus& p : s.peers) {
    PeerSeries& x = out[p.outgoing ? p.address : codec::hex64(p.origin)];
    x.connected = x.connected || p.connected;
    x.lag = std::max(x.lag, p.lag);
    x.queued_bytes += p.queued_bytes;
  }
  return out;
}

}  // namespace

std::string NodeStatus::to_prometheus() const {
  transport::detail::PromWriter w;
  const NodeStats& s = stats;
  w.single("atomik_deltas_local_total", "counter",
           "Own deltas acknowledged (durable per the sync policy).",
           s.deltas_local);
  w.single("atomik_deltas_applied_total", "counter",
           "Remote deltas applied for the first time.", s.deltas_applied);
  w.single("atomik_deltas_duplicate_total", "counter",
           "Remote deltas received again and skipped (already applied).",
           s.deltas_duplicate);
  w.family("atomik_deltas_refused_total", "counter",
           "Input refused, by reason: a frame (gap), a run of deltas "
           "(origin_limit) or a packet (the other reasons).");
  const char* const reason = "reason";
  w.sample("atomik_deltas_refused_total", reason, "gap", s.frames_gap);
  w.sample("atomik_deltas_refused_total", reason, "origin_limit",
           s.origins_refused);
  w.sample("atomik_deltas_refused_total", reason, "bad_header",
           s.rejected_bad_header);
  w.sample("atomik_deltas_refused_total", reason, "oversized",
           s.rejected_oversized);
  w.sample("atomik_deltas_refused_total", reason, "bad_mac",
           s.rejected_bad_mac);
  w.sample("atomik_deltas_refused_total", reason, "replay", s.rejected_replay);
  w.sample("atomik_deltas_refused_total", reason, "malformed",
           s.rejected_malformed);
  w.sample("atomik_deltas_refused_total", reason, "truncated",
           s.rejected_truncated);

  const auto ps = peer_series(*this);
  w.family("atomik_peer_connected", "gauge",
           "1 while the peer's handshake is complete, else 0.");
  for (const auto& [peer, x] : ps) {
    w.sample("atomik_peer_connected", "peer", peer, x.connected ? 1 : 0);
  }
  w.family("atomik_peer_lag_deltas", "gauge",
           "Deltas this node holds that the peer's last version vector "
           "lacks.");
  for (const auto& [peer, x] : ps) {
    w.sample("atomik_peer_lag_deltas", "peer", peer, x.lag);
  }
  w.family("atomik_peer_queued_bytes", "gauge",
           "Bytes queued for sending to the peer.");
  for (const auto& [peer, x] : ps) {
    w.sample("atomik_peer_queued_bytes", "peer", peer, x.queued_bytes);
  }

  w.family("atomik_origin_applied_seq", "gauge",
           "Highest seq of each origin applied here, without gaps (the "
           "version vector).");
  for (const auto& [org, m] : version_vector.entries()) {
    w.sample("atomik_origin_applied_seq", "origin", codec::hex64(org), m);
  }
  w.family("atomik_own_seq", "gauge",
           "This node's own seq: applied (logged, visible to reads) and "
           "durable (acknowledged per the sync policy, advertised).");
  w.sample("atomik_own_seq", "state", "applied", own_applied);
  w.sample("atomik_own_seq", "state", "durable", own_durable);
  w.single("atomik_origins", "gauge", "Distinct delta origins in the table.",
           origins);

  w.family("atomik_wal_sync_seconds", "histogram",
           "Duration of the fdatasyncs of WAL segment data.");
  std::uint64_t cumulative = 0;
  const auto& b = WalSyncHistogram::kBounds;
  for (std::size_t i = 0; i < b.size(); ++i) {
    cumulative += wal.sync_time.counts[i];
    w.sample("atomik_wal_sync_seconds_bucket", "le",
             transport::detail::PromWriter::number(b[i]), cumulative);
  }
  cumulative += wal.sync_time.counts.back();
  w.sample("atomik_wal_sync_seconds_bucket", "le", "+Inf", cumulative);
  w.sample("atomik_wal_sync_seconds_sum", wal.sync_time.sum_seconds);
  w.sample("atomik_wal_sync_seconds_count", cumulative);
  w.single("atomik_wal_bytes", "gauge", "Bytes of WAL segments on disk.",
           wal_bytes);
  w.family("atomik_wal_lsn", "gauge",
           "WAL position since the writer opened: last appended and last "
           "acknowledged.");
  w.sample("atomik_wal_lsn", "state", "appended", wal.appended_lsn);
  w.sample("atomik_wal_lsn", "state", "durable", wal.durable_lsn);
  w.single("atomik_wal_written_bytes_total", "counter",
           "Bytes written to the WAL since the table opened.", wal.bytes);

  w.family("atomik_state_transfers_total", "counter",
           "Whole-state transfers (SNAPSHOT) sent to peers and installed "
           "from them.");
  w.sample("atomik_state_transfers_total", "direction", "sent",
           s.state_transfers_sent);
  w.sample("atomik_state_transfers_total", "direction", "received",
           s.state_transfers_installed);
  w.single("atomik_state_transfers_refused_total", "counter",
           "SNAPSHOTs refused (checksum, body, digest); each is logged.",
           s.state_transfers_rejected);
  w.single("atomik_divergence_total", "counter",
           "Peers seen twice with this node's version vector but another "
           "digest.",
           s.divergences);
  w.single("atomik_own_conflicts_total", "counter",
           "Own seqs a peer holds other contents for.", s.own_conflicts);
  w.single("atomik_conflicts_total", "counter",
           "(origin, seq)s a peer holds other contents for (divergence "
           "evidence).",
           s.conflicts);
  w.family("atomik_divergence_repairs_total", "counter",
           "Divergence repairs: whole states sent on request, and installed.");
  w.sample("atomik_divergence_repairs_total", "direction", "sent",
           s.repairs_sent);
  w.sample("atomik_divergence_repairs_total", "direction", "installed",
           s.repairs_installed);
  w.single("atomik_incarnations_total", "counter",
           "New origin ids this node started (no peer answered after a "
           "restart).",
           s.incarnations);
  w.single("atomik_table_failed", "gauge",
           "1 once the table failed (I/O error): reads and writes refused "
           "until restart.",
           std::uint64_t{table_error.empty() ? 0U : 1U});
  w.single("atomik_writes_held", "gauge",
           "1 while local writes wait for the peers' marks after a restart.",
           std::uint64_t{writes_held ? 1U : 0U});
  w.single("atomik_connects_total", "counter", "Handshakes completed.",
           s.connects);
  return std::move(w.str());
}

}  // namespace atomik
