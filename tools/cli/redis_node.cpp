// SPDX-License-Identifier: Apache-2.0
// `atomik redis-node`: runs a PersistentTable replicated through
// Redis Streams (atomik/redis.hpp) until SIGINT/SIGTERM. Prints
// "origin 0x..." and "ready" on stdout (flushed), then executes one command
// per stdin line, answering one line each on stdout:
//   accum ADDR DELTA   -> "ok"            (returns once acknowledged)
//   read ADDR          -> "0x..."
//   digest             -> 32 hex digits
//   wait [MS]          -> "ok" once every own delta is published
//   snapshot [trim]    -> "ok"            (publish a snapshot; trim below it)
//   status             -> one JSON object (origin, digest, unpublished, stats)
// Errors answer "error: <status>". End of input stops the node as SIGTERM
// does (exit 0); with --no-stdin it reads no commands and runs until a
// signal (a service whose stdin is /dev/null).
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "atomik/log.hpp"
#include "atomik/redis.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/logging.hpp"

namespace atomik::cli {
namespace {

struct RedisNodeArgs {
  std::string data = kDefaultDataDir;
  std::string url = kDefaultRedisUrl;
  std::string user;
  std::string password_file;
  std::string table = "atomik";
  std::uint32_t shards = 1;
  std::vector<std::uint32_t> hold;
  bool cluster = false;
  std::string sync_policy = "every";
  std::string group = "xor";  // the table's group and width (see node)
  std::uint32_t width = 64;
  std::uint32_t snapshot_every_s = 0;
  bool quiet = false;
  LogArgs log;
  bool no_stdin = false;
};

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(v));
  return buf;
}

std::string status_json(const RedisReplicator& r) {
  using Json = nlohmann::ordered_json;  // members in the order added
  const RedisStats s = r.stats();
  const Result<Digest> d = r.digest();  // "failed": the table failed
  Json j;
  j["origin"] = hex64(r.origin());
  j["digest"] = d.ok() ? d->to_hex() : "failed";
  j["unpublished"] = r.unpublished();
  j["deltas_local"] = s.deltas_local;
  j["entries_published"] = s.entries_published;
  j["deltas_published"] = s.deltas_published;
  j["entries_read"] = s.entries_read;
  j["deltas_applied"] = s.deltas_applied;
  j["deltas_duplicate"] = s.deltas_duplicate;
  j["entries_malformed"] = s.entries_malformed;
  j["frames_gap"] = s.frames_gap;
  j["connects"] = s.connects;
  j["connection_errors"] = s.connection_errors;
  j["snapshots_published"] = s.snapshots_published;
  j["bootstrapped"] = s.bootstrapped;
  Json ps = Json::array();
  for (const RedisShardPosition& p : r.positions()) {
    ps.push_back({{"shard", p.shard},
                  {"read", p.read_id},
                  {"published_seq", p.published_seq}});
  }
  j["positions"] = std::move(ps);
  return j.dump();
}

// The CLI's strict number syntax (number.hpp), at most `max`.
bool parse_u64(const std::string& s, std::uint64_t* out,
               std::uint64_t max = ~std::uint64_t{0}) {
  return parse_uint(s, max, out).empty();
}

std::string execute(RedisReplicator& r, const std::string& line) {
  std::istringstream in(line);
  std::string cmd;
  std::vector<std::string> a;
  in >> cmd;
  for (std::string t; in >> t;) a.push_back(t);
  std::uint64_t x = 0;
  std::uint64_t y = 0;
  if (cmd == "accum" && a.size() == 2 && parse_u64(a[0], &x) &&
      x <= 0xffffffffULL && parse_u64(a[1], &y)) {
    const Status s = r.accum(static_cast<Addr>(x), y);
    return s.ok() ? "ok" : "error: " + s.to_string();
  }
  if (cmd == "read" && a.size() == 1 && parse_u64(a[0], &x) &&
      x <= 0xffffffffULL) {
    auto v = r.read(static_cast<Addr>(x));
    return v.ok() ? hex64(*v) : "error: " + v.status().to_string();
  }
  if (cmd == "digest" && a.empty()) {
    auto d = r.digest();
    return d.ok() ? d->to_hex() : "error: " + d.status().to_string();
  }
  if (cmd == "status" && a.empty()) return status_json(r);
  if (cmd == "wait" && a.size() <= 1) {
    if (!a.empty() && (!parse_u64(a[0], &x) || x > 3600000)) {
      return "error: wait [MS]";
    }
    const Status s =
        r.wait_published(a.empty() ? 10000 : static_cast<std::uint32_t>(x));
    return s.ok() ? "ok" : "error: " + s.to_string();
  }
  if (cmd == "snapshot" && (a.empty() || (a.size() == 1 && a[0] == "trim"))) {
    const Status s = r.publish_snapshot(!a.empty());
    return s.ok() ? "ok" : "error: " + s.to_string();
  }
  return "error: unknown command '" + line +
         "' (accum ADDR DELTA | read ADDR | digest | wait [MS] | "
         "snapshot [trim] | status)";
}

int run_redis_node(const RedisNodeArgs& a) {
  install_logging(a.log);
  RedisOptions o;
  o.url = a.url;
  o.user = a.user;
  o.table = a.table;
  o.shards = a.shards;
  o.held_shards = a.hold;
  o.cluster = a.cluster;
  o.log = !a.quiet;
  if (!a.password_file.empty()) {
    std::ifstream f(a.password_file);
    if (!f) {
      std::fprintf(stderr, "atomik redis-node: cannot read %s\n",
                   a.password_file.c_str());
      return 2;
    }
    std::getline(f, o.password);
    while (!o.password.empty() &&
           (o.password.back() == '\r' || o.password.back() == ' ')) {
      o.password.pop_back();
    }
  }
  PersistentOptions storage;
  storage.group = parse_table_group(a.group).value_or(TableGroup::kXor);
  storage.word_bits = static_cast<std::uint8_t>(a.width);
  if (a.sync_policy == "every") {
    storage.sync = SyncPolicy::kEveryRecord;
  } else if (a.sync_policy == "group") {
    storage.sync = SyncPolicy::kGroup;
  } else if (a.sync_policy == "none") {
    storage.sync = SyncPolicy::kNone;
  } else {
    std::fprintf(stderr,
                 "atomik redis-node: --sync must be every, group or none\n");
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto r = RedisReplicator::start(a.data, storage, o);
  if (!r.ok()) {
    std::fprintf(stderr, "atomik redis-node: %s\n",
                 redact_secrets(r.status().to_string()).c_str());
    return r.status().is_invalid_argument() ? 2 : 1;
  }
  std::shared_ptr<RedisReplicator> node(std::move(*r));
  std::printf("origin %s\nready\n", hex64(node->origin()).c_str());
  std::fflush(stdout);
  // Commands on stdin; at its end the node stops as on SIGTERM (SIGTERM is
  // blocked in every thread, so sigwait() below takes it).
  const bool quiet = a.quiet;
  if (!a.no_stdin) {
    std::thread([node, quiet] {
      for (std::string line; std::getline(std::cin, line);) {
        if (line.empty()) continue;
        const std::string out = execute(*node, line);
        std::printf("%s\n", out.c_str());
        std::fflush(stdout);
      }
      if (!quiet) {
        std::fprintf(stderr, "atomik redis-node: end of input, stopping\n");
      }
      ::kill(::getpid(), SIGTERM);
    }).detach();
  }
  // --snapshot-every-s: publish a snapshot and trim below it periodically.
  std::atomic<bool> done{false};
  std::thread snapshots;
  if (a.snapshot_every_s != 0) {
    snapshots = std::thread([&] {
      auto next = std::chrono::steady_clock::now() +
                  std::chrono::seconds(a.snapshot_every_s);
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (std::chrono::steady_clock::now() < next) continue;
        next += std::chrono::seconds(a.snapshot_every_s);
        const Status st = node->publish_snapshot(/*trim=*/true);
        if (!st.ok() && !a.quiet) {
          std::fprintf(stderr, "atomik redis-node: snapshot: %s\n",
                       redact_secrets(st.to_string()).c_str());
        }
      }
    });
  }
  int sig = 0;
  sigwait(&set, &sig);
  done = true;
  if (snapshots.joinable()) snapshots.join();
  const Status s = node->stop();
  if (!s.ok()) {
    std::fprintf(stderr, "atomik redis-node: stop: %s\n",
                 redact_secrets(s.to_string()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void add_redis_node_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<RedisNodeArgs>();
  CLI::App* c = app.add_subcommand(
      "redis-node",
      "Run a table replicated through Redis Streams until SIGINT/SIGTERM; "
      "commands on stdin (docs/redis.md)");
  c->add_option("--data", args->data, "Data directory of the table")
      ->check(non_empty())
      ->capture_default_str();
  c->add_option("--redis", args->url,
                "redis://[user[:password]@]host[:port][/db]")
      ->capture_default_str();
  c->add_option("--redis-user", args->user, "Redis ACL user");
  c->add_option("--redis-password-file", args->password_file,
                "File whose first line is the Redis password");
  c->add_option("--table", args->table, "Key prefix of the table's streams")
      ->capture_default_str();
  c->add_option("--shards", args->shards,
                "Streams the address space is split into (same on every node)")
      ->transform(number(kRedisMaxShards))
      ->check(CLI::Range(1u, kRedisMaxShards))
      ->capture_default_str();
  c->add_option("--hold", args->hold,
                "Shard this node reads (repeatable; default: all)")
      ->transform(number_of<std::uint32_t>());
  c->add_flag("--cluster", args->cluster,
              "Redis Cluster: follow MOVED redirects, no SELECT");
  c->add_option("--sync", args->sync_policy,
                "Durability: every (default), group or none");
  c->add_option("--snapshot-every-s", args->snapshot_every_s,
                "Publish a snapshot and trim the streams below it every S "
                "seconds (0: only on the `snapshot` command)")
      ->transform(number_of<std::uint32_t>())
      ->capture_default_str();
  c->add_option("--group", args->group,
                "Group of a new table: xor (default) or add (counters); an "
                "existing table must match")
      ->check(CLI::IsMember({"xor", "add"}));
  c->add_option("--width", args->width,
                "Word width in bits of a new table, 8..64 (default 64)")
      ->check(CLI::Range(8, 64));
  c->add_flag("--quiet", args->quiet, "Do not log to stderr");
  add_log_options(c, &args->log);
  c->add_flag("--no-stdin", args->no_stdin,
              "Read no commands on stdin; run until SIGINT/SIGTERM");
  c->callback([args, exit_code] { *exit_code = run_redis_node(*args); });
}

}  // namespace atomik::cli
