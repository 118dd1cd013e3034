// SPDX-License-Identifier: Apache-2.0
// `atomik node`: runs a replicating node until SIGINT/SIGTERM.
// Prints "listening on HOST:PORT" (the chosen port when 0 was asked),
// "origin 0x..." and, with --metrics, "metrics on HOST:PORT" on stdout,
// flushed, so scripts and tests can read them.
// With --redis its deltas also go through Redis Streams
// (RedisReplicator::start_node); it keeps serving clients and TCP peers.
#include "atomik/node.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "atomik/log.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/key_file.hpp"
#include "cli/logging.hpp"
#include "cli/metrics_server.hpp"
#ifdef ATOMIK_HAVE_REDIS
#include "atomik/redis.hpp"
#endif

namespace atomik::cli {
namespace {

struct NodeArgs {
  std::string data = kDefaultDataDir;
  std::string listen = kDefaultNodeAddress;
  std::vector<std::string> peers;
  std::string key_file;
  bool insecure_no_key = false;
  std::uint32_t idle_timeout_s = 60;
  std::uint32_t max_connections = 64;
  LogArgs log;
  bool udp = false;
  std::uint32_t sync_ms = 1000;
  std::uint32_t incarnation_timeout_ms = 5000;
  std::uint64_t max_origins = kDefaultMaxOrigins;
  std::string sync_policy = "every";
  // The table's group and word width (fixed when the table is created).
  std::string group = "xor";
  std::uint32_t width = 64;
  bool quiet = false;
  // --metrics HOST:PORT: empty means no HTTP endpoint.
  std::string metrics;
  // --redis: empty means TCP/UDP only.
  std::string redis_url;
  std::string redis_user;
  std::string redis_password_file;
  std::string redis_table = "atomik";
  std::uint32_t redis_shards = 1;
  std::vector<std::uint32_t> redis_hold;
  bool redis_cluster = false;
  std::uint64_t redis_max_unpublished = std::uint64_t{16} << 20;
  std::uint32_t redis_snapshot_every_s = 0;
};

// With --metrics: starts the endpoint and prints "metrics on HOST:PORT".
// Returns false (after printing why) when it cannot bind; *out stays empty
// without --metrics.
bool start_metrics(const NodeArgs& a, MetricsServer::Render render,
                   MetricsServer::Health health,
                   std::unique_ptr<MetricsServer>* out) {
  if (a.metrics.empty()) return true;
  auto m =
      MetricsServer::start(a.metrics, std::move(render), std::move(health));
  if (!m.ok()) {
    std::fprintf(stderr, "atomik node: %s\n", m.status().to_string().c_str());
    return false;
  }
  *out = std::move(*m);
  std::printf("metrics on %s\n", (*out)->address().c_str());
  return true;
}

// Runs `node` until SIGINT/SIGTERM (blocked in `set`), then stops the
// metrics endpoint (no scrape of a stopping node) and the node.
int wait_and_stop(Node& node, std::unique_ptr<MetricsServer> metrics,
                  sigset_t* set) {
  int sig = 0;
  sigwait(set, &sig);
  metrics.reset();
  const Status s = node.stop();
  if (!s.ok()) {
    std::fprintf(stderr, "atomik node: stop: %s\n",
                 redact_secrets(s.to_string()).c_str());
    return 1;
  }
  return 0;
}

#ifdef ATOMIK_HAVE_REDIS
int run_redis_node_with(const NodeArgs& a, const NodeOptions& o,
                        sigset_t* set) {
  RedisOptions r;
  r.url = a.redis_url;
  r.user = a.redis_user;
  r.table = a.redis_table;
  r.shards = a.redis_shards;
  r.held_shards = a.redis_hold;
  r.cluster = a.redis_cluster;
  r.max_unpublished = a.redis_max_unpublished;
  r.log = !a.quiet;
  if (!a.redis_password_file.empty()) {
    std::ifstream f(a.redis_password_file);
    if (!f) {
      std::fprintf(stderr,
                   "atomik node: cannot read --redis-password-file %s\n",
                   a.redis_password_file.c_str());
      return 2;
    }
    std::getline(f, r.password);
    while (!r.password.empty() &&
           (r.password.back() == '\r' || r.password.back() == ' ')) {
      r.password.pop_back();
    }
  }
  auto started = RedisReplicator::start_node(o, r);
  if (!started.ok()) {
    std::fprintf(stderr, "atomik node: %s\n",
                 redact_secrets(started.status().to_string()).c_str());
    return started.status().is_invalid_argument() ? 2 : 1;
  }
  RedisReplicator& rep = **started;
  std::printf("listening on %s\norigin 0x%016llx\n",
              rep.node()->listen_address().c_str(),
              static_cast<unsigned long long>(rep.origin()));
  std::unique_ptr<MetricsServer> metrics;
  if (!start_metrics(
          a,
          [&rep] {
            return rep.node()->status().to_prometheus() +
                   rep.status().to_prometheus();
          },
          [&rep] { return rep.node()->status().health(); }, &metrics)) {
    (void)rep.stop();
    return 1;
  }
  std::fflush(stdout);
  // --redis-snapshot-every-s: publish a snapshot, trim the streams below it.
  std::atomic<bool> done{false};
  std::thread snapshots;
  if (a.redis_snapshot_every_s != 0) {
    snapshots = std::thread([&] {
      auto next = std::chrono::steady_clock::now() +
                  std::chrono::seconds(a.redis_snapshot_every_s);
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (std::chrono::steady_clock::now() < next) continue;
        next += std::chrono::seconds(a.redis_snapshot_every_s);
        const Status st = rep.publish_snapshot(/*trim=*/true);
        if (!st.ok() && !a.quiet) {
          std::fprintf(stderr, "atomik node: snapshot: %s\n",
                       redact_secrets(st.to_string()).c_str());
        }
      }
    });
  }
  int sig = 0;
  sigwait(set, &sig);
  done = true;
  if (snapshots.joinable()) snapshots.join();
  metrics.reset();  // no scrape of a stopping replicator
  const Status s = rep.stop();
  if (!s.ok()) {
    std::fprintf(stderr, "atomik node: stop: %s\n",
                 redact_secrets(s.to_string()).c_str());
    return 1;
  }
  return 0;
}
#endif

int run_node(const NodeArgs& a) {
  install_logging(a.log);
  NodeOptions o;
  o.data_dir = a.data;
  o.listen = a.listen;
  o.peers = a.peers;
  o.udp = a.udp;
  o.sync_interval_ms = a.sync_ms;
  o.incarnation_timeout_ms = a.incarnation_timeout_ms;
  o.max_origins = a.max_origins;
  o.log = !a.quiet;
  // CLI11 checked both (IsMember, Range): usage errors exit 2 there.
  o.storage.group = parse_table_group(a.group).value_or(TableGroup::kXor);
  o.storage.word_bits = static_cast<std::uint8_t>(a.width);
  o.idle_timeout_ms = a.idle_timeout_s * 1000;
  o.max_connections = a.max_connections;
  if (a.sync_policy == "every") {
    o.storage.sync = SyncPolicy::kEveryRecord;
  } else if (a.sync_policy == "group") {
    o.storage.sync = SyncPolicy::kGroup;
  } else if (a.sync_policy == "none") {
    o.storage.sync = SyncPolicy::kNone;
  } else {
    std::fprintf(stderr, "atomik node: --sync must be every, group or none\n");
    return 2;
  }
  if (a.idle_timeout_s != 0 && o.idle_timeout_ms <= a.sync_ms) {
    std::fprintf(stderr,
                 "atomik node: --idle-timeout %u s must exceed --sync-ms %u "
                 "(peers are silent between syncs), or be 0\n",
                 a.idle_timeout_s, a.sync_ms);
    return 2;
  }
  if (!a.key_file.empty()) {
    auto k = read_key_file_checked(a.key_file);
    if (!k.ok()) {
      std::fprintf(stderr, "atomik node: %s\n",
                   redact_secrets(k.status().to_string()).c_str());
      return 1;
    }
    o.key = std::move(*k);
  } else {
    // Without a key anyone who reaches the port is a peer: refused beyond
    // loopback unless asked for, warned about in any case.
    auto hp = parse_host_port(a.listen);
    const std::string host = hp.ok() ? hp->first : a.listen;
    if (!is_loopback_host(host) && !a.insecure_no_key) {
      std::fprintf(stderr,
                   "atomik node: refusing to listen on %s without "
                   "--key-file: anyone who can reach it could read and "
                   "change the table (give --key-file, or --insecure-no-key "
                   "to accept that)\n",
                   a.listen.c_str());
      return 2;
    }
    if (!a.quiet) {
      atomik::log(LogLevel::kWarn, "cli",
                  "no --key-file: every process that can reach " + a.listen +
                      " can read and change this table");
    }
  }
  // Block the stop signals before any thread starts; sigwait below.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (!a.redis_url.empty()) {
#ifdef ATOMIK_HAVE_REDIS
    return run_redis_node_with(a, o, &set);
#else
    std::fprintf(stderr,
                 "atomik node: --redis: this atomik was built without "
                 "hiredis (apt-get install libhiredis-dev, rebuild)\n");
    return 2;
#endif
  }
  auto node = Node::start(o);
  if (!node.ok()) {
    std::fprintf(stderr, "atomik node: %s\n",
                 redact_secrets(node.status().to_string()).c_str());
    // A table of another group or width on disk is a data problem (1).
    return node.status().is_invalid_argument() ? 2 : 1;
  }
  std::printf("listening on %s\norigin 0x%016llx\n",
              (*node)->listen_address().c_str(),
              static_cast<unsigned long long>((*node)->origin()));
  Node& n = **node;
  std::unique_ptr<MetricsServer> metrics;
  if (!start_metrics(
          a, [&n] { return n.status().to_prometheus(); },
          [&n] { return n.status().health(); }, &metrics)) {
    (void)n.stop();
    return 1;
  }
  std::fflush(stdout);
  return wait_and_stop(n, std::move(metrics), &set);
}

}  // namespace

void add_node_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App* c = app.add_subcommand(
      "node",
      "Run a replicating node (TCP, optional UDP) until SIGINT/SIGTERM");
  c->add_option("--data", args->data, "Data directory of the table")
      ->check(non_empty())
      ->capture_default_str();
  c->add_option("--listen", args->listen,
                "HOST:PORT to listen on (port 0: pick one and print it)")
      ->check(host_port(true));
  c->add_option("--peer", args->peers, "HOST:PORT of a peer (repeatable)")
      ->check(host_port(false));
  c->add_option("--key-file", args->key_file,
                "Shared key: 32 raw bytes or 64 hex digits")
      ->check(non_empty());
  c->add_flag("--insecure-no-key", args->insecure_no_key,
              "Allow listening beyond loopback without --key-file");
  c->add_option("--idle-timeout", args->idle_timeout_s,
                "Close a connection silent for this many seconds after its "
                "handshake (0: never)")
      ->transform(number(86400))
      ->capture_default_str();
  c->add_option("--max-connections", args->max_connections,
                "Simultaneous connections; more are told the node is at its "
                "connection limit and closed")
      ->transform(number(65535))
      ->check(CLI::Range(1u, 65535u))
      ->capture_default_str();
  add_log_options(c, &args->log);
  c->add_flag("--udp", args->udp, "Send live deltas as UDP datagrams");
  c->add_option("--sync-ms", args->sync_ms,
                "Version-vector exchange period (ms)")
      ->transform(number(3600000))
      ->check(CLI::Range(1, 3600000));
  c->add_option("--incarnation-timeout-ms", args->incarnation_timeout_ms,
                "After a restart, how long local writes wait for the peers' "
                "marks before a new origin incarnation")
      ->transform(number(86400000))
      ->check(CLI::Range(1, 86400000))
      ->capture_default_str();
  c->add_option("--max-origins", args->max_origins,
                "Distinct delta origins the table accepts; deltas of more "
                "are refused, logged and counted")
      ->transform(number_of<decltype(args->max_origins)>())
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--sync", args->sync_policy,
                "Durability: every (default), group or none");
  c->add_option("--group", args->group,
                "Group of a new table: xor (default) or add (counters); an "
                "existing table must match")
      ->check(CLI::IsMember({"xor", "add"}));
  c->add_option("--width", args->width,
                "Word width in bits of a new table, 8..64 (default 64); an "
                "existing table must match")
      ->check(CLI::Range(8, 64));
  c->add_flag("--quiet", args->quiet, "Do not log to stderr");
  c->add_option("--metrics", args->metrics,
                "Serve GET /metrics (Prometheus) and GET /healthz on "
                "HOST:PORT (port 0: pick one and print it)")
      ->check(host_port(true));
  // Redis Streams (docs/redis.md).
  c->add_option("--redis", args->redis_url,
                "Also replicate through Redis Streams: "
                "redis://[user[:password]@]host[:port][/db]");
  c->add_option("--redis-user", args->redis_user, "Redis ACL user");
  c->add_option("--redis-password-file", args->redis_password_file,
                "File whose first line is the Redis password");
  c->add_option("--redis-table", args->redis_table,
                "Key prefix of the table's streams")
      ->capture_default_str();
  c->add_option("--redis-shards", args->redis_shards,
                "Streams the address space is split into (same on every node)")
      ->transform(number(1024))
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  c->add_option("--redis-hold", args->redis_hold,
                "Shard this node reads (repeatable; default: all)")
      ->transform(number_of<std::uint32_t>());
  c->add_flag("--redis-cluster", args->redis_cluster,
              "Redis Cluster: follow MOVED redirects, no SELECT");
  c->add_option("--redis-max-unpublished", args->redis_max_unpublished,
                "Own deltas waiting for Redis beyond which accum is refused")
      ->transform(number_of<decltype(args->redis_max_unpublished)>())
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--redis-snapshot-every-s", args->redis_snapshot_every_s,
                "Publish a snapshot and trim the streams below it every S "
                "seconds (0: never)")
      ->transform(number_of<decltype(args->redis_snapshot_every_s)>())
      ->capture_default_str();
  c->callback([args, exit_code] { *exit_code = run_node(*args); });
}

}  // namespace atomik::cli
