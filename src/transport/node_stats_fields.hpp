// SPDX-License-Identifier: Apache-2.0
// The one list of NodeStats counters by name: the JSON status, the text
// status and docs/metrics.md's generic counters follow it, so a new counter
// is one line here (and one in NodeStats).
#pragma once

#include <cstdint>

#include "atomik/node.hpp"

namespace atomik::transport::detail {

// Calls f(name, value) for every NodeStats counter, in NodeStats order.
template <typename F>
void for_each_node_stat(const NodeStats& s, F&& f) {
  f("packets_in", s.packets_in);
  f("packets_out", s.packets_out);
  f("deltas_local", s.deltas_local);
  f("deltas_applied", s.deltas_applied);
  f("deltas_duplicate", s.deltas_duplicate);
  f("frames_gap", s.frames_gap);
  f("rejected_bad_header", s.rejected_bad_header);
  f("rejected_oversized", s.rejected_oversized);
  f("rejected_bad_mac", s.rejected_bad_mac);
  f("rejected_replay", s.rejected_replay);
  f("rejected_malformed", s.rejected_malformed);
  f("rejected_truncated", s.rejected_truncated);
  f("rejected_connections", s.rejected_connections);
  f("idle_disconnects", s.idle_disconnects);
  f("handshake_failures", s.handshake_failures);
  f("slow_peer_skips", s.slow_peer_skips);
  f("slow_peer_disconnects", s.slow_peer_disconnects);
  f("state_transfers_needed", s.state_transfers_needed);
  f("state_transfers_sent", s.state_transfers_sent);
  f("state_transfers_installed", s.state_transfers_installed);
  f("state_transfers_rejected", s.state_transfers_rejected);
  f("syncs_sent", s.syncs_sent);
  f("syncs_received", s.syncs_received);
  f("connects", s.connects);
  f("udp_datagrams_in", s.udp_datagrams_in);
  f("origins_refused", s.origins_refused);
  f("divergences", s.divergences);
  f("own_recovered", s.own_recovered);
  f("own_conflicts", s.own_conflicts);
  f("conflicts", s.conflicts);
  f("incarnations", s.incarnations);
  f("repairs_sent", s.repairs_sent);
  f("repairs_installed", s.repairs_installed);
}

}  // namespace atomik::transport::detail
