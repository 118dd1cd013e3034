// SPDX-License-Identifier: Apache-2.0
// Redis Streams replication, against a private redis-server this
// binary starts (tests/redis_server.hpp) and stops at exit. Workloads:
//   BM_RedisReplicateBatched/N  node A accum_batch()es N deltas per call; the
//                               time runs until node B has applied them all.
//                               Counters: deltas_per_s, and x_baseline = that
//                               / redis-benchmark XADD -P 16 ops/s measured on
//                               the same server in the same run (printed
//                               first; the target is >= 10), and
//                               cpu_ns_per_delta: CPU of this process and
//                               redis-server per delta (cpu_seconds).
//   BM_RedisTransportFrames/N   frames of N deltas XADDed by one client and
//                               XREAD + validated + applied to a DeltaStream
//                               by another: Redis transport without WALs.
//   BM_RedisWalCeiling/N        the same deltas through A's and B's
//                               PersistentTables with no Redis at all: the
//                               local ceiling of the path above.
//   BM_RedisEndToEndLatency     one accum() on A until B reads it: p50/p99 in
//                               microseconds over the iterations.
//   BM_RedisNodeReplicateBatched/N  BM_RedisReplicateBatched with both nodes
//                               started by RedisReplicator::start_node (a
//                               Node with its listen port: `atomik node
//                               --redis`), same counters. Its `add` argument
//                               (1) makes both tables counters (the add
//                               group).
//   BM_RedisNodeAddOverXor      an add-group and an xor-group `node --redis`
//                               pair, iterations alternating in one run:
//                               the median per-iteration ratio (target
//                               >= 0.9).
// Tables are dense with kAddresses (2^20) contexts (unless a benchmark's
// addr_bits says otherwise), the range the random deltas hit (a sparse table's
// hash map costs ~0.25 us per new address). Run:
// build/redis-rel/bench/redis_bench --benchmark_min_time=0.01
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "alternate.hpp"
#include "atomik/redis.hpp"
#include "redis_server.hpp"
#include "transport/redis_client.hpp"

namespace {

using atomik::testing::RedisServer;

constexpr std::uint32_t kAddresses = 1u << 20;  // deltas use x >> 44

struct Env {
  std::unique_ptr<RedisServer> server;
  double baseline_ops = 0;  // redis-benchmark XADD -P 16 ops/s
  std::string root;
  bool ok = false;
  ~Env() {
    if (!root.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root, ec);
    }
  }
};

double run_redis_benchmark(std::uint16_t port) {
  const std::string cmd = "redis-benchmark -h 127.0.0.1 -p " +
                          std::to_string(port) +
                          " -P 16 -n 200000 -q XADD atomik-bench-s '*' f v "
                          "2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return 0;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  // "XADD atomik-bench-s * f v: 512820.53 requests per second, p50=..."
  // (-q may print progress lines separated by '\r' first).
  const std::size_t rps = out.rfind(" requests per second");
  if (rps == std::string::npos) return 0;
  const std::size_t colon = out.rfind(": ", rps);
  if (colon == std::string::npos) return 0;
  std::printf("baseline: %s\n",
              out.substr(out.rfind('\r', colon) == std::string::npos
                             ? 0
                             : out.rfind('\r', colon) + 1)
                  .c_str());
  return std::strtod(out.c_str() + colon + 2, nullptr);
}

Env& env() {
  static Env e;
  static bool started = false;
  if (!started) {
    started = true;
    e.server = RedisServer::start({});
    if (!e.server) return e;
    e.baseline_ops = run_redis_benchmark(e.server->port());
    char tmpl[] = "/tmp/atomik-redis-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return e;
    e.root = tmpl;
    e.ok = e.baseline_ops > 0;
  }
  return e;
}

struct Pair {
  std::unique_ptr<atomik::RedisReplicator> a;
  std::unique_ptr<atomik::RedisReplicator> b;
};

Pair start_pair(const std::string& name,
                atomik::SyncPolicy sync = atomik::SyncPolicy::kEveryRecord,
                bool with_node = false, std::uint32_t num_contexts = kAddresses,
                bool add = false) {
  Env& e = env();
  atomik::RedisOptions o;
  o.url = e.server->url();
  o.table = name;
  o.log = false;
  o.block_ms = 100;
  o.max_entry_records = 65536;
  atomik::PersistentOptions storage;
  storage.sync = sync;
  storage.num_contexts = num_contexts;
  if (add) storage.group = atomik::TableGroup::kAdd;
  Pair p;
  auto start = [&](const std::string& dir) {
    if (!with_node) return atomik::RedisReplicator::start(dir, storage, o);
    atomik::NodeOptions no;
    no.data_dir = dir;
    no.listen = "127.0.0.1:0";
    no.storage = storage;
    no.log = false;
    return atomik::RedisReplicator::start_node(no, o);
  };
  auto a = start(e.root + "/" + name + "-a");
  auto b = start(e.root + "/" + name + "-b");
  if (a.ok()) p.a = std::move(*a);
  if (b.ok()) p.b = std::move(*b);
  return p;
}

// CPU seconds used so far by this process (every thread: both nodes, their
// WAL flushers, publishers and readers, the benchmark's) plus redis-server
// (INFO cpu over `ctl`). On a 2-core machine shared with other work, CPU
// per delta is the steadier measure of cost; the rate is the one of record.
double cpu_seconds(atomik::transport::RedisLink& ctl) {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  double s =
      static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  auto r = ctl.run({"INFO", "cpu"});
  if (!r.ok()) return s;
  const std::string info(atomik::transport::reply_str(r->get()));
  for (const char* key : {"used_cpu_sys:", "used_cpu_user:"}) {
    const std::size_t at = info.find(key);
    if (at != std::string::npos) {
      s += std::strtod(info.c_str() + at + std::strlen(key), nullptr);
    }
  }
  return s;
}

// Batches of state.range(0) deltas, 8 per iteration (A keeps publishing
// while B applies), then waits for B. state.range(1): 0 = WAL fdatasync per
// batch (SyncPolicy::kEveryRecord), 1 = SyncPolicy::kNone (write() only).
// state.range(2): address bits (20 unless given): tables of 2^bits
// contexts, random addresses over all of them (16: the tables stay in
// cache; 20: 24 MiB each, so every delta is a cache miss per table).
// state.range(3), when given: 1 = tables of the add group (counters).
// `iterations` times: 8 batches of batch->size() random deltas (addresses
// of `bits` bits, from the generator state *x) into p.a, then wait until
// p.b has applied all *total deltas sent so far (*total grows by what is
// sent). Returns the wall seconds, or -1 when accum_batch failed.
double run_iterations(Pair& p, std::vector<atomik::FrameRecord>* batch,
                      int bits, int iterations, std::uint64_t* x,
                      std::uint64_t* total) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < iterations; ++it) {
    for (int b = 0; b < 8; ++b) {
      for (auto& r : *batch) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        r = {static_cast<atomik::Addr>(*x >> (64 - bits)), *x | 1};
      }
      if (!p.a->accum_batch(*batch).ok()) return -1;
      *total += batch->size();
    }
    // Short sleeps, not a yield spin: with 2 cores a spinning waiter takes
    // CPU from what is measured (node B's reader, redis-server). The poll
    // adds at most ~50 us to an iteration of tens of milliseconds.
    while (p.b->stats().deltas_applied < *total) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

void replicate_batched(benchmark::State& state, bool with_node) {
  Env& e = env();
  if (!e.ok) {
    state.SkipWithError("redis-server or redis-benchmark unavailable");
    return;
  }
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const bool no_sync = state.range(1) != 0;
  const int bits = state.range(2) != 0 ? static_cast<int>(state.range(2)) : 20;
  const bool add = state.range(3) != 0;
  Pair p = start_pair(
      std::string(with_node ? "node" : "") + "batched" + std::to_string(n) +
          (no_sync ? "n" : "e") + std::to_string(bits) + (add ? "add" : ""),
      no_sync ? atomik::SyncPolicy::kNone : atomik::SyncPolicy::kEveryRecord,
      with_node, std::uint32_t{1} << bits, add);
  if (!p.a || !p.b) {
    state.SkipWithError("RedisReplicator::start failed");
    return;
  }
  std::vector<atomik::FrameRecord> batch(n);
  std::uint64_t x = 1;
  std::uint64_t total = 0;
  double cpu = 0;  // the iterations' CPU time (cpu_seconds)
  atomik::transport::LinkConfig cfg;
  cfg.endpoint = *atomik::parse_redis_url(e.server->url());
  atomik::transport::RedisLink ctl(cfg);
  for (auto _ : state) {
    const double c0 = cpu_seconds(ctl);
    if (run_iterations(p, &batch, bits, 1, &x, &total) < 0) {
      state.SkipWithError("accum_batch failed");
      return;
    }
    cpu += cpu_seconds(ctl) - c0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["deltas_per_s"] = benchmark::Counter(
      static_cast<double>(total), benchmark::Counter::kIsRate);
  state.counters["cpu_ns_per_delta"] =
      total > 0 ? cpu * 1e9 / static_cast<double>(total) : 0;
  state.counters["baseline_xadd_per_s"] = e.baseline_ops;
  state.counters["x_baseline"] = benchmark::Counter(
      static_cast<double>(total) / e.baseline_ops, benchmark::Counter::kIsRate);
}

void BM_RedisReplicateBatched(benchmark::State& state) {
  replicate_batched(state, /*with_node=*/false);
}
void BM_RedisNodeReplicateBatched(benchmark::State& state) {
  replicate_batched(state, /*with_node=*/true);
}
BENCHMARK(BM_RedisNodeReplicateBatched)
    ->ArgNames({"batch", "nosync", "addr_bits", "add"})
    ->Args({4096, 0, 20, 0})
    ->Args({65536, 0, 20, 0})
    ->Args({65536, 0, 20, 1})
    ->Args({65536, 1, 20, 0})
    ->Args({65536, 0, 16, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The add group against the xor group, both `node --redis` pairs at 2^20
// addresses, batch 65536, fdatasync per batch: one pair of each, one
// warm-up iteration of BM_RedisNodeReplicateBatched's workload each, then
// 30 iterations each taken in turn (atomik_bench::alternate_rounds).
// Counters: the medians of the rates and of the per-iteration ratios
// add / xor (the figure of record, target >= 0.9).
void BM_RedisNodeAddOverXor(benchmark::State& state) {
  Env& e = env();
  if (!e.ok) {
    state.SkipWithError("redis-server or redis-benchmark unavailable");
    return;
  }
  atomik_bench::Alternated r;
  for (auto _ : state) {
    Pair p[2];  // [0] xor, [1] add
    std::vector<atomik::FrameRecord> batch(65536);
    std::uint64_t x[2] = {1, 2};
    std::uint64_t total[2] = {0, 0};
    for (int g = 0; g < 2; ++g) {
      p[g] = start_pair(g == 0 ? "altxor" : "altadd",
                        atomik::SyncPolicy::kEveryRecord, /*with_node=*/true,
                        kAddresses, /*add=*/g == 1);
      if (!p[g].a || !p[g].b ||
          run_iterations(p[g], &batch, 20, 1, &x[g], &total[g]) < 0) {
        state.SkipWithError("start or warm-up failed");
        return;
      }
    }
    r = atomik_bench::alternate_rounds(
        30, 8.0 * static_cast<double>(batch.size()),
        [&](bool add, std::string* error) {
          const int g = add ? 1 : 0;
          const double s =
              run_iterations(p[g], &batch, 20, 1, &x[g], &total[g]);
          if (s < 0) *error = "accum_batch failed";
          return s;
        });
  }
  if (!r.error.empty()) {
    state.SkipWithError(r.error.c_str());
    return;
  }
  atomik_bench::report_add_over_xor(state, r, "node --redis, 2^20 addresses");
}
BENCHMARK(BM_RedisNodeAddOverXor)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_RedisReplicateBatched)
    ->ArgNames({"batch", "nosync", "addr_bits"})
    ->Args({1, 0, 20})
    ->Args({256, 0, 20})
    ->Args({4096, 0, 20})
    ->Args({65536, 0, 20})
    ->Args({65536, 1, 20})
    ->Args({65536, 0, 16})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The local ceiling under the path above, without Redis: node A's
// PersistentTable::accum_batch() plus node B's apply_batch() of the same
// batches (both WALs, SyncPolicy as in range(1)), on one thread.
void BM_RedisWalCeiling(benchmark::State& state) {
  Env& e = env();
  if (e.root.empty()) {
    state.SkipWithError("no temp directory");
    return;
  }
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  atomik::PersistentOptions o;
  o.sync = state.range(1) != 0 ? atomik::SyncPolicy::kNone
                               : atomik::SyncPolicy::kEveryRecord;
  o.num_contexts = kAddresses;
  const std::string tag =
      std::to_string(n) + "-" + std::to_string(state.range(1));
  auto a = atomik::PersistentTable::open(e.root + "/ceil-a-" + tag, o);
  auto b = atomik::PersistentTable::open(e.root + "/ceil-b-" + tag, o);
  if (!a.ok() || !b.ok()) {
    state.SkipWithError("PersistentTable::open failed");
    return;
  }
  std::vector<std::pair<std::uint32_t, std::uint64_t>> batch(n);
  std::uint64_t x = 1;
  std::uint64_t total = 0;
  for (auto _ : state) {
    for (int k = 0; k < 8; ++k) {
      for (auto& d : batch) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        d = {static_cast<atomik::Addr>(x >> 44), x | 1};
      }
      if (!(*a)->accum_batch(batch).ok() ||
          !(*b)->apply_batch(42, total + 1, batch, false).ok()) {
        state.SkipWithError("accum_batch/apply_batch failed");
        return;
      }
      total += n;
    }
    if (!(*b)->sync().ok()) state.SkipWithError("sync failed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["deltas_per_s"] = benchmark::Counter(
      static_cast<double>(total), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RedisWalCeiling)
    ->ArgNames({"batch", "nosync"})
    ->Args({65536, 0})
    ->Args({65536, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The Redis transport alone, no WAL: A XADDs frames of range(0) records
// (one RedisLink), a reader thread XREADs them (its own RedisLink),
// validates each frame (parse_frame) and applies it to a DeltaStream
// (exactly-once, digest kept current). 8 frames per iteration.
void BM_RedisTransportFrames(benchmark::State& state) {
  Env& e = env();
  if (!e.ok) {
    state.SkipWithError("redis-server unavailable");
    return;
  }
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string key = "bench-transport-" + std::to_string(n);
  atomik::transport::LinkConfig cfg;
  cfg.endpoint = *atomik::parse_redis_url(e.server->url());
  atomik::transport::RedisLink pub(cfg);
  atomik::StreamOptions so;
  so.origin = 2;
  so.window = std::uint64_t{1} << 20;
  so.retain_per_origin = 0;
  auto b = atomik::DeltaStream::create(so);
  if (!b.ok()) {
    state.SkipWithError("DeltaStream::create failed");
    return;
  }
  std::atomic<std::uint64_t> applied{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    atomik::transport::RedisLink sub(cfg);
    std::string from = "0-0";
    while (!stop.load()) {
      auto r = sub.run(
          {"XREAD", "COUNT", "64", "BLOCK", "50", "STREAMS", key, from}, 50);
      if (!r.ok()) continue;
      const redisReply* top = r->get();
      if (atomik::transport::reply_size(top) == 0) continue;
      const redisReply* entries =
          atomik::transport::reply_at(atomik::transport::reply_at(top, 0), 1);
      for (std::size_t i = 0; i < atomik::transport::reply_size(entries); ++i) {
        const redisReply* en = atomik::transport::reply_at(entries, i);
        from = std::string(
            atomik::transport::reply_str(atomik::transport::reply_at(en, 0)));
        const std::string_view v = atomik::transport::reply_str(
            atomik::transport::reply_at(atomik::transport::reply_at(en, 1), 1));
        auto f = atomik::parse_frame(std::span<const std::byte>(
            reinterpret_cast<const std::byte*>(v.data()), v.size()));
        if (!f.ok()) continue;
        auto out = b->apply_frame(*f);
        if (out.ok()) applied.fetch_add(out->applied);
      }
    }
  });
  std::vector<atomik::FrameRecord> recs(n);
  std::uint64_t x = 1;
  std::uint64_t total = 0;
  for (auto _ : state) {
    for (int k = 0; k < 8; ++k) {
      for (auto& r : recs) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        r = {static_cast<atomik::Addr>(x >> 44), x | 1};
      }
      auto frame = atomik::encode_frame(
          {.origin = 1, .epoch = 0, .base_seq = total + 1}, recs);
      if (!frame.ok() ||
          !pub.run({"XADD", key, "*", "f",
                    std::string_view(
                        reinterpret_cast<const char*>(frame->data()),
                        frame->size())})
               .ok()) {
        state.SkipWithError("XADD failed");
        break;
      }
      total += n;
    }
    while (applied.load() < total) std::this_thread::yield();
  }
  stop = true;
  reader.join();
  state.SetItemsProcessed(static_cast<std::int64_t>(total));
  state.counters["deltas_per_s"] = benchmark::Counter(
      static_cast<double>(total), benchmark::Counter::kIsRate);
  state.counters["x_baseline"] = benchmark::Counter(
      static_cast<double>(total) / e.baseline_ops, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RedisTransportFrames)
    ->Arg(4096)
    ->Arg(65536)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_RedisEndToEndLatency(benchmark::State& state) {
  Env& e = env();
  if (!e.ok) {
    state.SkipWithError("redis-server unavailable");
    return;
  }
  Pair p = start_pair("latency");
  if (!p.a || !p.b) {
    state.SkipWithError("RedisReplicator::start failed");
    return;
  }
  std::vector<double> us;
  std::uint64_t v = 0;
  for (auto _ : state) {
    ++v;
    const auto t0 = std::chrono::steady_clock::now();
    if (!p.a->accum(7, v ^ (v - 1)).ok()) {
      state.SkipWithError("accum failed");
      return;
    }
    while (true) {
      auto r = p.b->read(7);
      if (r.ok() && *r == v) break;
      std::this_thread::yield();
    }
    us.push_back(std::chrono::duration<double, std::micro>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] =
        us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
}
BENCHMARK(BM_RedisEndToEndLatency)
    ->Iterations(2000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
