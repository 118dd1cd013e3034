// SPDX-License-Identifier: Apache-2.0
// RedisReplicator::status and RedisStatus as JSON and Prometheus text:
// connection, counters and shard positions, taken under the lock once.
#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "transport/prometheus_text.hpp"
#include "transport/redis_replicator_impl.hpp"

namespace atomik {

RedisStatus RedisReplicator::Impl::status() const {
  const OwnMark own = own_mark();
  std::lock_guard<std::mutex> lock(mu);
  RedisStatus r;
  r.connected = connected_locked();
  r.endpoint = link_cfg.endpoint.host + ":" +
               std::to_string(link_cfg.endpoint.port) + "/" +
               std::to_string(link_cfg.endpoint.db);
  r.table = opt.table;
  r.shards = shards;
  r.unpublished = node ? unpublished_locked(own) : outbox.size();
  r.max_unpublished = opt.max_unpublished;
  r.stats = stats;
  for (std::uint32_t k = 0; k < shards; ++k) {
    r.positions.push_back(
        {k, state[k].read.to_string(), state[k].pub_seq, state[k].pub_vseq});
  }
  return r;
}

std::string RedisStatus::to_json() const {
  using Json = nlohmann::ordered_json;  // members in the order added
  const RedisStats& s = stats;
  Json j;
  j["connected"] = connected;
  j["endpoint"] = endpoint;
  j["table"] = table;
  j["shards"] = shards;
  j["unpublished"] = unpublished;
  j["max_unpublished"] = max_unpublished;
  j["stats"] = {{"deltas_local", s.deltas_local},
                {"deltas_refused", s.deltas_refused},
                {"entries_published", s.entries_published},
                {"deltas_published", s.deltas_published},
                {"entries_read", s.entries_read},
                {"entries_own", s.entries_own},
                {"deltas_applied", s.deltas_applied},
                {"deltas_duplicate", s.deltas_duplicate},
                {"entries_malformed", s.entries_malformed},
                {"frames_gap", s.frames_gap},
                {"connects", s.connects},
                {"connection_errors", s.connection_errors},
                {"snapshots_published", s.snapshots_published},
                {"snapshots_refused", s.snapshots_refused},
                {"bootstrapped", s.bootstrapped},
                {"state_writes", s.state_writes}};
  Json ps = Json::array();
  for (const RedisShardPosition& p : positions) {
    ps.push_back({{"shard", p.shard},
                  {"read", p.read_id},
                  {"published_seq", p.published_seq}});
  }
  j["positions"] = std::move(ps);
  return j.dump();
}

std::string RedisStatus::to_prometheus() const {
  transport::detail::PromWriter w;
  w.single("atomik_redis_connected", "gauge",
           "1 while every Redis link's last command succeeded, else 0.",
           std::uint64_t{connected ? 1U : 0U});
  w.single("atomik_redis_unpublished", "gauge",
           "Own deltas acknowledged but not yet published to Redis.",
           unpublished);
  w.single("atomik_redis_deltas_published_total", "counter",
           "Own deltas published to Redis.", stats.deltas_published);
  w.single("atomik_redis_deltas_applied_total", "counter",
           "Remote deltas read from Redis and applied for the first time.",
           stats.deltas_applied);
  w.single("atomik_redis_entries_malformed_total", "counter",
           "Stream entries skipped: bad field or frame (each logged).",
           stats.entries_malformed);
  w.single("atomik_redis_connection_errors_total", "counter",
           "Failed Redis connects and commands.", stats.connection_errors);
  return std::move(w.str());
}

}  // namespace atomik
