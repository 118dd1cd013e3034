// SPDX-License-Identifier: Apache-2.0
// Replication between two Nodes on loopback, against Redis XADD
// measured in the same run.
//
//   BM_ReplicationThroughput: the workload of node_pair.hpp: 4 threads
//     accumulate batches into A (accum_batch, WAL on with the default
//     durability policy, kEveryRecord: each batch is fdatasynced before it
//     is acknowledged and sent; concurrent batches share fdatasyncs); the
//     clock stops when B has applied every delta.
//   BM_MetricsOverhead: the same workload without, and with what an
//     operator runs: logging on (NodeOptions::log, info level) and
//     `--metrics` on both nodes (cli::MetricsServer), each scraped over
//     HTTP every 100 ms (a far shorter interval than Prometheus' usual 15
//     s); rounds of the two setups alternate (atomik_bench::alternate).
//     Counters: the medians of the rates and of the per-round ratios
//     (target >= 0.95).
//   BM_RedisXaddBaseline: starts redis-server (Debian) on a free loopback
//     port, runs `redis-benchmark -P 16 -n 200000 -q XADD s '*' f v`, stops
//     the server; ops/s. Skipped (with a message) if redis is not installed.
//   BM_ReplicationLatency: one accum on A, then poll B until the delta is
//     visible; p50 and p99 over the iterations (includes A's fdatasync).
//   BM_NodeResidentMemory: one node with a dense 2^20-address table takes
//     2^20 random own deltas; counters: the growth of the process's resident
//     memory (VmRSS) from before start to after, the model (the table's
//     contexts, sizeof(ContextType) per address, + the retained log, 16
//     bytes per retained delta) and their ratio (target <= 1.5).
//
// After the benchmarks, a summary line gives the ratio throughput / XADD.
// Run: build/node-rel/bench/replication_bench --benchmark_min_time=0.01
#include <benchmark/benchmark.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "atomik/node.hpp"
#include "atomik/table.hpp"
#include "cli/metrics_server.hpp"
#include "node_pair.hpp"

namespace {

using atomik_bench::Clock;
using atomik_bench::NodePair;

double g_repl_rate = 0;
double g_metrics_with[2] = {0, 0};  // 16,384 and 65,536: medians
double g_metrics_without[2] = {0, 0};
double g_metrics_ratio[2] = {0, 0};  // medians of the per-round ratios
double g_redis_rate = 0;
double g_p50_us = 0;
double g_p99_us = 0;

// A pair with what an operator runs: both nodes log (info) and serve
// /metrics, each scraped over HTTP every 100 ms of the time the pair is
// active (set_active: while the other pair of a comparison runs, nothing
// of this one's should take CPU from it).
class MetricsPair : public NodePair {
 public:
  MetricsPair()
      : NodePair("repl-bench-metrics",
                 [](atomik::NodeOptions& o) { o.log = true; }) {
    if (!ok()) return;
    atomik::Node* na = &a();
    atomik::Node* nb = &b();
    ma_ = std::move(*atomik::cli::MetricsServer::start(
        "127.0.0.1:0", [na] { return na->status().to_prometheus(); }));
    mb_ = std::move(*atomik::cli::MetricsServer::start(
        "127.0.0.1:0", [nb] { return nb->status().to_prometheus(); }));
    scraper_ = std::thread([this] {
      auto port = [](const std::string& addr) {
        return std::stoi(addr.substr(addr.rfind(':') + 1));
      };
      httplib::Client ca("127.0.0.1", port(ma_->address()));
      httplib::Client cb("127.0.0.1", port(mb_->address()));
      int idle_ms = 100;  // active time since the last scrape
      while (!stop_.load()) {
        if (active_.load() && idle_ms >= 100) {
          if (ca.Get("/metrics") && cb.Get("/metrics")) ++scrapes;
          idle_ms = 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (active_.load()) ++idle_ms;
      }
    });
  }
  ~MetricsPair() override {
    stop_ = true;
    if (scraper_.joinable()) scraper_.join();
    ma_.reset();
    mb_.reset();
  }
  void set_active(bool on) { active_ = on; }
  std::atomic<std::uint64_t> scrapes{0};

 private:
  std::unique_ptr<atomik::cli::MetricsServer> ma_, mb_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> active_{true};
  std::thread scraper_;
};

void BM_ReplicationThroughput(benchmark::State& state) {
  const auto recs =
      atomik_bench::workload(static_cast<std::size_t>(state.range(0)));
  NodePair p("repl-bench");
  if (!p.ok()) {
    state.SkipWithError("Node::start failed");
    return;
  }
  std::uint64_t total = 0;
  double secs = 0;
  for (auto _ : state) {
    std::string error;
    const double s = p.round(recs, &error);
    if (s < 0) {
      state.SkipWithError(error.c_str());
      return;
    }
    secs += s;
    total += NodePair::kBatchesPerRound * recs.size();
  }
  if (!p.converged()) state.SkipWithError("digests differ");
  const double rate = static_cast<double>(total) / secs;
  state.counters["deltas_per_s"] = rate;
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  g_repl_rate = std::max(g_repl_rate, rate);
}
BENCHMARK(BM_ReplicationThroughput)
    ->Arg(16384)
    ->Arg(65536)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same workload without (x) and with (y) metrics and logging: one
// pair of each, rounds alternating (atomik_bench::alternate), 60 of each
// at batch 16,384 and 30 at 65,536. The figure of record is the median of
// the per-round ratios; the medians of the rates are given too.
void BM_MetricsOverhead(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const auto recs = atomik_bench::workload(batch);
  const int k = batch == 16384 ? 0 : 1;
  atomik_bench::Alternated r;
  std::uint64_t scrapes = 0;
  for (auto _ : state) {
    NodePair x("repl-bench");
    MetricsPair y;
    if (!x.ok() || !y.ok()) {
      state.SkipWithError("Node::start failed");
      return;
    }
    r = atomik_bench::alternate(x, y, k == 0 ? 60 : 30, recs,
                                [&y](bool on_y) { y.set_active(on_y); });
    scrapes = y.scrapes.load();
  }
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  state.counters["scrapes"] = static_cast<double>(scrapes);
  g_metrics_without[k] = atomik_bench::median(r.x);
  g_metrics_with[k] = atomik_bench::median(r.y);
  g_metrics_ratio[k] = atomik_bench::median(r.ratios);
  state.counters["without_deltas_per_s"] = g_metrics_without[k];
  state.counters["with_deltas_per_s"] = g_metrics_with[k];
  state.counters["ratio"] = g_metrics_ratio[k];
  std::printf("batch %zu: M deltas/s per round without metrics: %s; with: %s\n",
              batch, atomik_bench::rates_text(r.x).c_str(),
              atomik_bench::rates_text(r.y).c_str());
}
BENCHMARK(BM_MetricsOverhead)
    ->Arg(16384)
    ->Arg(65536)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
  ::pclose(f);
  return out;
}

void BM_RedisXaddBaseline(benchmark::State& state) {
  if (std::system("command -v redis-server >/dev/null && command -v "
                  "redis-benchmark >/dev/null") != 0) {
    state.SkipWithError("redis-server/redis-benchmark not installed");
    return;
  }
  const std::uint16_t port = free_port();
  const std::string ps = std::to_string(port);
  const auto tmp =
      std::filesystem::temp_directory_path() / ("atomik-redis-" + ps);
  std::filesystem::create_directories(tmp);
  run("redis-server --port " + ps +
      " --bind 127.0.0.1 --save '' --appendonly no --daemonize yes "
      "--pidfile " +
      (tmp / "redis.pid").string() + " --logfile " +
      (tmp / "redis.log").string() + " --dir " + tmp.string());
  // Wait (bounded) until it answers.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (run("redis-cli -p " + ps + " ping 2>/dev/null").find("PONG") ==
             std::string::npos &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  double best = 0;
  for (auto _ : state) {
    const std::string out =
        run("redis-benchmark -p " + ps +
            " -P 16 -n 200000 -q XADD s '*' f v 2>/dev/null");
    // "XADD s * f v: 812345.69 requests per second, p50=..."
    const auto colon = out.rfind(": ");
    const double rate =
        colon == std::string::npos ? 0 : std::atof(out.c_str() + colon + 2);
    best = std::max(best, rate);
  }
  run("redis-cli -p " + ps + " shutdown nosave >/dev/null 2>&1");
  std::filesystem::remove_all(tmp);
  if (best <= 0) {
    state.SkipWithError("could not parse redis-benchmark output");
    return;
  }
  state.counters["ops_per_s"] = best;
  g_redis_rate = best;
}
BENCHMARK(BM_RedisXaddBaseline)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ReplicationLatency(benchmark::State& state) {
  NodePair p("repl-bench");
  if (!p.ok()) {
    state.SkipWithError("Node::start failed");
    return;
  }
  std::vector<double> us;
  std::uint64_t v = 0;
  for (auto _ : state) {
    ++v;
    const auto t0 = Clock::now();
    if (!p.a().accum(7, v ^ (v - 1)).ok()) {
      state.SkipWithError("accum failed");
      return;
    }
    const auto deadline = t0 + std::chrono::seconds(10);
    while (p.b().read(7).value_or(0) != v && Clock::now() < deadline) {
    }
    us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (us.empty()) return;
  g_p50_us = us[us.size() / 2];
  g_p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["p50_us"] = g_p50_us;
  state.counters["p99_us"] = g_p99_us;
}
BENCHMARK(BM_ReplicationLatency)
    ->Iterations(2000)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// VmRSS of this process in bytes (0 if unreadable).
std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  std::uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %lu kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024;
}

void BM_NodeResidentMemory(benchmark::State& state) {
  constexpr std::uint32_t kAddrs = 1u << 20;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("atomik-mem-bench-" + std::to_string(::getpid()));
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    const std::uint64_t before = resident_bytes();
    atomik::NodeOptions o;
    o.listen = "127.0.0.1:0";
    o.log = false;
    o.storage.num_contexts = kAddrs;
    o.storage.sync = atomik::SyncPolicy::kNone;
    o.data_dir = dir.string();
    auto n = std::move(*atomik::Node::start(o));
    const std::uint64_t started = resident_bytes();
    std::mt19937_64 rng(1);
    std::vector<atomik::FrameRecord> batch(65536);
    for (std::uint32_t k = 0; k < kAddrs / batch.size(); ++k) {
      for (auto& r : batch)
        r = {static_cast<atomik::Addr>(rng() % kAddrs), rng()};
      (void)n->accum_batch(batch);
    }
    const std::uint64_t after = resident_bytes();
    // The table's contexts (state, accumulator, ...) plus the retained own
    // log.
    const double model =
        static_cast<double>(sizeof(atomik::DeltaTable<>::ContextType)) *
            kAddrs +
        16.0 * static_cast<double>(o.retain_per_origin);
    state.counters["rss_growth_mb"] = static_cast<double>(after - before) / 1e6;
    state.counters["model_mb"] = model / 1e6;
    state.counters["at_start_mb"] = static_cast<double>(started - before) / 1e6;
    state.counters["ratio"] = static_cast<double>(after - before) / model;
    (void)n->stop();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_NodeResidentMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

// Registered last: prints the ratio of the figures measured above.
void BM_ReplicationSummary(benchmark::State& state) {
  for (auto _ : state) {
  }
  if (g_repl_rate > 0 && g_redis_rate > 0) {
    state.counters["ratio_vs_redis"] = g_repl_rate / g_redis_rate;
    std::printf(
        "summary: replication %.2f M deltas/s (target >= 10 M); redis XADD "
        "-P16 %.3f M ops/s; ratio %.1fx (target >= 10x); accum-on-A to "
        "visible-on-B p50 %.0f us, p99 %.0f us\n",
        g_repl_rate / 1e6, g_redis_rate / 1e6, g_repl_rate / g_redis_rate,
        g_p50_us, g_p99_us);
  }
  for (int k = 0; k < 2; ++k) {
    if (g_metrics_ratio[k] <= 0) continue;
    const double r = g_metrics_ratio[k];
    state.counters[k == 0 ? "metrics_ratio_16k" : "metrics_ratio_64k"] = r;
    std::printf(
        "summary: batch %d: with --metrics and logging %.2f M deltas/s, "
        "without %.2f M deltas/s (medians of alternating rounds); ratio %.3f "
        "(median of the per-round ratios; target >= 0.95)\n",
        k == 0 ? 16384 : 65536, g_metrics_with[k] / 1e6,
        g_metrics_without[k] / 1e6, r);
  }
}
BENCHMARK(BM_ReplicationSummary)->Iterations(1);

}  // namespace
