// SPDX-License-Identifier: Apache-2.0
// Node processes: three `atomik node` child processes on
// loopback, every link through a seeded FaultProxy (drops, duplicates,
// delays, reorders, cuts), random deltas into each node from client
// threads, one node SIGKILLed mid-stream and restarted on the same data.
// Then: all digests equal, and every node's state is the XOR of every
// acknowledged delta (the one delta in flight at the kill may or may not
// have been applied, exactly once either way). Every wait has a deadline.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "atomik/node.hpp"
#include "cli_process.hpp"
#include "node_fault_proxy.hpp"
#include "node_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using testing::FaultProxy;
using testing::FaultRates;
using testing::NodeProcess;
using testing::TempDir;
using testing::wait_until;

constexpr Addr kAddrs = 64;

struct Ledger {
  std::mutex mu;
  std::map<Addr, std::uint64_t> acked;  // XOR of acknowledged deltas
  std::vector<std::pair<Addr, std::uint64_t>> uncertain;  // in flight at kill
  std::uint64_t count = 0;
};

// Writes random deltas into `*target` until `stop`; reconnects when the node
// is down (a failed accum is recorded as uncertain: it may have been
// applied, once, or not at all).
void writer(const std::string* const* target, std::mutex* target_mu,
            std::atomic<bool>* stop, std::uint64_t seed, Ledger* ledger) {
  std::mt19937_64 rng(seed);
  std::unique_ptr<NodeClient> c;
  while (!stop->load()) {
    if (!c) {
      std::string addr;
      {
        std::lock_guard<std::mutex> lk(*target_mu);
        addr = **target;
      }
      auto r = NodeClient::connect(addr, {}, 2000);
      if (!r.ok()) {
        // Retry backoff while the node is down (not synchronisation).
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      c = std::move(*r);
    }
    const auto a = static_cast<Addr>(rng() % kAddrs);
    const std::uint64_t d = rng() | 1;
    const Status s = c->accum(a, d);
    std::lock_guard<std::mutex> lk(ledger->mu);
    if (s.ok()) {
      ledger->acked[a] ^= d;
      ++ledger->count;
    } else {
      ledger->uncertain.emplace_back(a, d);
      c.reset();
    }
  }
}

void run_cluster(bool faults, std::uint64_t seed) {
  TempDir dir("proc");
  FaultRates rates{0.05, 0.05, 0.05, 0.05, 0.01};
  if (!faults) rates = FaultRates{0, 0, 0, 0, 0};
  // n0 first; n1 peers n0 (through a proxy); n2 peers n0 and n1.
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  std::vector<std::unique_ptr<FaultProxy>> proxies;
  auto proxy_to = [&](std::size_t i) {
    proxies.push_back(std::make_unique<FaultProxy>(
        nodes[i]->port(), seed + proxies.size(), rates));
    return "127.0.0.1:" + std::to_string(proxies.back()->port());
  };
  nodes.push_back(std::make_unique<NodeProcess>(
      dir.sub("n0"), dir.sub("n0.log"), std::vector<std::string>{}));
  ASSERT_TRUE(nodes[0]->start(0));
  nodes.push_back(std::make_unique<NodeProcess>(
      dir.sub("n1"), dir.sub("n1.log"), std::vector<std::string>{proxy_to(0)}));
  ASSERT_TRUE(nodes[1]->start(0));
  const std::string p0 = proxy_to(0);
  const std::string p1 = proxy_to(1);
  nodes.push_back(std::make_unique<NodeProcess>(
      dir.sub("n2"), dir.sub("n2.log"), std::vector<std::string>{p0, p1}));
  ASSERT_TRUE(nodes[2]->start(0));

  std::string addrs[3];
  const std::string* targets[3];
  std::mutex target_mu;
  for (int i = 0; i < 3; ++i) {
    addrs[i] = nodes[static_cast<std::size_t>(i)]->address();
    targets[i] = &addrs[i];
  }
  Ledger ledger;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int i = 0; i < 3; ++i)
    writers.emplace_back(writer, &targets[i], &target_mu, &stop,
                         seed * 31 + static_cast<std::uint64_t>(i), &ledger);
  auto acked = [&] {
    std::lock_guard<std::mutex> lk(ledger.mu);
    return ledger.count;
  };
  // Let deltas flow, then SIGKILL n1 mid-stream and restart it on the same
  // data directory and port.
  ASSERT_TRUE(wait_until([&] { return acked() >= 600; }));
  const std::uint16_t port1 = nodes[1]->port();
  nodes[1]->kill(SIGKILL);
  const std::uint64_t at_kill = acked();
  ASSERT_TRUE(wait_until([&] { return acked() >= at_kill + 400; }));
  ASSERT_TRUE(nodes[1]->start(port1));
  ASSERT_TRUE(wait_until([&] { return acked() >= at_kill + 1000; }));
  stop.store(true);
  for (auto& w : writers) w.join();

  // Converge: equal digests on all three (queried by clients).
  auto digest_of = [&](int i) -> std::optional<Digest> {
    auto c = NodeClient::connect(addrs[i], {}, 2000);
    if (!c.ok()) return std::nullopt;
    auto d = (*c)->digest();
    if (!d.ok()) return std::nullopt;
    return *d;
  };
  ASSERT_TRUE(wait_until(
      [&] {
        auto a = digest_of(0), b = digest_of(1), c = digest_of(2);
        return a && b && c && *a == *b && *b == *c;
      },
      std::chrono::milliseconds(60000)))
      << "no convergence; logs in " << dir.path();
  // Each state == XOR of acknowledged deltas (the in-flight ones at most
  // once each: try every subset of them, at most a few).
  std::lock_guard<std::mutex> lk(ledger.mu);
  ASSERT_LE(ledger.uncertain.size(), 8u);
  for (int i = 0; i < 3; ++i) {
    auto c = NodeClient::connect(addrs[i], {}, 2000);
    ASSERT_TRUE(c.ok());
    std::map<Addr, std::uint64_t> got;
    for (Addr a = 0; a < kAddrs; ++a) got[a] = (*c)->read(a).value();
    bool match = false;
    const std::size_t u = ledger.uncertain.size();
    for (std::uint32_t mask = 0; mask < (1u << u) && !match; ++mask) {
      std::map<Addr, std::uint64_t> want;
      for (Addr a = 0; a < kAddrs; ++a) want[a] = 0;
      for (const auto& [a, v] : ledger.acked) want[a] ^= v;
      for (std::size_t k = 0; k < u; ++k)
        if ((mask >> k) & 1u)
          want[ledger.uncertain[k].first] ^= ledger.uncertain[k].second;
      match = want == got;
    }
    EXPECT_TRUE(match) << "node " << i << " state is not the XOR of the "
                       << ledger.count << " acknowledged deltas";
  }
  if (faults) {
    std::uint64_t dropped = 0, dup = 0, cuts = 0;
    for (const auto& p : proxies) {
      dropped += p->counts().dropped;
      dup += p->counts().duplicated;
      cuts += p->counts().cuts;
    }
    EXPECT_GT(dropped + dup, 0u) << "the proxies injected no faults";
    std::printf(
        "faults: %llu dropped, %llu duplicated, %llu cuts; %llu "
        "acknowledged deltas, %zu in flight at the kill\n",
        static_cast<unsigned long long>(dropped),
        static_cast<unsigned long long>(dup),
        static_cast<unsigned long long>(cuts),
        static_cast<unsigned long long>(ledger.count), ledger.uncertain.size());
  }
  for (auto& p : proxies) p->stop();
}

using testing::run_cli;

TEST(NodeProcessTest, CliClientsTalkToANodeProcess) {
  TempDir dir("cli");
  NodeProcess n(dir.sub("n"), dir.sub("n.log"), {});
  ASSERT_TRUE(n.start(0));
  const std::string at = " --node " + n.address() + " ";
  auto r = run_cli("accum" + at + "7 0xff");
  EXPECT_EQ(r.first, 0) << r.second;
  EXPECT_NE(r.second.find("acknowledged"), std::string::npos) << r.second;
  r = run_cli("accum" + at + "7 15");  // decimal
  EXPECT_EQ(r.first, 0) << r.second;
  r = run_cli("read" + at + "0x7");
  EXPECT_EQ(r.first, 0);
  EXPECT_EQ(r.second, "0x00000000000000f0\n");
  r = run_cli("swap" + at);
  EXPECT_EQ(r.first, 0);
  EXPECT_NE(r.second.find("epoch 1 closed"), std::string::npos) << r.second;
  r = run_cli("status --json" + at);
  EXPECT_EQ(r.first, 0);
  EXPECT_NE(r.second.find("\"deltas_local\":2"), std::string::npos) << r.second;
  r = run_cli("status" + at);
  EXPECT_EQ(r.first, 0);
  EXPECT_NE(r.second.find("version vector"), std::string::npos) << r.second;
  EXPECT_NE(r.second.find("deltas_local  2"), std::string::npos) << r.second;
  r = run_cli("read" + at + "4294967296");  // does not fit 32 bits
  EXPECT_EQ(r.first, 2) << r.second;
  n.kill(SIGTERM);
  r = run_cli("read" + at + "--timeout-ms 2000 7");
  EXPECT_EQ(r.first, 1) << r.second;
}

TEST(NodeProcessTest, ThreeProcessesConvergeThroughFaultsAndSigkill) {
  run_cluster(true, testing::test_seed());
}

TEST(NodeProcessTest, SigkillMidStreamLosesNoAcknowledgedDelta) {
  run_cluster(false, testing::test_seed() + 1000);
}

// The mark of origin `hex` ("0x...") in a status JSON's version vector; 0
// when absent.
Seq mark_in(const std::string& json, const std::string& hex) {
  const auto vv = json.find("\"version_vector\":{");
  if (vv == std::string::npos) return 0;
  const auto at = json.find("\"" + hex + "\":", vv);
  if (at == std::string::npos || at > json.find('}', vv)) return 0;
  return std::stoull(json.substr(at + hex.size() + 3));
}

std::string origin_in(const std::string& json) {
  const auto at = json.find("\"origin\":\"");
  return at == std::string::npos ? "" : json.substr(at + 10, 18);
}

std::uint64_t stat_in(const std::string& json, const std::string& name) {
  const auto at = json.find("\"" + name + "\":");
  return at == std::string::npos
             ? ~std::uint64_t{0}
             : std::stoull(json.substr(at + name.size() + 3));
}

// A node whose disk ignored flushes: the acknowledged tail of its WAL is
// gone after SIGKILL, but a peer holds it. Which cut: the sync horizon
// (docs/format/wal.md rule 7) reports a cut below its recorded horizon as
// lost synced data and strict recovery (what `atomik node` runs) refuses
// it. A disk that ignored a flush loses the horizon records written since
// too, so the test restores both files as they were at an earlier instant:
// the last segment truncated to its size then (a frame boundary: nothing
// was being written) and WAL_HORIZON's bytes then. Strict recovery accepts
// that as an unsealed tail; only the peer knows the acknowledged deltas
// after it. A must get them back, must not reuse their seqs for new
// deltas, and both must end equal, holding every acknowledged delta.
TEST(NodeProcessTest, NodeWhoseWalTailIsCutAfterSigkillRejoinsEqual) {
  TempDir dir("cutwal");
  NodeProcess b(dir.sub("b"), dir.sub("b.log"), {});
  ASSERT_TRUE(b.start(0));
  NodeProcess a(dir.sub("a"), dir.sub("a.log"), {b.address()});
  ASSERT_TRUE(a.start(0));
  std::map<Addr, std::uint64_t> want;
  auto rng = testing::rng(testing::test_seed() + 77);
  auto accum_on_a = [&](int n) {
    auto c = NodeClient::connect(a.address(), {}, 5000);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    for (int i = 0; i < n; ++i) {
      const auto addr = static_cast<Addr>(rng() % 8);
      const std::uint64_t d = rng() | 1;
      ASSERT_TRUE((*c)->accum(addr, d).ok());  // acknowledged
      want[addr] ^= d;
    }
  };
  auto status = [](const std::string& at) -> std::string {
    auto c = NodeClient::connect(at, {}, 5000);
    if (!c.ok()) return "";
    auto j = (*c)->status_json();
    return j.ok() ? *j : "";
  };
  auto digest = [](const std::string& at) -> std::optional<Digest> {
    auto c = NodeClient::connect(at, {}, 5000);
    if (!c.ok()) return std::nullopt;
    auto d = (*c)->digest();
    return d.ok() ? std::optional<Digest>(*d) : std::nullopt;
  };
  const std::string origin_a = origin_in(status(a.address()));
  ASSERT_EQ(origin_a.size(), 18u);
  auto b_mark = [&] { return mark_in(status(b.address()), origin_a); };

  accum_on_a(20);
  ASSERT_TRUE(wait_until([&] { return b_mark() == 20; }));
  // The disk as of now: the last segment's size and the horizon's bytes.
  std::string last;
  for (const auto& e : std::filesystem::directory_iterator(dir.sub("a"))) {
    if (e.path().extension() == ".wal" && e.path().string() > last) {
      last = e.path().string();
    }
  }
  ASSERT_FALSE(last.empty());
  const auto kept = std::filesystem::file_size(last);
  std::string horizon;
  {
    std::ifstream in(dir.sub("a") + "/WAL_HORIZON", std::ios::binary);
    horizon.assign(std::istreambuf_iterator<char>(in), {});
    horizon.resize(horizon.size() / 24 * 24);  // whole records only
  }
  accum_on_a(20);  // acknowledged, and sent to B
  ASSERT_TRUE(wait_until([&] { return b_mark() == 40; }));
  a.kill(SIGKILL);
  ASSERT_GT(std::filesystem::file_size(last), kept);
  std::filesystem::resize_file(last, kept);
  {
    std::ofstream out(dir.sub("a") + "/WAL_HORIZON",
                      std::ios::binary | std::ios::trunc);
    out << horizon;
  }
  ASSERT_TRUE(a.start(0)) << "strict recovery refused; log "
                          << dir.sub("a.log");
  // At once, before A can have heard from B: held until B's mark for A is
  // known and A's own deltas 21..40 came back, then seqs 41..50.
  accum_on_a(10);
  ASSERT_TRUE(wait_until(
      [&] {
        auto x = digest(a.address()), y = digest(b.address());
        return x && y && *x == *y && b_mark() == 50;
      },
      std::chrono::milliseconds(60000)))
      << "no convergence; logs in " << dir.path();
  const std::string ja = status(a.address());
  const std::string jb = status(b.address());
  EXPECT_EQ(origin_in(ja), origin_a) << ja;
  EXPECT_EQ(mark_in(ja, origin_a), 50u) << ja;
  EXPECT_EQ(stat_in(ja, "own_recovered"), 20u) << ja;  // the cut was real
  EXPECT_EQ(stat_in(ja, "own_conflicts"), 0u) << ja;
  EXPECT_EQ(stat_in(ja, "incarnations"), 0u) << ja;
  EXPECT_EQ(stat_in(jb, "divergences"), 0u) << jb;
  EXPECT_EQ(stat_in(jb, "conflicts"), 0u) << jb;
  for (const std::string& at : {a.address(), b.address()}) {
    auto c = NodeClient::connect(at, {}, 5000);
    ASSERT_TRUE(c.ok());
    for (Addr x = 0; x < 8; ++x) {
      EXPECT_EQ((*c)->read(x).value(), want[x]) << at << " addr " << x;
    }
  }
}

}  // namespace
}  // namespace atomik
