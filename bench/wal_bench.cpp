// SPDX-License-Identifier: Apache-2.0
// WAL and recovery throughput against raw file I/O measured in the same
// run. Workloads:
//   BM_RawWrite16Sync1ms     write() of each 16-byte record, fdatasync every
//                            1 ms: the baseline for group commit
//   BM_RawBufferedSync1ms    the same bytes gathered in memory, one write() +
//                            fdatasync per 1 ms: the best raw case
//   BM_WalAppendGroup1ms     WalWriter kGroup (sync 1 ms after the first
//                            pending record), append_async of 16-byte deltas
//                            (consecutive seqs: the writer coalesces them
//                            into DELTA_RUN frames, 12 bytes each); reports
//                            p99 commit latency (append to durable)
//   BM_WalAppendEveryRecord  WalWriter kEveryRecord, blocking append()
//   BM_RawWriteSyncEach      write(16 B) + fdatasync per record (baseline)
//   BM_RawReadSegments       read() of a WAL directory's files (warm cache)
//   BM_WalRecover            PersistentTable::open of that directory: read,
//                            check every checksum, dedup, apply (6 M deltas
//                            appended one by one under group commit, which
//                            the writer coalesces into DELTA_RUN frames)
//   BM_RawReadSegmentsRuns   read() of a log written by accum_batch
//   BM_WalRecoverRuns        PersistentTable::open of it (DELTA_RUN frames of
//                            1024 deltas, as nodes and Redis replicas write)
//   BM_RawReadSegmentsSingles, BM_WalRecoverSingles: the worst case, 2 M
//                            deltas of two interleaved origins, each its
//                            own 37-byte DELTA frame
// Run: wal_bench --benchmark_min_time=0.01 (Release build).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "atomik/persistent_table.hpp"
#include "atomik/wal.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string fresh_dir(const char* name) {
  const fs::path p =
      fs::temp_directory_path() / (std::string("atomik-walbench-") + name +
                                   "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void BM_RawWrite16Sync1ms(benchmark::State& state) {
  const std::string dir = fresh_dir("raw");
  const int fd = ::open((dir + "/raw.log").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  unsigned char rec[16] = {};
  std::uint64_t n = 0;
  std::uint64_t syncs = 0;
  auto last_sync = Clock::now();
  for (auto _ : state) {
    std::memcpy(rec + 4, &n, 8);
    if (::write(fd, rec, sizeof rec) != 16) state.SkipWithError("write");
    ++n;
    const auto now = Clock::now();
    if (now - last_sync >= std::chrono::milliseconds(1)) {
      ::fdatasync(fd);
      ++syncs;
      last_sync = now;
    }
  }
  ::fdatasync(fd);
  ::close(fd);
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 16);
  state.counters["syncs"] = static_cast<double>(syncs);
}

void BM_RawBufferedSync1ms(benchmark::State& state) {
  const std::string dir = fresh_dir("rawbuf");
  const int fd = ::open((dir + "/raw.log").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  std::vector<unsigned char> buf;
  buf.reserve(1 << 20);
  std::uint64_t n = 0;
  std::uint64_t syncs = 0;
  auto last_sync = Clock::now();
  for (auto _ : state) {
    unsigned char rec[16] = {};
    std::memcpy(rec + 4, &n, 8);
    buf.insert(buf.end(), rec, rec + 16);
    ++n;
    const auto now = Clock::now();
    if (now - last_sync >= std::chrono::milliseconds(1)) {
      if (::write(fd, buf.data(), buf.size()) < 0) state.SkipWithError("write");
      buf.clear();
      ::fdatasync(fd);
      ++syncs;
      last_sync = now;
    }
  }
  if (::write(fd, buf.data(), buf.size()) < 0) state.SkipWithError("write");
  ::fdatasync(fd);
  ::close(fd);
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 16);
  state.counters["syncs"] = static_cast<double>(syncs);
}

void BM_WalAppendGroup1ms(benchmark::State& state) {
  const std::string dir = fresh_dir("group");
  auto w = atomik::WalWriter::open(dir, 1,
                                   {.sync = atomik::SyncPolicy::kGroup,
                                    .group_records = 1u << 30,
                                    .group_interval_us = 1000,
                                    .segment_bytes = std::uint64_t{1} << 30,
                                    .max_pending_bytes = 1 << 20})
               .value();
  // Every 64th record's append time, to measure its commit latency.
  std::deque<std::pair<atomik::Lsn, Clock::time_point>> inflight;
  std::vector<double> latencies_us;
  atomik::WalRecord r{.type = atomik::WalRecordType::kDelta, .origin = 1};
  std::uint64_t n = 0;
  auto drain = [&](Clock::time_point now) {
    const atomik::Lsn d = w->durable_lsn();
    while (!inflight.empty() && inflight.front().first <= d) {
      latencies_us.push_back(std::chrono::duration<double, std::micro>(
                                 now - inflight.front().second)
                                 .count());
      inflight.pop_front();
    }
  };
  for (auto _ : state) {
    r.seq = ++n;
    r.addr = static_cast<std::uint32_t>(n & 1023);
    r.value = n;
    auto lsn = w->append_async(r);
    if ((n & 63) == 0) {
      const auto now = Clock::now();
      inflight.emplace_back(*lsn, now);
      drain(now);
    }
  }
  if (!inflight.empty()) {
    (void)w->wait_durable(inflight.back().first);
    drain(Clock::now());
  }
  const atomik::WalWriterStats st = w->stats();
  (void)w->close();
  fs::remove_all(dir);
  std::sort(latencies_us.begin(), latencies_us.end());
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 16);
  state.counters["syncs"] = static_cast<double>(st.syncs);
  if (!latencies_us.empty()) {
    state.counters["p50_commit_us"] = latencies_us[latencies_us.size() / 2];
    state.counters["p99_commit_us"] =
        latencies_us[latencies_us.size() * 99 / 100];
  }
}

void BM_WalAppendEveryRecord(benchmark::State& state) {
  const std::string dir = fresh_dir("every");
  auto w = atomik::WalWriter::open(dir, 1, {}).value();
  atomik::WalRecord r{.type = atomik::WalRecordType::kDelta, .origin = 1};
  std::uint64_t n = 0;
  for (auto _ : state) {
    r.seq = ++n;
    r.value = n;
    if (!w->append(r).ok()) state.SkipWithError("append");
  }
  (void)w->close();
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}

void BM_RawWriteSyncEach(benchmark::State& state) {
  const std::string dir = fresh_dir("rawsync");
  const int fd = ::open((dir + "/raw.log").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  unsigned char rec[16] = {};
  for (auto _ : state) {
    if (::write(fd, rec, sizeof rec) != 16) state.SkipWithError("write");
    ::fdatasync(fd);
  }
  ::close(fd);
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}

// Removes the recovery directory when the program exits.
struct DirRemover {
  std::string dir;
  ~DirRemover() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// A table directory (built once per kind, 64 MiB segments) holding deltas
// appended one at a time under group commit: with `interleave` two origins
// alternate, so every delta is its own 37-byte DELTA frame (the worst case);
// without, the writer coalesces them into DELTA_RUN frames, as it does for
// a table's own accum()s.
std::string make_recovery_dir(const char* name, bool interleave,
                              std::uint32_t n) {
  {
    const std::string d = fresh_dir(name);
    std::uint64_t origin = 0;
    {
      auto t = atomik::PersistentTable::open(d, {.num_contexts = 1024}).value();
      origin = t->origin();
      (void)t->close();
    }
    // The table's own records, as PersistentTable::accum would log them.
    auto w = atomik::WalWriter::open(d, 1,
                                     {.sync = atomik::SyncPolicy::kGroup,
                                      .group_records = 1u << 30,
                                      .group_interval_us = 1000,
                                      .segment_bytes = std::uint64_t{64} << 20})
                 .value();
    atomik::WalRecord r{.type = atomik::WalRecordType::kDelta};
    for (std::uint32_t i = 0; i < n; ++i) {
      r.origin = interleave ? origin + (i & 1) : origin;
      r.seq = interleave ? i / 2 + 1 : i + 1;
      r.addr = i & 1023;
      r.value = std::uint64_t{i} * 0x9E3779B97F4A7C15ull;
      (void)w->append_async(r);
    }
    (void)w->close();
    return d;
  }
}

const std::string& recovery_dir() {
  static const DirRemover remover{
      make_recovery_dir("recover", false, 6'000'000)};
  return remover.dir;
}
const std::string& recovery_singles_dir() {
  static const DirRemover remover{
      make_recovery_dir("recover-singles", true, 2'000'000)};
  return remover.dir;
}

// A table directory with 6 M deltas logged by accum_batch in batches of
// 1024 (DELTA_RUN frames; about the same bytes as recovery_dir()).
const std::string& recovery_runs_dir() {
  static const DirRemover remover{[] {
    const std::string d = fresh_dir("recover-runs");
    auto t = atomik::PersistentTable::open(
                 d, {.num_contexts = 1024,
                     .sync = atomik::SyncPolicy::kNone,
                     .segment_bytes = std::uint64_t{64} << 20})
                 .value();
    std::vector<std::pair<std::uint32_t, std::uint64_t>> b(1024);
    std::uint64_t i = 0;
    for (int k = 0; k < 6'000'000 / 1024; ++k) {
      for (auto& [a, v] : b) {
        a = static_cast<std::uint32_t>(i & 1023);
        v = i++ * 0x9E3779B97F4A7C15ull;
      }
      (void)t->accum_batch(b, /*wait=*/false);
    }
    (void)t->close();
    return d;
  }()};
  return remover.dir;
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".wal") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

void raw_read(benchmark::State& state, const std::string& dir) {
  const auto files = segment_files(dir);
  std::vector<char> buf(std::size_t{64} << 20);
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& f : files) {
      const int fd = ::open(f.c_str(), O_RDONLY);
      for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n <= 0) break;
        bytes += static_cast<std::uint64_t>(n);
        benchmark::DoNotOptimize(buf.data());
      }
      ::close(fd);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_RawReadSegments(benchmark::State& state) {
  raw_read(state, recovery_dir());
}
void BM_RawReadSegmentsRuns(benchmark::State& state) {
  raw_read(state, recovery_runs_dir());
}
void BM_RawReadSegmentsSingles(benchmark::State& state) {
  raw_read(state, recovery_singles_dir());
}

void recover(benchmark::State& state, const std::string& dir) {
  std::uint64_t bytes = 0;
  for (const std::string& f : segment_files(dir)) bytes += fs::file_size(f);
  std::uint64_t records = 0;
  for (auto _ : state) {
    auto t = atomik::PersistentTable::open(
        dir, {.num_contexts = 1024, .sync = atomik::SyncPolicy::kNone});
    if (!t.ok()) {
      state.SkipWithError(t.status().to_string().c_str());
      break;
    }
    records += (*t)->recovery_report().records_ok;
    (void)(*t)->close();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(
      bytes * static_cast<std::uint64_t>(state.iterations())));
  state.SetItemsProcessed(static_cast<std::int64_t>(records));
}

void BM_WalRecover(benchmark::State& state) { recover(state, recovery_dir()); }
void BM_WalRecoverRuns(benchmark::State& state) {
  recover(state, recovery_runs_dir());
}
void BM_WalRecoverSingles(benchmark::State& state) {
  recover(state, recovery_singles_dir());
}

BENCHMARK(BM_RawWrite16Sync1ms)->UseRealTime();
BENCHMARK(BM_RawBufferedSync1ms)->UseRealTime();
BENCHMARK(BM_WalAppendGroup1ms)->UseRealTime();
BENCHMARK(BM_RawWriteSyncEach)->UseRealTime();
BENCHMARK(BM_WalAppendEveryRecord)->UseRealTime();
BENCHMARK(BM_RawReadSegments)->UseRealTime();
BENCHMARK(BM_WalRecover)->UseRealTime();
BENCHMARK(BM_RawReadSegmentsRuns)->UseRealTime();
BENCHMARK(BM_WalRecoverRuns)->UseRealTime();
BENCHMARK(BM_RawReadSegmentsSingles)->UseRealTime();
BENCHMARK(BM_WalRecoverSingles)->UseRealTime();

}  // namespace
