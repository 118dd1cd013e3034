// SPDX-License-Identifier: Apache-2.0
// RedisReplicator::status_json: connection, counters and shard positions
// as one JSON object.
#include <mutex>
#include <sstream>
#include <string>

#include "transport/redis_replicator_impl.hpp"

namespace atomik {

std::string RedisReplicator::Impl::status_json() const {
  const std::uint64_t own = own_seq();
  std::lock_guard<std::mutex> lock(mu);
  const RedisStats& s = stats;
  const std::uint64_t low = std::min(min_pub_seq_locked(), own);
  std::ostringstream o;
  o << R"({"connected":)" << (connected_locked() ? "true" : "false")
    << R"(,"endpoint":")" << link_cfg.endpoint.host << ":"
    << link_cfg.endpoint.port << "/" << link_cfg.endpoint.db << R"(","table":")"
    << opt.table << R"(","shards":)" << shards << R"(,"unpublished":)"
    << (node ? own - low : outbox.size()) << R"(,"max_unpublished":)"
    << opt.max_unpublished << R"(,"stats":{"deltas_local":)" << s.deltas_local
    << R"(,"deltas_refused":)" << s.deltas_refused << R"(,"entries_published":)"
    << s.entries_published << R"(,"deltas_published":)" << s.deltas_published
    << R"(,"entries_read":)" << s.entries_read << R"(,"entries_own":)"
    << s.entries_own << R"(,"deltas_applied":)" << s.deltas_applied
    << R"(,"deltas_duplicate":)" << s.deltas_duplicate
    << R"(,"entries_malformed":)" << s.entries_malformed << R"(,"frames_gap":)"
    << s.frames_gap << R"(,"connects":)" << s.connects
    << R"(,"connection_errors":)" << s.connection_errors
    << R"(,"snapshots_published":)" << s.snapshots_published
    << R"(,"snapshots_refused":)" << s.snapshots_refused
    << R"(,"bootstrapped":)" << s.bootstrapped << R"(,"state_writes":)"
    << s.state_writes << R"(},"positions":[)";
  for (std::uint32_t k = 0; k < shards; ++k) {
    o << (k == 0 ? "" : ",") << R"({"shard":)" << k << R"(,"read":")"
      << state[k].read.to_string() << R"(","published_seq":)"
      << state[k].pub_seq << "}";
  }
  o << "]}";
  return o.str();
}

}  // namespace atomik
