// SPDX-License-Identifier: Apache-2.0
// PersistentTable: reopen reaches the acknowledged state, replay is
// idempotent, swap() checkpoints and trims the WAL, undo survives restarts.
#include "atomik/persistent_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "atomik/table.hpp"
#include "storage/wal_record.hpp"
#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;
using State = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

std::unique_ptr<PersistentTable> open_ok(const std::string& dir,
                                         PersistentOptions o = {}) {
  auto t = PersistentTable::open(dir, o);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(*t) : nullptr;
}

State snap(const PersistentTable& t) { return *t.snapshot(); }

TEST(PersistentTableTest, NewTableIsEmptyAndHasACheckpoint) {
  TempDir dir;
  auto t = open_ok(dir.path());
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->read(5), 0u);
  EXPECT_EQ(t->epoch(), 0u);
  EXPECT_NE(t->origin(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir.sub("CHECKPOINT")));
}

TEST(PersistentTableTest, ReopenRecoversEveryAcknowledgedChange) {
  TempDir dir;
  auto g = testing::rng(2);
  auto model = DeltaTable<>::sparse();
  std::uint64_t origin = 0;
  {
    auto t = open_ok(dir.path());
    origin = t->origin();
    for (int i = 0; i < 200; ++i) {
      const auto a = static_cast<std::uint32_t>(g() % 32);
      const std::uint64_t v = g();
      if (i % 9 == 0) {
        ASSERT_TRUE(t->load(a, v).ok());
        ASSERT_TRUE(model.load(a, v).ok());
      } else {
        ASSERT_TRUE(t->accum(a, v).ok());
        ASSERT_TRUE(model.accum(a, v).ok());
      }
    }
    EXPECT_EQ(snap(*t), model.snapshot());
  }
  auto t = open_ok(dir.path());
  EXPECT_EQ(snap(*t), model.snapshot());
  EXPECT_EQ(t->origin(), origin);
  EXPECT_EQ(t->recovery_report().records_ok, 200u);
  EXPECT_EQ(
      t->version_vector(),
      (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{origin, 200}}));
}

TEST(PersistentTableTest, SwapCheckpointsAndDeletesCoveredSegments) {
  TempDir dir;
  {
    auto t = open_ok(dir.path());
    ASSERT_TRUE(t->accum(1, 0xF0).ok());
    auto e = t->swap();
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->epoch, 1u);
    EXPECT_EQ(e->states, (State{{1, 0xF0}}));
    auto segs = list_wal_segments(dir.path());
    EXPECT_EQ(*segs, (std::vector<std::uint64_t>{2}));
    ASSERT_TRUE(t->accum(1, 0x0F).ok());
    ASSERT_TRUE(t->swap().ok());
    ASSERT_TRUE(t->accum(2, 0x01).ok());
  }
  auto t = open_ok(dir.path());
  EXPECT_EQ(t->epoch(), 2u);
  EXPECT_EQ(snap(*t), (State{{1, 0xFF}, {2, 0x01}}));
  EXPECT_EQ(t->recovery_report().records_ok, 2u);  // epoch mark + 1 delta
}

// Copies segment `from` to a new segment number `to`, patching its header.
void copy_segment(const TempDir& dir, std::uint64_t from, std::uint64_t to) {
  auto b = read_bytes(dir.sub(wal_segment_name(from)));
  storage::store_le<std::uint64_t>(b.data() + 16, to);
  storage::store_le<std::uint32_t>(b.data() + 28,
                                   storage::checksum32({b.data(), 28}));
  write_bytes(dir.sub(wal_segment_name(to)), b);
}

TEST(PersistentTableTest, ReplayingTheSameWalTwiceChangesNothing) {
  TempDir dir;
  State want;
  {
    auto t = open_ok(dir.path());
    for (std::uint32_t i = 0; i < 20; ++i)
      ASSERT_TRUE(t->accum(i % 4, i + 1).ok());
    ASSERT_TRUE(t->close().ok());
    want = snap(*t);
  }
  // The same records once more, as a later segment (segment 2 is the one
  // the reopen below starts, so use a copy as 2 and let it start 3).
  copy_segment(dir, 1, 2);
  auto t = open_ok(dir.path());
  EXPECT_EQ(snap(*t), want);
  EXPECT_EQ(t->recovery_report().duplicates, 20u);
}

TEST(PersistentTableTest, BatchesAreLoggedAsRunsAndRecoverExactly) {
  TempDir dir;
  auto model = DeltaTable<>::sparse();
  std::vector<std::pair<std::uint32_t, std::uint64_t>> b;
  for (std::uint32_t i = 0; i < 5000; ++i) b.emplace_back(i % 13, i * 7 + 1);
  {
    auto t = open_ok(dir.path());
    auto first = t->accum_batch(b);
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    EXPECT_EQ(*first, 1u);
    // A remote batch that overlaps one applied before: only its tail is new.
    std::vector<std::pair<std::uint32_t, std::uint64_t>> r1 = {{1, 0x10},
                                                               {2, 0x20}};
    std::vector<std::pair<std::uint32_t, std::uint64_t>> r2 = {
        {1, 0x10}, {2, 0x20}, {3, 0x30}};
    EXPECT_EQ(*t->apply_batch(77, 1, r1), 2u);
    EXPECT_EQ(*t->apply_batch(77, 1, r2), 1u);
    ASSERT_TRUE(t->close().ok());
    EXPECT_EQ(t->wal_stats().records, 5003u);
  }
  for (const auto& [a, d] : b) (void)model.accum(a, d);
  (void)model.accum(1, 0x10);
  (void)model.accum(2, 0x20);
  (void)model.accum(3, 0x30);
  auto t = open_ok(dir.path());
  EXPECT_EQ(snap(*t), model.snapshot());
  EXPECT_EQ(t->recovery_report().records_ok, 5003u);
  EXPECT_EQ(t->recovery_report().duplicates, 0u);
  std::map<std::uint64_t, std::uint64_t> vv;
  for (const auto& [o, k] : t->version_vector()) vv[o] = k;
  EXPECT_EQ(vv[t->origin()], 5000u);
  EXPECT_EQ(vv[77], 3u);
}

// Runs that overlap in the log (a batch re-logged, e.g. by a replay of the
// same WAL): entries at or below the mark are duplicates, the rest apply.
TEST(PersistentTableTest, OverlappingRunsInTheLogApplyEachSeqOnce) {
  TempDir dir;
  { ASSERT_TRUE(open_ok(dir.path())->close().ok()); }
  {
    auto w = WalWriter::open(dir.path(), 1, {}).value();
    const std::vector<std::pair<std::uint32_t, std::uint64_t>> a = {
        {0, 1}, {1, 2}, {2, 4}, {3, 8}, {4, 16}};
    const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {
        {2, 4}, {3, 8}, {4, 16}, {5, 32}, {6, 64}, {7, 128}};
    ASSERT_TRUE(w->append_run_async(9, 1, a).ok());  // seqs 1..5
    ASSERT_TRUE(w->append_run_async(9, 3, b).ok());  // seqs 3..8
    ASSERT_TRUE(w->append_run_async(9, 1, a).ok());  // all duplicates
    ASSERT_TRUE(w->close().ok());
  }
  auto t = open_ok(dir.path());
  State want;
  for (std::uint32_t i = 0; i < 8; ++i) want.emplace_back(i, 1u << i);
  EXPECT_EQ(snap(*t), want);
  EXPECT_EQ(t->recovery_report().duplicates, 3u + 5u);
  EXPECT_TRUE(t->recovery_report().problems.empty());
}

TEST(PersistentTableTest, RunWithAnAddressOutsideTheTableFailsNamingIt) {
  TempDir dir;
  {
    auto t = PersistentTable::open(dir.path(), {.num_contexts = 8});
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->close().ok());
  }
  {
    auto w = WalWriter::open(dir.path(), 1, {}).value();
    const std::vector<std::pair<std::uint32_t, std::uint64_t>> a = {{1, 1},
                                                                    {8, 2}};
    ASSERT_TRUE(w->append_run_async(9, 1, a).ok());
    ASSERT_TRUE(w->close().ok());
  }
  auto t = PersistentTable::open(dir.path(), {.num_contexts = 8});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("delta run at offset 32: entry 1: address 8"));
}

TEST(PersistentTableTest, SecondOpenOfOneDirectoryIsRefusedUntilClose) {
  TempDir dir;
  auto a = open_ok(dir.path());
  ASSERT_TRUE(a->accum(1, 1).ok());
  auto b = PersistentTable::open(dir.path());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(b.status().message()), HasSubstr("LOCK"));
  EXPECT_EQ(*a->read(1), 1u);  // the first table is untouched
  ASSERT_TRUE(a->accum(1, 2).ok());
  ASSERT_TRUE(a->close().ok());
  auto c = open_ok(dir.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(*c->read(1), 3u);
}

TEST(PersistentTableTest, CheckpointMarksMakeOldRecordsDuplicates) {
  TempDir dir;
  State want;
  std::vector<std::byte> seg1;
  {
    auto t = open_ok(dir.path());
    for (std::uint32_t i = 0; i < 10; ++i)
      ASSERT_TRUE(t->accum(i % 3, i + 1).ok());
    ASSERT_TRUE(t->sync().ok());
    seg1 = read_bytes(dir.sub(wal_segment_name(1)));
    ASSERT_TRUE(t->swap().ok());  // checkpoint covers segment 1, deletes it
    EXPECT_FALSE(std::filesystem::exists(dir.sub(wal_segment_name(1))));
    ASSERT_TRUE(t->close().ok());
    want = snap(*t);
  }
  // Segment 1's records come back as segment 3 (after 2): all duplicates.
  // seg1 was copied before its seal; seal it the way open() would.
  storage::store_le<std::uint64_t>(seg1.data() + 16, 3);
  storage::store_le<std::uint32_t>(seg1.data() + 28,
                                   storage::checksum32({seg1.data(), 28}));
  write_bytes(dir.sub(wal_segment_name(3)), seg1);
  auto t = open_ok(dir.path());
  EXPECT_EQ(snap(*t), want);
  EXPECT_EQ(t->recovery_report().duplicates, 10u);
}

TEST(PersistentTableTest, TornTailIsCutSealedAndReported) {
  TempDir dir;
  {
    auto t = open_ok(dir.path());
    ASSERT_TRUE(t->accum(1, 1).ok());
    ASSERT_TRUE(t->accum(1, 2).ok());
  }
  // A crash mid-append after the seal: half a frame of garbage.
  auto b = read_bytes(dir.sub(wal_segment_name(1)));
  b.insert(b.end(), 20, std::byte{0x33});
  write_bytes(dir.sub(wal_segment_name(1)), b);
  {
    auto t = open_ok(dir.path());
    EXPECT_EQ(*t->read(1), 3u);
    ASSERT_TRUE(t->recovery_report().torn.has_value());
    EXPECT_EQ(t->recovery_report().torn_bytes, 20u);
    ASSERT_TRUE(t->accum(1, 4).ok());
  }
  // The cut segment is now sealed: strict recovery is clean.
  auto t = open_ok(dir.path());
  EXPECT_EQ(*t->read(1), 7u);
  EXPECT_FALSE(t->recovery_report().torn.has_value());
}

TEST(PersistentTableTest, UndoAfterRestartWorks) {
  TempDir dir;
  {
    auto t = open_ok(dir.path());
    ASSERT_TRUE(t->load(4, 0xD0C5).ok());
    ASSERT_TRUE(t->accum_undoable(4, 0x0001).ok());
    ASSERT_TRUE(t->accum_undoable(4, 0x0010).ok());
    ASSERT_TRUE(t->accum_undoable(4, 0x0100).ok());
    auto u = t->undo(4);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(**u, 0x0100u);
  }
  {
    auto t = open_ok(dir.path());
    EXPECT_EQ(t->undo_depth(4), 2u);
    EXPECT_EQ(t->redo_depth(4), 1u);
    EXPECT_EQ(*t->read(4), 0xD0C5u ^ 0x0011u);
    ASSERT_TRUE(t->swap().ok());  // history goes into the checkpoint
    auto u = t->undo(4);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(**u, 0x0010u);
  }
  auto t = open_ok(dir.path());
  EXPECT_EQ(*t->read(4), 0xD0C5u ^ 0x0001u);
  EXPECT_EQ(t->undo_depth(4), 1u);
  EXPECT_EQ(t->redo_depth(4), 2u);
  auto r = t->redo(4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 0x0010u);
  EXPECT_EQ(*t->read(4), 0xD0C5u ^ 0x0011u);
  auto none = t->undo(99);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(PersistentTableTest, RemoteApplyIsExactlyOnceAndInOrder) {
  TempDir dir;
  {
    auto t = open_ok(dir.path());
    EXPECT_TRUE(*t->apply(77, 1, 3, 0xAA));
    EXPECT_FALSE(*t->apply(77, 1, 3, 0xAA));  // duplicate
    EXPECT_EQ(t->apply(77, 3, 3, 0xBB).status().code(),
              Code::kFailedPrecondition);
    EXPECT_EQ(t->apply(77, 0, 3, 0xBB).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(t->apply(t->origin(), 1, 3, 1).status().code(),
              Code::kInvalidArgument);
    EXPECT_TRUE(*t->apply(77, 2, 3, 0x0F));
    EXPECT_EQ(*t->read(3), 0xA5u);
  }
  auto t = open_ok(dir.path());
  EXPECT_EQ(*t->read(3), 0xA5u);
  EXPECT_FALSE(*t->apply(77, 2, 3, 0x0F));
  EXPECT_TRUE(*t->apply(77, 3, 3, 0x0F));
}

// A batch is checked whole before anything is logged: one bad delta
// anywhere in it (here at a random place, among a dense table's
// prefetched run) refuses all of it, naming that delta; the same batch
// without it then applies, agreeing with a model.
TEST(PersistentTableTest, ABatchWithOneBadDeltaIsRefusedWholeNamingIt) {
  TempDir dir;
  auto g = testing::rng(11);
  auto t = open_ok(dir.path(), {.num_contexts = 4096});
  ASSERT_TRUE(t);
  auto model = DeltaTable<>::sparse();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> b(1 + g() % 300);
    for (auto& [a, d] : b) {
      a = static_cast<std::uint32_t>(g() % 4096);
      d = g() | 1;
    }
    const std::size_t bad = g() % b.size();
    const std::uint32_t good_addr = b[bad].first;
    // Every other round the first address out of range.
    b[bad].first =
        static_cast<std::uint32_t>(4096 + (round % 2 == 0 ? 0 : g() % 1000));
    const std::string want =
        "address " + std::to_string(b[bad].first) + " >= num_contexts 4096";
    const State before = snap(*t);
    const std::uint64_t records = t->wal_stats().records;
    auto r = t->accum_batch(b);
    ASSERT_EQ(r.status().code(), Code::kOutOfRange) << "round " << round;
    EXPECT_THAT(r.status().to_string(), HasSubstr(want));
    auto r2 = t->apply_batch(77, 1, b);
    EXPECT_EQ(r2.status().code(), Code::kOutOfRange);
    EXPECT_EQ(snap(*t), before);
    EXPECT_EQ(t->wal_stats().records, records);
    b[bad].first = good_addr;
    ASSERT_TRUE(t->accum_batch(b).ok());
    for (const auto& [a, d] : b) ASSERT_TRUE(model.accum(a, d).ok());
    ASSERT_EQ(snap(*t), model.snapshot()) << "round " << round;
  }
}

TEST(PersistentTableTest, DenseTableRejectsOutOfRangeAndLogsNothing) {
  TempDir dir;
  {
    auto t = open_ok(dir.path(), {.num_contexts = 16});
    const Status s = t->accum(16, 1);
    EXPECT_EQ(s.code(), Code::kOutOfRange);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("address 16 >= num_contexts 16"));
    ASSERT_TRUE(t->accum(15, 1).ok());
  }
  auto t = open_ok(dir.path(), {.num_contexts = 16});
  EXPECT_EQ(t->recovery_report().records_ok, 1u);
  t.reset();  // release the directory's lock
  auto other = PersistentTable::open(dir.path(), {.num_contexts = 8});
  EXPECT_EQ(other.status().code(), Code::kInvalidArgument);
}

TEST(PersistentTableTest, ConcurrentWritersWithGroupCommitAllSurvive) {
  TempDir dir;
  constexpr int kThreads = 4;
  constexpr std::uint32_t kEach = 150;
  {
    auto t = open_ok(dir.path(), {.sync = SyncPolicy::kGroup,
                                  .group_records = 64,
                                  .group_interval_us = 500});
    std::vector<std::thread> ts;
    for (int k = 0; k < kThreads; ++k) {
      ts.emplace_back([&, k] {
        for (std::uint32_t i = 0; i < kEach; ++i)
          EXPECT_TRUE(
              t->accum(static_cast<std::uint32_t>(k), 1ull << (i % 64)).ok());
      });
    }
    for (auto& th : ts) th.join();
    EXPECT_LT(t->wal_stats().syncs, kThreads * kEach);
  }
  auto t = open_ok(dir.path());
  auto model = DeltaTable<>::sparse();
  for (int k = 0; k < kThreads; ++k)
    for (std::uint32_t i = 0; i < kEach; ++i)
      (void)model.accum(static_cast<std::uint32_t>(k), 1ull << (i % 64));
  EXPECT_EQ(snap(*t), model.snapshot());
}

TEST(PersistentTableTest, MissingCheckpointWithSegmentsIsCorruption) {
  TempDir dir;
  {
    auto t = open_ok(dir.path());
    ASSERT_TRUE(t->accum(1, 1).ok());
  }
  std::filesystem::remove(dir.sub("CHECKPOINT"));
  auto t = PersistentTable::open(dir.path());
  EXPECT_EQ(t.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("CHECKPOINT"));
}

TEST(PersistentTableTest, ClosedTableRefusesWrites) {
  TempDir dir;
  auto t = open_ok(dir.path());
  ASSERT_TRUE(t->close().ok());
  EXPECT_EQ(t->accum(1, 1).code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace atomik
