// `atomik node` (issue #5): runs a replicating node until SIGINT/SIGTERM.
// Prints "listening on HOST:PORT" (the chosen port when 0 was asked) and
// "origin 0x..." on stdout, flushed, so scripts and tests can read them.
#include "atomik/node.hpp"

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

struct NodeArgs {
  std::string data = kDefaultDataDir;
  std::string listen = "127.0.0.1:7400";
  std::vector<std::string> peers;
  std::string key_file;
  bool udp = false;
  std::uint32_t sync_ms = 1000;
  std::string sync_policy = "every";
  bool quiet = false;
};

int run_node(const NodeArgs& a) {
  NodeOptions o;
  o.data_dir = a.data;
  o.listen = a.listen;
  o.peers = a.peers;
  o.udp = a.udp;
  o.sync_interval_ms = a.sync_ms;
  o.log = !a.quiet;
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
  if (!a.key_file.empty()) {
    auto k = read_node_key_file(a.key_file);
    if (!k.ok()) {
      std::fprintf(stderr, "atomik node: %s\n", k.status().to_string().c_str());
      return 2;
    }
    o.key = std::move(*k);
  }
  // Block the stop signals before any thread starts; sigwait below.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto node = Node::start(o);
  if (!node.ok()) {
    std::fprintf(stderr, "atomik node: %s\n",
                 node.status().to_string().c_str());
    return node.status().is_invalid_argument() ? 2 : 1;
  }
  std::printf("listening on %s\norigin 0x%016llx\n",
              (*node)->listen_address().c_str(),
              static_cast<unsigned long long>((*node)->origin()));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  const Status s = (*node)->stop();
  if (!s.ok()) {
    std::fprintf(stderr, "atomik node: stop: %s\n", s.to_string().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void add_node_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<NodeArgs>();
  CLI::App* c = app.add_subcommand(
      "node",
      "Run a replicating node (TCP, optional UDP) until SIGINT/SIGTERM");
  c->add_option("--data", args->data, "Data directory of the table");
  c->add_option("--listen", args->listen,
                "HOST:PORT to listen on (port 0: pick one and print it)");
  c->add_option("--peer", args->peers, "HOST:PORT of a peer (repeatable)");
  c->add_option("--key-file", args->key_file,
                "Shared key: 32 raw bytes or 64 hex digits");
  c->add_flag("--udp", args->udp, "Send live deltas as UDP datagrams");
  c->add_option("--sync-ms", args->sync_ms,
                "Version-vector exchange period (ms)")
      ->check(CLI::Range(1, 3600000));
  c->add_option("--sync", args->sync_policy,
                "Durability: every (default), group or none");
  c->add_flag("--quiet", args->quiet, "Do not log to stderr");
  c->callback([args, exit_code] { *exit_code = run_node(*args); });
}

}  // namespace atomik::cli
