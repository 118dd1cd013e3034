// SPDX-License-Identifier: Apache-2.0
// WalWriter and read_wal(): format vector, round trips, group commit,
// segment rolls, torn tails versus corruption (docs/format/wal.md).
#include "atomik/wal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "storage/wal_record.hpp"
#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

WalRecord delta(std::uint64_t seq, std::uint32_t addr, std::uint64_t d) {
  return WalRecord{.type = WalRecordType::kDelta,
                   .origin = 0x0102030405060708,
                   .seq = seq,
                   .addr = addr,
                   .value = d};
}

// Reads `dir` and returns the non-mark records.
std::vector<WalRecord> read_all(const std::string& dir, RecoveryMode mode,
                                RecoveryReport* report, Status* status) {
  std::vector<WalRecord> out;
  *status = read_wal(
      dir, 1, mode,
      [&](const WalRecord& r, const WalPlace&) {
        if (!is_wal_bookkeeping(r.type)) out.push_back(r);
        return Status();
      },
      report);
  return out;
}

// Segment header version 1 (before tables had a shape) still reads, as
// xor/64; the writer's bytes equal it but for the header (version 2).
// The public names of the record types, the writer's own ones included
// (wal dump prints them), and which of them a replay skips.
TEST(WalFormatTest, RecordTypeNamesAndBookkeeping) {
  const std::pair<int, const char*> names[] = {
      {0, "unknown"}, {1, "delta"},     {2, "load"},     {3, "undo-delta"},
      {4, "undo"},    {5, "redo"},      {6, "epoch"},    {7, "sync-mark"},
      {8, "seal"},    {9, "delta-run"}, {10, "unknown"}, {255, "unknown"}};
  for (const auto& [n, name] : names) {
    const auto t = static_cast<WalRecordType>(n);
    EXPECT_STREQ(to_string(t), name) << n;
    EXPECT_EQ(is_wal_bookkeeping(t), n == 7 || n == 8) << n;
  }
  EXPECT_EQ(storage::kSyncMark, static_cast<WalRecordType>(7));
  EXPECT_EQ(storage::kSeal, static_cast<WalRecordType>(8));
  EXPECT_EQ(storage::kDeltaRun, static_cast<WalRecordType>(9));
}

TEST(WalFormatTest, MatchesCheckedInVector) {
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 1, {});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE((*w)->append(delta(1, 7, 0xff)).ok());
  ASSERT_TRUE((*w)->close().ok());
  auto got = read_bytes(dir.sub("0000000000000001.wal"));
  const std::string vec =
      std::string(ATOMIK_TEST_VECTORS_DIR) + "/wal_segment_v1.bin";
  const auto v1 = read_bytes(vec);
  EXPECT_EQ(got, read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) +
                            "/wal_segment_v2.bin"));
  EXPECT_TRUE(
      std::equal(got.begin() + 32, got.end(), v1.begin() + 32, v1.end()));
  {
    TempDir old;
    write_bytes(old.sub("0000000000000001.wal"), v1);
    RecoveryReport report;
    Status s;
    const auto recs = read_all(old.path(), RecoveryMode::kStrict, &report, &s);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].value, 0xffu);
    ASSERT_TRUE(report.shape.has_value());
    EXPECT_EQ(*report.shape, TableShape{});
  }
  got = v1;
  ASSERT_EQ(got.size(), 32u + 37u + 17u);
  // Hand-checked fields (docs/format/wal.md, worked example).
  EXPECT_EQ(std::memcmp(got.data(), "ATMKWAL\0", 8), 0);
  EXPECT_EQ(storage::load_le<std::uint32_t>(got.data() + 36), 28u);  // length
  EXPECT_EQ(got[40], std::byte{1});                                  // DELTA
  EXPECT_EQ(storage::load_le<std::uint64_t>(got.data() + 41),
            0x0102030405060708u);
  EXPECT_EQ(got[69 + 8], std::byte{8});  // SEAL
  EXPECT_EQ(storage::load_le<std::uint64_t>(got.data() + 78), 69u);
}

// DELTA_RUN (docs/format/wal.md): the vector was generated from the spec by
// tests/vectors/wal_gen.py, not by this encoder.
TEST(WalFormatTest, RunMatchesVectorFromTheSpec) {
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 1, {});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {{7, 0xff},
                                                                  {9, 0x1234}};
  auto lsn = (*w)->append_run_async(0x0102030405060708, 1, b);
  ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
  EXPECT_EQ(*lsn, 1u);
  ASSERT_TRUE((*w)->close().ok());
  // The frames equal the vector's; the header is version 2's (xor/64), as
  // in wal_segment_v2.bin.
  const auto got = read_bytes(dir.sub("0000000000000001.wal"));
  const auto run = read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) +
                              "/wal_segment_run_v1.bin");
  const auto v2 =
      read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) + "/wal_segment_v2.bin");
  ASSERT_EQ(got.size(), run.size());
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + 32, v2.begin()));
  EXPECT_TRUE(std::equal(got.begin() + 32, got.end(), run.begin() + 32));
}

// Segment header version 2 (docs/format/wal.md, format version 3): the
// vectors generated from the spec by tests/vectors/wal_gen.py equal the
// writer's bytes for their shape and read back with that shape.
TEST(WalFormatTest, Version2HeaderVectors) {
  const TableShape add16{.group = TableGroup::kAdd, .word_bits = 16};
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 1,
                           {.table_group = TableGroup::kAdd, .word_bits = 16});
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {{7, 1},
                                                                  {7, 2}};
  ASSERT_TRUE((*w)->append_run_async(0x0102030405060708, 1, b).ok());
  ASSERT_TRUE((*w)->close().ok());
  const auto got = read_bytes(dir.sub("0000000000000001.wal"));
  EXPECT_EQ(got, read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) +
                            "/wal_segment_v2_add16.bin"));
  EXPECT_EQ(got[24], std::byte{16});
  EXPECT_EQ(got[25], std::byte{2});
  RecoveryReport report;
  Status s;
  const auto recs = read_all(dir.path(), RecoveryMode::kStrict, &report, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(recs.size(), 2u);
  ASSERT_TRUE(report.shape.has_value());
  EXPECT_EQ(*report.shape, add16);
  // A second segment of another shape is a bad header naming both.
  auto w2 = WalWriter::open(dir.path(), 2, {});
  ASSERT_TRUE(w2.ok()) << w2.status().to_string();
  ASSERT_TRUE((*w2)->append(delta(3, 7, 1)).ok());
  ASSERT_TRUE((*w2)->close().ok());
  (void)read_all(dir.path(), RecoveryMode::kStrict, &report, &s);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("segment holds xor/64, the log is add/16"));
}

// Runs of `n` deltas: (i % 97, i * golden) with seqs first, first + 1, ...
std::vector<std::pair<std::uint32_t, std::uint64_t>> batch(std::size_t n) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> b;
  for (std::size_t i = 0; i < n; ++i) {
    b.emplace_back(static_cast<std::uint32_t>(i % 97),
                   i * 0x9E3779B97F4A7C15ull + 1);
  }
  return b;
}

TEST(WalWriterTest, LongBatchesSplitIntoRunsOf4096AndReadBackInOrder) {
  TempDir dir;
  const auto b = batch(10000);
  {
    auto w = WalWriter::open(dir.path(), 1, {.sync = SyncPolicy::kNone});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append_async(delta(1, 5, 0x55)).ok());
    auto lsn = (*w)->append_run_async(0x0102030405060708, 2, b);
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_EQ(*lsn, 2u);  // one Lsn per append
    EXPECT_EQ((*w)->stats().records, 10001u);
    ASSERT_TRUE((*w)->close().ok());
  }
  // Whole runs to the run visitor ...
  std::vector<std::uint32_t> counts;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> got;
  std::uint64_t next_seq = 2;
  RecoveryReport rep;
  Status s = read_wal(
      dir.path(), 1, RecoveryMode::kStrict,
      [](const WalRecord&, const WalPlace&) { return Status(); },
      [&](const WalDeltaRun& run, const WalPlace&) {
        EXPECT_EQ(run.first_seq, next_seq);
        next_seq += run.count;
        counts.push_back(run.count);
        for (std::uint32_t i = 0; i < run.count; ++i) {
          got.emplace_back(run.addr(i), run.delta(i));
        }
        return Status();
      },
      &rep);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(counts, (std::vector<std::uint32_t>{4096, 4096, 1808}));
  EXPECT_EQ(got, b);
  EXPECT_EQ(rep.records_ok, 10001u);
  // ... and expanded into kDelta records by the one-visitor read_wal.
  const auto recs = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(recs.size(), 10001u);
  for (std::size_t i = 0; i < b.size(); ++i) {
    ASSERT_EQ(recs[i + 1], (WalRecord{.type = WalRecordType::kDelta,
                                      .origin = 0x0102030405060708,
                                      .seq = i + 2,
                                      .addr = b[i].first,
                                      .value = b[i].second}))
        << i;
  }
}

// Consecutive deltas of one origin waiting in one batch share a DELTA_RUN;
// anything else (another origin, a seq gap, another type) starts a frame.
TEST(WalWriterTest, ConsecutiveDeltasPendingTogetherCoalesceIntoRuns) {
  TempDir dir;
  std::vector<WalRecord> want;
  {
    auto w = WalWriter::open(dir.path(), 1,
                             {.sync = SyncPolicy::kGroup,
                              .group_records = 1u << 30,
                              .group_interval_us = 1000000000})
                 .value();
    auto add = [&](std::uint64_t origin, std::uint64_t seq, WalRecordType t) {
      want.push_back({.type = t,
                      .origin = origin,
                      .seq = seq,
                      .addr = static_cast<std::uint32_t>(seq % 5),
                      .value = seq * 3});
      return w->append_async(want.back()).value();
    };
    for (std::uint64_t q = 1; q <= 6000; ++q) add(7, q, WalRecordType::kDelta);
    add(8, 1, WalRecordType::kDelta);  // another origin
    add(8, 3, WalRecordType::kDelta);  // a gap
    add(8, 4, WalRecordType::kDelta);  // continues 3
    add(8, 5, WalRecordType::kLoad);   // another type
    const Lsn last = add(8, 6, WalRecordType::kDelta);
    EXPECT_EQ(last, 6005u);
    ASSERT_TRUE(w->sync().ok());  // one buffer: all of it pending together
    EXPECT_GE(w->durable_lsn(), last);
    ASSERT_TRUE(w->close().ok());
  }
  std::vector<std::uint32_t> runs;
  std::vector<WalRecordType> singles;
  RecoveryReport rep;
  Status s = read_wal(
      dir.path(), 1, RecoveryMode::kStrict,
      [&](const WalRecord& r, const WalPlace&) {
        if (r.type != storage::kSyncMark && r.type != storage::kSeal)
          singles.push_back(r.type);
        return Status();
      },
      [&](const WalDeltaRun& r, const WalPlace&) {
        runs.push_back(r.count);
        return Status();
      },
      &rep);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(runs, (std::vector<std::uint32_t>{4096, 1904, 2}));
  EXPECT_EQ(singles, (std::vector<WalRecordType>{WalRecordType::kDelta,
                                                 WalRecordType::kLoad,
                                                 WalRecordType::kDelta}));
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s), want);
}

// Coalescing never builds a run the reader would refuse: no run starts at
// seq 0 and none wraps past the largest seq.
TEST(WalWriterTest, CoalescingStopsAtSeqZeroAndAtTheLargestSeq) {
  TempDir dir;
  const std::uint64_t max = ~std::uint64_t{0};
  const std::vector<std::uint64_t> seqs = {0, 1, 2, max - 1, max, 0, 1};
  std::vector<WalRecord> want;
  {
    auto w = WalWriter::open(dir.path(), 1,
                             {.sync = SyncPolicy::kGroup,
                              .group_records = 1u << 30,
                              .group_interval_us = 1000000000})
                 .value();
    for (std::uint64_t q : seqs) {
      want.push_back(delta(q, 1, q ^ 0x5A));
      ASSERT_TRUE(w->append_async(want.back()).ok());
    }
    ASSERT_TRUE(w->close().ok());
  }
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s), want);
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(rep.records_ok, seqs.size());
}

TEST(WalWriterTest, BadRunsAreRefusedAndTheWriterStaysUsable) {
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 1, {}).value();
  const auto b = batch(3);
  EXPECT_EQ(w->append_run_async(1, 1, {}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(w->append_run_async(1, 0, b).status().code(),
            Code::kInvalidArgument);
  const auto over = w->append_run_async(1, ~std::uint64_t{0} - 1, b);
  EXPECT_EQ(over.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("overflow"));
  auto ok = w->append_run_async(1, 1, b);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(w->wait_durable(*ok).ok());
  EXPECT_EQ(w->stats().records, 3u);
}

// A run whose count field disagrees with its length, under a good checksum,
// is malformed: corruption, never a shorter or longer run.
TEST(WalReaderTest, RunWithWrongCountUnderAGoodChecksumIsCorruption) {
  TempDir dir;
  std::vector<std::byte> b;
  storage::append_header(b, 1);
  const std::size_t at = b.size();
  storage::append_run_frame(b, 9, 1, batch(3));
  storage::store_le<std::uint32_t>(b.data() + at + 9 + 16, 2);  // count 3 -> 2
  const std::size_t len = storage::kRunHeadSize + 3 * storage::kRunEntrySize;
  storage::store_le<std::uint32_t>(
      b.data() + at, storage::checksum32({b.data() + at + 4, 5 + len}));
  storage::append_frame(b,
                        WalRecord{.type = storage::kSeal, .value = b.size()});
  write_bytes(dir.sub("0000000000000001.wal"), b);
  RecoveryReport rep;
  Status s;
  const auto recs = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.to_string();
  EXPECT_THAT(std::string(s.message()), HasSubstr("offset 32"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("count 2"));
  EXPECT_TRUE(recs.empty());
}

TEST(WalWriterTest, RoundTripsEveryRecordType) {
  TempDir dir;
  std::vector<WalRecord> want = {
      delta(1, 1, 0xAA),
      {.type = WalRecordType::kLoad,
       .origin = 5,
       .seq = 2,
       .addr = 3,
       .value = 9},
      {.type = WalRecordType::kUndoDelta,
       .origin = 5,
       .seq = 3,
       .addr = 3,
       .value = 1},
      {.type = WalRecordType::kUndo, .origin = 5, .seq = 4, .addr = 3},
      {.type = WalRecordType::kRedo, .origin = 5, .seq = 5, .addr = 3},
      {.type = WalRecordType::kEpoch, .value = 12},
  };
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    for (const auto& r : want) ASSERT_TRUE((*w)->append(r).ok());
  }
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s), want);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(rep.records_ok, want.size());
  EXPECT_FALSE(rep.torn);
  EXPECT_TRUE(rep.last_sealed);
}

TEST(WalWriterTest, RejectsSyncMarkRecords) {
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 1, {});
  ASSERT_TRUE(w.ok());
  auto r = (*w)->append(WalRecord{.type = storage::kSyncMark});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  r = (*w)->append(WalRecord{.type = storage::kSeal});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST(WalWriterTest, RefusesSegmentThatHoldsData) {
  TempDir dir;
  { ASSERT_TRUE(WalWriter::open(dir.path(), 4, {}).ok()); }
  auto again = WalWriter::open(dir.path(), 4, {});
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
}

TEST(WalWriterTest, GroupPolicySharesOneSyncAmongManyRecords) {
  TempDir dir;
  WalOptions o{.sync = SyncPolicy::kGroup,
               .group_records = 100,
               .group_interval_us = 60'000'000};  // only the count triggers
  auto w = WalWriter::open(dir.path(), 1, o);
  ASSERT_TRUE(w.ok());
  const std::uint64_t before = (*w)->stats().syncs;
  Lsn last = 0;
  for (std::uint64_t i = 1; i <= 100; ++i)
    last = *(*w)->append_async(delta(i, 0, i));
  ASSERT_TRUE((*w)->wait_durable(last).ok());
  EXPECT_EQ((*w)->durable_lsn(), 100u);
  EXPECT_EQ((*w)->stats().syncs - before, 1u);
}

TEST(WalWriterTest, FullBufferBlocksTheAppenderUntilWritten) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1,
                             {.sync = SyncPolicy::kGroup,
                              .group_records = 1u << 30,
                              .group_interval_us = 60'000'000,
                              .max_pending_bytes = 4096});
    ASSERT_TRUE(w.ok());
    // 1000 loads = 37 KB (loads never coalesce): only the full buffer can
    // trigger the writes.
    for (std::uint64_t i = 1; i <= 1000; ++i) {
      WalRecord r = delta(i, 0, i);
      r.type = WalRecordType::kLoad;
      ASSERT_TRUE((*w)->append_async(r).ok());
    }
    EXPECT_GE((*w)->stats().batches, 8u);
    ASSERT_TRUE((*w)->sync().ok());
  }
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s).size(),
            1000u);
  EXPECT_TRUE(s.ok());
}

TEST(WalWriterTest, ConcurrentAppendsAreAllAcknowledgedAndRecovered) {
  TempDir dir;
  constexpr int kThreads = 4;
  constexpr std::uint64_t kEach = 200;
  {
    auto w = WalWriter::open(dir.path(), 1, {.sync = SyncPolicy::kEveryRecord});
    ASSERT_TRUE(w.ok());
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        for (std::uint64_t i = 1; i <= kEach; ++i) {
          WalRecord r = delta(i, static_cast<std::uint32_t>(t), i);
          r.origin = static_cast<std::uint64_t>(t);
          if (!(*w)->append(r).ok()) ++failures;
        }
      });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ((*w)->stats().records, kThreads * kEach);
  }
  RecoveryReport rep;
  Status s;
  auto recs = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(recs.size(), kThreads * kEach);
  // Per origin, seqs arrive in order.
  std::vector<std::uint64_t> next(kThreads, 1);
  for (const auto& r : recs) EXPECT_EQ(r.seq, next[r.origin]++);
}

TEST(WalWriterTest, RollsSegmentsAtTheSizeLimit) {
  TempDir dir;
  {
    auto w = WalWriter::open(
        dir.path(), 1, {.sync = SyncPolicy::kNone, .segment_bytes = 4096});
    ASSERT_TRUE(w.ok());
    for (std::uint64_t i = 1; i <= 1000; ++i)
      ASSERT_TRUE((*w)->append(delta(i, 0, i)).ok());
    EXPECT_GT((*w)->current_segment(), 5u);
  }
  auto segs = list_wal_segments(dir.path());
  ASSERT_TRUE(segs.ok());
  EXPECT_GT(segs->size(), 5u);
  RecoveryReport rep;
  Status s;
  auto recs = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(recs.size(), 1000u);
  for (std::uint64_t i = 0; i < 1000; ++i) EXPECT_EQ(recs[i].seq, i + 1);
  EXPECT_EQ(rep.segments, segs->size());
}

TEST(WalWriterTest, ExplicitRollStartsTheNextSegment) {
  TempDir dir;
  auto w = WalWriter::open(dir.path(), 3, {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->append(delta(1, 0, 1)).ok());
  auto n = (*w)->roll();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  ASSERT_TRUE((*w)->append(delta(2, 0, 2)).ok());
  ASSERT_TRUE((*w)->close().ok());
  RecoveryReport rep;
  std::vector<std::uint64_t> segs_of;
  ASSERT_TRUE(read_wal(
                  dir.path(), 3, RecoveryMode::kStrict,
                  [&](const WalRecord& r, const WalPlace& p) {
                    if (r.type == WalRecordType::kDelta)
                      segs_of.push_back(p.segment);
                    return Status();
                  },
                  &rep)
                  .ok());
  EXPECT_EQ(segs_of, (std::vector<std::uint64_t>{3, 4}));
}

TEST(WalReaderTest, TornTailInLastSegmentIsReportedNotAnError) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    for (std::uint64_t i = 1; i <= 3; ++i)
      ASSERT_TRUE((*w)->append(delta(i, 0, i)).ok());
  }
  // Cut the seal and half of the last record: what a crash mid-write leaves.
  const std::string path = dir.sub("0000000000000001.wal");
  auto b = read_bytes(path);
  const std::size_t cut = b.size() - 17 - 20;
  b.resize(cut);
  write_bytes(path, b);
  // The sync horizon as a crash before record 3's sync leaves it: records
  // 1 and 2 synced (record 3 was never acknowledged).
  std::vector<std::byte> h;
  storage::append_horizon(h, 1, cut - 17);
  write_bytes(dir.sub(storage::kHorizonFileName), h);
  RecoveryReport rep;
  Status s;
  auto recs = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(recs.size(), 2u);
  ASSERT_TRUE(rep.torn.has_value());
  EXPECT_EQ(rep.torn->offset, cut - 17);
  EXPECT_EQ(rep.torn_bytes, 17u);
  EXPECT_FALSE(rep.first_bad.has_value());
}

// Three acknowledged records in segment 1, closed; returns the segment path.
std::string three_synced_records(const TempDir& dir) {
  auto w = WalWriter::open(dir.path(), 1, {});
  EXPECT_TRUE(w.ok());
  for (std::uint64_t i = 1; i <= 3; ++i) {
    EXPECT_TRUE((*w)->append(delta(i, 0, i)).ok());
  }
  EXPECT_TRUE((*w)->close().ok());
  return dir.sub("0000000000000001.wal");
}

// A cut of acknowledged records looks like a torn tail to the segment alone;
// the sync horizon tells them apart. `cut_from_end` bytes are removed.
void expect_lost_synced_data(std::size_t cut_from_end) {
  TempDir dir;
  const std::string path = three_synced_records(dir);
  auto b = read_bytes(path);
  const std::size_t seal_at = b.size() - 17;  // == the horizon
  b.resize(b.size() - cut_from_end);
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.to_string();
  EXPECT_THAT(s.to_string(), HasSubstr("lost synced data: " + path));
  EXPECT_THAT(s.to_string(),
              HasSubstr("synced up to offset " + std::to_string(seal_at)));
  auto recs = read_all(dir.path(), RecoveryMode::kSkip, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(recs.size(), 2u);
  ASSERT_TRUE(rep.lost.has_value());
  EXPECT_EQ(rep.lost->offset, seal_at - 37);  // record 3 is gone
  EXPECT_EQ(rep.lost_bytes, 37u);
  ASSERT_TRUE(rep.first_bad.has_value());
  EXPECT_THAT(rep.summary(), HasSubstr("lost synced data"));
  EXPECT_THAT(rep.summary(), Not(HasSubstr("torn tail")));
  for (const std::string& p : rep.problems) {
    EXPECT_THAT(p, Not(HasSubstr("torn tail")));
    EXPECT_THAT(p, Not(HasSubstr("unsealed")));
  }
  ASSERT_FALSE(rep.problems.empty());
  EXPECT_THAT(rep.problems.back(), HasSubstr("corruption: lost synced data"));
}

TEST(WalReaderTest, CutAtAFrameBoundaryBelowTheSyncHorizonIsLostData) {
  expect_lost_synced_data(17 + 37);  // the seal and record 3, exactly
}

TEST(WalReaderTest, CutMidFrameBelowTheSyncHorizonIsLostData) {
  expect_lost_synced_data(17 + 20);  // the seal and half of record 3
}

TEST(WalReaderTest, CuttingOnlyTheSealLosesNothingAcknowledged) {
  TempDir dir;
  const std::string path = three_synced_records(dir);
  auto b = read_bytes(path);
  b.resize(b.size() - 10);
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s).size(), 3u);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_FALSE(rep.lost.has_value());
  EXPECT_TRUE(rep.torn.has_value());
}

TEST(WalReaderTest, ADeletedLastSegmentIsLostData) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(delta(1, 0, 1)).ok());
    ASSERT_EQ((*w)->roll().value(), 2u);
    ASSERT_TRUE((*w)->append(delta(2, 0, 2)).ok());
    ASSERT_TRUE((*w)->close().ok());
  }
  const std::string seg2 = dir.sub("0000000000000002.wal");
  std::filesystem::remove(seg2);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.to_string(),
              HasSubstr("lost synced data: " + seg2 + " is missing"));
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kSkip, &rep, &s).size(), 1u);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(rep.lost.has_value());
  EXPECT_EQ(rep.lost->segment, 2u);
  EXPECT_EQ(rep.lost_bytes, 32u + 37u);
}

// Unsynced horizon appends can leave a hole (zeros) before good records
// after a crash: reported, not corruption, and the good records after it
// still count.
TEST(WalReaderTest, AHoleInTheHorizonFileIsReportedAndSkipped) {
  TempDir dir;
  const std::string path = three_synced_records(dir);
  const std::size_t end = read_bytes(path).size() - 17;  // before the seal
  const std::string hpath = dir.sub(storage::kHorizonFileName);
  std::vector<std::byte> h(storage::kHorizonRecordSize);  // zeros: a hole
  storage::append_horizon(h, 1, end);
  h.resize(h.size() + storage::kHorizonRecordSize);  // a torn last record
  write_bytes(hpath, h);
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s).size(), 3u);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(rep.problems.size(), 1u);
  EXPECT_THAT(rep.problems[0],
              HasSubstr("torn horizon: " + hpath + ": record at offset 0"));
  // The good record after the hole still detects a cut below it.
  auto b = read_bytes(path);
  b.resize(end - 37);
  write_bytes(path, b);
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.to_string();
  EXPECT_THAT(s.to_string(), HasSubstr("lost synced data: " + path));
}

TEST(WalReaderTest, ALogWithoutAHorizonFileReadsAsBefore) {
  TempDir dir;
  const std::string path = three_synced_records(dir);
  std::filesystem::remove(dir.sub(storage::kHorizonFileName));
  auto b = read_bytes(path);
  b.resize(b.size() - 17 - 37);
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s).size(), 2u);
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_FALSE(rep.lost.has_value());
}

// Wraps FileSystem::posix(); once `fail_horizon_sync` is set, every
// sync() of WAL_HORIZON fails. A writer that waited for the horizon's
// fdatasync before acknowledging would then fail the append.
class FailingHorizonFs final : public testing::ForwardingFileSystem {
 public:
  std::atomic<bool> fail_horizon_sync{false};
  std::atomic<std::uint64_t> horizon_syncs{0};

  class File final : public testing::ForwardingFile {
   public:
    File(FailingHorizonFs* fs, std::unique_ptr<WritableFile> f, bool horizon)
        : ForwardingFile(std::move(f)), fs_(fs), horizon_(horizon) {}
    Status sync() override {
      if (!horizon_) return f_->sync();
      ++fs_->horizon_syncs;
      if (fs_->fail_horizon_sync) {
        return Status::io_error("WAL_HORIZON sync", "injected failure");
      }
      return f_->sync();
    }

   private:
    FailingHorizonFs* fs_;
    bool horizon_;
  };

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      bool truncate) override {
    auto f = base().open_writable(path, truncate);
    if (!f.ok()) return f.status();
    const bool horizon =
        std::filesystem::path(path).filename() == storage::kHorizonFileName;
    return std::unique_ptr<WritableFile>(
        std::make_unique<File>(this, std::move(*f), horizon));
  }
};

// Acknowledgement waits for the segment's fdatasync only: the horizon is
// synced later (interval, roll, close). With every horizon sync failing,
// appends under kEveryRecord are still acknowledged; the failure is not
// silent: close() reports it, and the records are recovered.
TEST(WalWriterTest, AcknowledgementNeverWaitsForTheHorizonSync) {
  TempDir dir;
  FailingHorizonFs fs;
  const std::vector<WalRecord> want = {delta(1, 1, 0xAA), delta(3, 2, 0xBB)};
  {
    auto w = WalWriter::open(dir.path(), 1,
                             {.sync = SyncPolicy::kEveryRecord, .fs = &fs});
    ASSERT_TRUE(w.ok()) << w.status().to_string();
    EXPECT_EQ(fs.horizon_syncs.load(), 1u);  // the fresh file, at open
    fs.fail_horizon_sync = true;
    auto lsn = (*w)->append(want[0]);
    ASSERT_TRUE(lsn.ok()) << lsn.status().to_string();
    EXPECT_GE((*w)->durable_lsn(), *lsn);
    // A second append may follow a failed interval sync (sticky error) or
    // not; which one is a matter of timing, so only the first is asserted.
    (void)(*w)->append(want[1]);
    const Status closed = (*w)->close();
    EXPECT_FALSE(closed.ok());
    EXPECT_THAT(closed.to_string(), HasSubstr("WAL_HORIZON"));
    EXPECT_GE(fs.horizon_syncs.load(), 2u);
  }
  RecoveryReport rep;
  Status s;
  const auto got = read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0], want[0]);
}

TEST(WalFormatTest, HorizonMatchesVector) {
  std::vector<std::byte> h;
  storage::append_horizon(h, 1, 106);
  EXPECT_EQ(h, read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) +
                          "/wal_dir_lost/WAL_HORIZON"));
  const storage::Horizon got = storage::read_horizon(h);
  EXPECT_EQ(got.segment, 1u);
  EXPECT_EQ(got.synced_offset, 106u);
  // A partial or bad last record is a torn append: ignored, not an error.
  std::vector<std::byte> two = h;
  storage::append_horizon(two, 1, 200);
  two.back() ^= std::byte{1};
  EXPECT_EQ(storage::read_horizon(two).synced_offset, 106u);
  EXPECT_EQ(storage::read_horizon(two).bad_at, ~std::size_t{0});
  two.insert(two.begin(), h.begin(), h.end());
  two[0] ^= std::byte{1};  // a bad record before the last one: reported
  EXPECT_EQ(storage::read_horizon(two).bad_at, 0u);
}

TEST(WalReaderTest, DamageToSyncedDataIsCorruptionInStrictMode) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    for (std::uint64_t i = 1; i <= 3; ++i)
      ASSERT_TRUE((*w)->append(delta(i, 0, i)).ok());
  }
  const std::string path = dir.sub("0000000000000001.wal");
  auto b = read_bytes(path);
  // Record 1 is at 32; the next batch starts with a sync mark covering it.
  b[32 + 20] ^= std::byte{0x40};
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(std::string(s.message()), HasSubstr("0000000000000001.wal"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("offset 32"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("checksum mismatch"));
}

TEST(WalReaderTest, SkipModeDropsTheDamagedRecordAndReportsIt) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    for (std::uint64_t i = 1; i <= 3; ++i)
      ASSERT_TRUE((*w)->append(delta(i, 0, i)).ok());
  }
  const std::string path = dir.sub("0000000000000001.wal");
  auto b = read_bytes(path);
  b[32 + 20] ^= std::byte{0x40};
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  auto recs = read_all(dir.path(), RecoveryMode::kSkip, &rep, &s);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].seq, 2u);
  EXPECT_EQ(rep.records_dropped, 1u);
  EXPECT_EQ(rep.bytes_dropped, 37u);
  ASSERT_TRUE(rep.first_bad.has_value());
  EXPECT_EQ(rep.first_bad->offset, 32u);
  EXPECT_FALSE(rep.torn.has_value());
}

TEST(WalReaderTest, TruncatedNonLastSegmentIsCorruption) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->append(delta(1, 0, 1)).ok());
    ASSERT_TRUE((*w)->append(delta(2, 0, 2)).ok());
    ASSERT_TRUE((*w)->roll().ok());
    ASSERT_TRUE((*w)->append(delta(3, 0, 3)).ok());
  }
  const std::string path = dir.sub("0000000000000001.wal");
  auto b = read_bytes(path);
  b.resize(b.size() - 17);  // drop the seal: ends on a frame boundary
  write_bytes(path, b);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(std::string(s.message()), HasSubstr("closing sync mark"));
}

TEST(WalReaderTest, MissingSegmentIsCorruption) {
  TempDir dir;
  {
    auto w = WalWriter::open(dir.path(), 1, {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->roll().ok());
    ASSERT_TRUE((*w)->roll().ok());
  }
  std::filesystem::remove(dir.sub("0000000000000002.wal"));
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(std::string(s.message()), HasSubstr("segment 2 missing"));
}

TEST(WalReaderTest, UnknownRecordTypeIsUnimplemented) {
  TempDir dir;
  std::vector<std::byte> b;
  storage::append_header(b, 1);
  std::vector<std::byte> f(9 + 4);
  storage::store_le<std::uint32_t>(f.data() + 4, 4);
  f[8] = std::byte{99};
  storage::store_le<std::uint32_t>(f.data(),
                                   storage::checksum32({f.data() + 4, 9}));
  b.insert(b.end(), f.begin(), f.end());
  write_bytes(dir.sub("0000000000000001.wal"), b);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown record type 99"));
}

TEST(WalReaderTest, OtherVersionIsUnimplemented) {
  TempDir dir;
  std::vector<std::byte> b;
  storage::append_header(b, 1);
  storage::store_le<std::uint32_t>(b.data() + 8, 3);
  storage::store_le<std::uint32_t>(b.data() + 28,
                                   storage::checksum32({b.data(), 28}));
  write_bytes(dir.sub("0000000000000001.wal"), b);
  RecoveryReport rep;
  Status s;
  read_all(dir.path(), RecoveryMode::kStrict, &rep, &s);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
}

TEST(WalReaderTest, RandomRecordsRoundTripAcrossPolicies) {
  auto g = testing::rng(9);
  for (SyncPolicy p :
       {SyncPolicy::kEveryRecord, SyncPolicy::kGroup, SyncPolicy::kNone}) {
    TempDir dir;
    std::vector<WalRecord> want;
    {
      auto w = WalWriter::open(dir.path(), 1,
                               {.sync = p,
                                .group_records = 16,
                                .group_interval_us = 200,
                                .segment_bytes = 8192});
      ASSERT_TRUE(w.ok());
      for (std::uint64_t i = 1; i <= 300; ++i) {
        WalRecord r = delta(i, static_cast<std::uint32_t>(g() % 64), g());
        r.type = (g() % 4 == 0) ? WalRecordType::kLoad : WalRecordType::kDelta;
        want.push_back(r);
        if (g() % 3 == 0) {
          ASSERT_TRUE((*w)->append(r).ok());
        } else {
          ASSERT_TRUE((*w)->append_async(r).ok());
        }
      }
      ASSERT_TRUE((*w)->sync().ok());
      EXPECT_EQ((*w)->durable_lsn(), 300u);
    }
    RecoveryReport rep;
    Status s;
    EXPECT_EQ(read_all(dir.path(), RecoveryMode::kStrict, &rep, &s), want);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
}

}  // namespace
}  // namespace atomik
