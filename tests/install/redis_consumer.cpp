// SPDX-License-Identifier: Apache-2.0
// Links atomik::redis from the installed package (no server needed).
#include <atomik/redis.hpp>

int main() {
  auto ep = atomik::parse_redis_url("redis://u:p@10.0.0.1:6380/3");
  if (!ep.ok() || ep->host != "10.0.0.1" || ep->port != 6380 || ep->db != 3)
    return 1;
  return atomik::redis_stream_key("t", 2) == "t:{t-shard-2}:deltas" ? 0 : 2;
}
