// SPDX-License-Identifier: Apache-2.0
// `atomik accum|read|swap|status`: clients of a running node.
// Numbers are accepted in decimal or 0x-hex and printed as 0x-hex.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "atomik/node.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/key_file.hpp"

namespace atomik::cli {
namespace {

struct ClientArgs {
  std::string node = kDefaultNodeAddress;
  std::string key_file;
  std::uint32_t timeout_ms = 5000;
  std::string addr;
  std::string delta;
  bool json = false;
};

int fail(const char* what, const Status& s) {
  std::fprintf(stderr, "atomik %s: %s\n", what, s.to_string().c_str());
  // Usage was checked when parsing; what is left (an unresolvable host, a
  // refused connection, a node's error) is a data or connection problem.
  return 1;
}

Result<std::unique_ptr<NodeClient>> connect(const ClientArgs& a) {
  std::vector<std::byte> key;
  if (!a.key_file.empty()) {
    auto k = read_key_file_checked(a.key_file);
    if (!k.ok()) return k.status();
    key = std::move(*k);
  }
  return NodeClient::connect(a.node, key, a.timeout_ms);
}

int run(const char* op, const ClientArgs& a) {
  const std::string name(op);
  std::uint64_t addr = 0;
  std::uint64_t delta = 0;
  // ADDR and DELTA were checked by the number() transform when parsed.
  if (name == "accum" || name == "read") {
    (void)parse_uint(a.addr, 0xffffffffu, &addr);
  }
  if (name == "accum") (void)parse_uint(a.delta, ~std::uint64_t{0}, &delta);
  auto c = connect(a);
  if (!c.ok()) return fail(op, c.status());
  NodeClient& client = **c;
  if (name == "accum") {
    const Status s = client.accum(static_cast<Addr>(addr), delta);
    if (!s.ok()) return fail(op, s);
    std::printf("accum 0x%llx 0x%016llx: acknowledged\n",
                static_cast<unsigned long long>(addr),
                static_cast<unsigned long long>(delta));
  } else if (name == "read") {
    auto v = client.read(static_cast<Addr>(addr));
    if (!v.ok()) return fail(op, v.status());
    std::printf("0x%016llx\n", static_cast<unsigned long long>(*v));
  } else if (name == "swap") {
    auto e = client.swap();
    if (!e.ok()) return fail(op, e.status());
    std::printf("epoch %llu closed\n", static_cast<unsigned long long>(*e));
  } else {
    auto j = a.json ? client.status_json() : client.status_text();
    if (!j.ok()) return fail(op, j.status());
    std::printf("%s%s", j->c_str(), a.json ? "\n" : "");
  }
  std::fflush(stdout);
  return 0;
}

CLI::App* add(CLI::App& app, const char* name, const char* help,
              const std::shared_ptr<ClientArgs>& args, int* exit_code) {
  CLI::App* c = app.add_subcommand(name, help);
  c->add_option("--node", args->node, "HOST:PORT of the node")
      ->check(host_port(false))
      ->capture_default_str();
  c->add_option("--key-file", args->key_file, "Shared key file")
      ->check(non_empty());
  c->add_option("--timeout-ms", args->timeout_ms, "Network timeout (ms)")
      ->transform(number_of<std::uint32_t>());
  c->callback([name, args, exit_code] { *exit_code = run(name, *args); });
  return c;
}

}  // namespace

void add_client_commands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ClientArgs>();
  CLI::App* accum = add(app, "accum",
                        "Accumulate DELTA into ADDR on a node (returns once "
                        "acknowledged)",
                        a, exit_code);
  accum->add_option("ADDR", a->addr, "Address (32-bit)")
      ->required()
      ->transform(number(0xffffffffu));
  accum->add_option("DELTA", a->delta, "Delta (64-bit)")
      ->required()
      ->transform(number_of<std::uint64_t>());
  auto r = std::make_shared<ClientArgs>();
  CLI::App* read = add(app, "read", "Read ADDR on a node", r, exit_code);
  read->add_option("ADDR", r->addr, "Address (32-bit)")
      ->required()
      ->transform(number(0xffffffffu));
  add(app, "swap", "Close an epoch on a node (checkpoint)",
      std::make_shared<ClientArgs>(), exit_code);
  auto s = std::make_shared<ClientArgs>();
  CLI::App* status =
      add(app, "status", "Show a node's version vector, digest, peers, lag", s,
          exit_code);
  status->add_flag("--json", s->json, "One JSON object");
}

}  // namespace atomik::cli
