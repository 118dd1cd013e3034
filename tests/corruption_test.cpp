// SPDX-License-Identifier: Apache-2.0
// Flip every byte and truncate at every offset of a small WAL and a
// checkpoint (leveldb corruption_test.cc): the outcome is the correct state,
// a state the log really held at some point (a prefix, reported as a torn or
// unsealed tail), or an error naming file and offset. Never other data
// silently.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "atomik/checkpoint.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/table.hpp"
#include "storage_test_util.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;
using State = std::vector<std::pair<std::uint32_t, std::uint64_t>>;

// A small table: a checkpoint (epoch 1) holding two states, then a WAL
// segment of 8 records (the fifth a batch of 3 deltas in one DELTA_RUN
// frame, the last one a load). Prefix states are recorded by
// the end offset of each record in the segment.
struct Fixture {
  TempDir dir;
  std::string segment;  // the WAL segment after the checkpoint
  std::vector<std::byte> seg_bytes;
  std::vector<std::byte> cp_bytes;
  State full;
  std::vector<State> prefixes;  // state after 0, 1, ... records of segment
  std::vector<std::uint64_t> record_end;  // end offset of record k

  Fixture() {
    auto model = DeltaTable<>::sparse();
    {
      auto t = PersistentTable::open(dir.path(), {.origin = 5}).value();
      EXPECT_TRUE(t->accum(1, 0x1111).ok());
      EXPECT_TRUE(t->accum(2, 0x2222).ok());
      (void)model.accum(1, 0x1111);
      (void)model.accum(2, 0x2222);
      EXPECT_TRUE(t->swap().ok());
      prefixes.push_back(model.snapshot());
      for (std::uint32_t i = 0; i < 8; ++i) {
        const std::uint64_t v = 0x0101010101010101ull * (i + 1);
        if (i == 7) {
          EXPECT_TRUE(t->load(3, v).ok());
          (void)model.load(3, v);
        } else if (i == 4) {
          const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {
              {0, v}, {4, v + 1}, {1, v + 2}};
          EXPECT_TRUE(t->accum_batch(b).ok());
          for (const auto& [a, d] : b) (void)model.accum(a, d);
        } else {
          EXPECT_TRUE(t->accum(i % 3, v).ok());
          (void)model.accum(i % 3, v);
        }
        prefixes.push_back(model.snapshot());
      }
      EXPECT_TRUE(t->close().ok());
    }
    full = model.snapshot();
    segment = wal_segment_name(2);
    seg_bytes = read_bytes(dir.sub(segment));
    cp_bytes = read_bytes(dir.sub("CHECKPOINT"));
    RecoveryReport rep;
    EXPECT_TRUE(read_wal(
                    dir.path(), 2, RecoveryMode::kStrict,
                    [&](const WalRecord& r, const WalPlace& p) {
                      if (r.type == WalRecordType::kDelta ||
                          r.type == WalRecordType::kLoad)
                        record_end.push_back(p.offset + 37);
                      return Status();
                    },
                    [&](const WalDeltaRun& r, const WalPlace& p) {
                      record_end.push_back(p.offset + 9 + 20 + 12 * r.count);
                      return Status();
                    },
                    &rep)
                    .ok());
    EXPECT_EQ(record_end.size(), 8u);
  }

  // A copy of the table directory with the segment or checkpoint replaced.
  std::string copy_with(const TempDir& to, const std::vector<std::byte>* seg,
                        const std::vector<std::byte>* cp) const {
    const std::string d = to.sub("t");
    std::filesystem::create_directory(d);
    write_bytes(d + "/" + segment, seg ? *seg : seg_bytes);
    write_bytes(d + "/CHECKPOINT", cp ? *cp : cp_bytes);
    return d;
  }

  // The prefix state of the records that end at or before `offset`.
  const State& prefix_at(std::uint64_t offset) const {
    std::size_t k = 0;
    while (k < record_end.size() && record_end[k] <= offset) ++k;
    return prefixes[k];
  }
};

// Checks one damaged WAL copy in one mode; returns a short outcome tag.
std::string check_wal(const Fixture& f, const std::vector<std::byte>& seg,
                      RecoveryMode mode, std::size_t where) {
  TempDir tmp;
  const std::string d = f.copy_with(tmp, &seg, nullptr);
  testing::FaultyFileSystem fs;
  fs.set_no_sync(true);
  auto t = PersistentTable::open(d, {.recovery = mode, .fs = &fs});
  const std::string ctx = "damage at " + std::to_string(where);
  if (!t.ok()) {
    EXPECT_EQ(t.status().code(), Code::kCorruption) << ctx;
    const std::string msg(t.status().message());
    EXPECT_THAT(msg, HasSubstr(f.segment)) << ctx;
    EXPECT_THAT(msg, HasSubstr("offset")) << ctx;
    return "error";
  }
  const RecoveryReport& rep = (*t)->recovery_report();
  const State got = *(*t)->snapshot();
  if (got == f.full) return "correct";
  // Anything else must be reported, and be a state the log once held (a
  // prefix), unless records were dropped in kSkip (then: named place).
  if (rep.first_bad) {
    EXPECT_EQ(mode, RecoveryMode::kSkip) << ctx;
    EXPECT_GT(rep.records_dropped, 0u) << ctx;
    return "skipped";
  }
  EXPECT_FALSE(rep.problems.empty()) << ctx << ": silent wrong state";
  const std::uint64_t end = rep.torn ? rep.torn->offset : rep.last_end;
  EXPECT_EQ(got, f.prefix_at(end)) << ctx << ": not a prefix state";
  return rep.torn ? "torn" : "unsealed";
}

TEST(CorruptionTest, EveryFlippedWalByteGivesCorrectStateOrANamedProblem) {
  Fixture f;
  std::map<std::string, int> outcomes;
  for (std::size_t i = 0; i < f.seg_bytes.size(); ++i) {
    auto seg = f.seg_bytes;
    seg[i] ^= std::byte{0xFF};
    ++outcomes["strict " + check_wal(f, seg, RecoveryMode::kStrict, i)];
    ++outcomes["skip " + check_wal(f, seg, RecoveryMode::kSkip, i)];
  }
  // Damage before the seal is detected; flipping the seal itself only cuts
  // the (empty) tail.
  EXPECT_GT(outcomes["strict error"], 0);
  EXPECT_GT(outcomes["skip skipped"], 0);
  for (const auto& [k, v] : outcomes) std::printf("%s: %d\n", k.c_str(), v);
}

TEST(CorruptionTest, EveryWalTruncationGivesAPrefixStateThatIsReported) {
  Fixture f;
  for (std::size_t n = 0; n < f.seg_bytes.size(); ++n) {
    std::vector<std::byte> seg(f.seg_bytes.begin(),
                               f.seg_bytes.begin() + static_cast<long>(n));
    const std::string o = check_wal(f, seg, RecoveryMode::kStrict, n);
    EXPECT_NE(o, "skipped");
    if (o == "correct") {
      EXPECT_GE(n, f.record_end.back()) << n;
    }
  }
}

TEST(CorruptionTest, EveryFlippedOrTruncatedCheckpointByteIsAnError) {
  Fixture f;
  for (std::size_t i = 0; i < f.cp_bytes.size() * 2; ++i) {
    std::vector<std::byte> cp = f.cp_bytes;
    if (i < f.cp_bytes.size()) {
      cp[i] ^= std::byte{0xFF};
    } else {
      cp.resize(i - f.cp_bytes.size());
    }
    TempDir tmp;
    const std::string d = f.copy_with(tmp, nullptr, &cp);
    testing::FaultyFileSystem fs;
    fs.set_no_sync(true);
    auto t = PersistentTable::open(d, {.fs = &fs});
    ASSERT_FALSE(t.ok()) << i;
    EXPECT_EQ(t.status().code(), Code::kCorruption) << i;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("CHECKPOINT"));
  }
}

}  // namespace
}  // namespace atomik
