// SPDX-License-Identifier: Apache-2.0
// Seed pattern 5 over TCP: three Nodes on loopback replicate each
// other's deltas; node B is stopped mid-run and restarted on its data
// directory; at the end all digests are equal and every state is the XOR of
// every acknowledged delta. Prints what it checks; exit 1 on any mismatch.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "atomik/node.hpp"

namespace {

std::unique_ptr<atomik::Node> start(const std::string& dir,
                                    std::vector<std::string> peers) {
  atomik::NodeOptions o;
  o.data_dir = dir;
  o.listen = "127.0.0.1:0";  // any free port
  o.peers = std::move(peers);
  o.sync_interval_ms = 100;
  o.log = false;
  auto n = atomik::Node::start(o);
  if (!n.ok()) {
    std::fprintf(stderr, "start: %s\n", n.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*n);
}

}  // namespace

int main() {
  const auto dir =
      std::filesystem::temp_directory_path() /
      ("atomik-converge-tcp-" + std::to_string(std::random_device{}()));
  auto a = start((dir / "a").string(), {});
  auto b = start((dir / "b").string(), {a->listen_address()});
  auto c =
      start((dir / "c").string(), {a->listen_address(), b->listen_address()});
  std::map<atomik::Addr, std::uint64_t> model;  // XOR of acknowledged deltas
  std::mt19937_64 g(5);
  auto write = [&](int n, bool with_b) {
    for (int k = 0; k < n; ++k) {
      atomik::Node* nodes[] = {a.get(), with_b ? b.get() : a.get(), c.get()};
      const auto addr = static_cast<atomik::Addr>(g() % 16);
      const std::uint64_t d = g();
      if (nodes[g() % 3]->accum(addr, d).ok()) model[addr] ^= d;
    }
  };
  write(200, true);
  (void)b->stop();  // B goes away mid-run...
  b.reset();
  write(200, false);
  b = start((dir / "b").string(), {a->listen_address()});  // ...and returns
  write(200, true);

  // Wait (bounded) until the three digests agree.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(a->digest() == b->digest() && b->digest() == c->digest()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const bool same = a->digest() == b->digest() && b->digest() == c->digest();
  bool states = true;
  for (atomik::Node* n : {a.get(), b.get(), c.get()})
    for (const auto& [addr, v] : model)
      states = states && n->read(addr).value_or(~v) == v;
  std::printf(
      "digests %s (%s); states %s XOR of %zu addresses' acknowledged "
      "deltas\n",
      same ? "equal" : "DIFFER", a->digest().to_hex().c_str(),
      states ? "==" : "!=", model.size());
  a.reset();
  b.reset();
  c.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return same && states ? 0 : 1;
}
