// SPDX-License-Identifier: Apache-2.0
// PersistentTable with a group and word width (table_shape.hpp): counters
// (add) survive restarts and match a reference model, undo applies the
// inverse, the shape is checked at open naming both, values wider than the
// words are refused, old (version-1) files open as xor/64, and bad options
// are refused before anything on disk changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "atomik/persistent_table.hpp"
#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

PersistentOptions add_opts(std::uint8_t bits = 64) {
  PersistentOptions o;
  o.group = TableGroup::kAdd;
  o.word_bits = bits;
  return o;
}

std::unique_ptr<PersistentTable> open_ok(const std::string& dir,
                                         const PersistentOptions& o) {
  auto t = PersistentTable::open(dir, o);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return t.ok() ? std::move(*t) : nullptr;
}

TEST(PersistentGroupTest, AddCountsAcrossRestartAndCheckpoint) {
  TempDir dir;
  {
    auto t = open_ok(dir.path(), add_opts());
    ASSERT_TRUE(t);
    ASSERT_TRUE(t->accum(7, 5).ok());
    ASSERT_TRUE(t->accum(7, 5).ok());
    EXPECT_EQ(*t->read(7), 10u);  // XOR would give 0
    EXPECT_EQ(t->shape().to_string(), "add/64");
  }
  {
    auto t = open_ok(dir.path(), add_opts());  // WAL replay
    ASSERT_TRUE(t);
    EXPECT_EQ(*t->read(7), 10u);
    ASSERT_TRUE(t->swap().ok());
    ASSERT_TRUE(t->accum(7, 1).ok());
  }
  auto t = open_ok(dir.path(), add_opts());  // checkpoint + WAL
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->read(7), 11u);
}

// A random mix of every change kind against a modular reference model, for
// widths 8..64, across a restart (replay) and a swap (checkpoint).
TEST(PersistentGroupTest, NarrowAddTablesMatchAModularModel) {
  auto g = testing::rng(71);
  for (int width : {8, 16, 33, 64}) {
    const auto bits = static_cast<std::uint8_t>(width);
    SCOPED_TRACE(static_cast<int>(bits));
    TempDir dir;
    const std::uint64_t mask =
        bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    std::map<std::uint32_t, std::uint64_t> model;
    for (int round = 0; round < 3; ++round) {
      auto t = open_ok(dir.path(), add_opts(bits));
      ASSERT_TRUE(t);
      for (int i = 0; i < 200; ++i) {
        const auto a = static_cast<std::uint32_t>(g() % 8);
        const std::uint64_t v = g() & mask;
        if (i % 17 == 0) {
          ASSERT_TRUE(t->load(a, v).ok());
          model[a] = v;
        } else if (i % 5 == 0) {
          const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {
              {a, v}, {a + 1, v}};
          ASSERT_TRUE(t->accum_batch(b).ok());
          model[a] = (model[a] + v) & mask;
          model[a + 1] = (model[a + 1] + v) & mask;
        } else {
          ASSERT_TRUE(t->accum(a, v).ok());
          model[a] = (model[a] + v) & mask;
        }
      }
      for (const auto& [a, v] : model) {
        ASSERT_EQ(*t->read(a), v) << a;
      }
      if (round == 1) {
        ASSERT_TRUE(t->swap().ok());
      }
    }
    auto t = open_ok(dir.path(), add_opts(bits));
    for (const auto& [a, v] : model) {
      ASSERT_EQ(*t->read(a), v) << a;
    }
  }
}

TEST(PersistentGroupTest, UndoAppliesTheInverseInBothGroups) {
  for (TableGroup grp : {TableGroup::kAdd, TableGroup::kXor}) {
    SCOPED_TRACE(std::string(to_string(grp)));
    TempDir dir;
    PersistentOptions o;
    o.group = grp;
    o.word_bits = 16;
    {
      auto t = open_ok(dir.path(), o);
      ASSERT_TRUE(t->load(3, 100).ok());
      ASSERT_TRUE(t->accum_undoable(3, 0xfff0).ok());  // add: 100 - 16
      EXPECT_EQ(*t->read(3), grp == TableGroup::kAdd ? 84u : (100u ^ 0xfff0u));
      ASSERT_TRUE(t->accum_undoable(3, 7).ok());
    }
    auto t = open_ok(dir.path(), o);  // undo survives the restart
    auto d = t->undo(3);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(**d, 7u);
    d = t->undo(3);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(**d, 0xfff0u);
    EXPECT_EQ(*t->read(3), 100u);
    ASSERT_TRUE(t->redo(3).ok());
    EXPECT_EQ(*t->read(3), grp == TableGroup::kAdd ? 84u : (100u ^ 0xfff0u));
    ASSERT_TRUE(t->swap().ok());
    t.reset();
    t = open_ok(dir.path(), o);  // undo history from the checkpoint
    ASSERT_TRUE(t->undo(3).ok());
    EXPECT_EQ(*t->read(3), 100u);
  }
}

TEST(PersistentGroupTest, ShapeMismatchAtOpenNamesBoth) {
  TempDir dir;
  ASSERT_TRUE(open_ok(dir.path(), add_opts()));
  auto t = PersistentTable::open(dir.path(), {});
  EXPECT_EQ(t.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(t.status().to_string(),
              HasSubstr("holds a table of group add/64, options say xor/64"));
  t = PersistentTable::open(dir.path(), add_opts(32));
  EXPECT_THAT(t.status().to_string(),
              HasSubstr("group add/64, options say add/32"));
}

TEST(PersistentGroupTest, ValuesWiderThanTheWordsAreRefused) {
  TempDir dir;
  auto t = open_ok(dir.path(), add_opts(8));
  EXPECT_EQ(t->accum(1, 0x100).code(), Code::kOutOfRange);
  EXPECT_THAT(t->load(1, 0x1ff).to_string(), HasSubstr("8-bit words"));
  const std::vector<std::pair<std::uint32_t, std::uint64_t>> b = {{1, 1},
                                                                  {2, 256}};
  EXPECT_EQ(t->accum_batch(b).status().code(), Code::kOutOfRange);
  EXPECT_THAT(t->accum_batch(b).status().to_string(),
              HasSubstr("value 0x0000000000000100 does not fit"));
  EXPECT_EQ(t->apply_batch(99, 1, b).status().code(), Code::kOutOfRange);
  EXPECT_EQ(*t->read(1), 0u);  // nothing of the batch applied
  EXPECT_EQ(t->wal_stats().records, 0u);
  ASSERT_TRUE(t->accum(1, 0xff).ok());
  ASSERT_TRUE(t->accum(1, 2).ok());
  EXPECT_EQ(*t->read(1), 1u);  // 255 + 2 mod 256
}

// A table directory written before tables had a shape (checkpoint version
// 1, segment header version 1) opens as xor/64 and refuses add.
TEST(PersistentGroupTest, Version1FilesOpenAsXor64) {
  TempDir dir;
  const std::string vec = ATOMIK_TEST_VECTORS_DIR;
  write_bytes(dir.sub("CHECKPOINT"), read_bytes(vec + "/checkpoint_v1.bin"));
  // The checkpoint covers segments < 2 (the version-1 segment vector names
  // segment 1 in its header, so it cannot follow it; WalFormatTest reads it).
  auto t = open_ok(dir.path(), {});
  ASSERT_TRUE(t);
  EXPECT_EQ(*t->read(7), 0xffu);
  EXPECT_EQ(t->shape(), TableShape{});
  ASSERT_TRUE(t->accum(7, 0xff).ok());  // a header-version-2 segment
  t.reset();
  t = open_ok(dir.path(), {});
  EXPECT_EQ(*t->read(7), 0u);
  t.reset();
  auto add = PersistentTable::open(dir.path(), add_opts());
  EXPECT_THAT(add.status().to_string(),
              HasSubstr("group xor/64, options say add/64"));
}

// A segment of another shape in a table's directory (copied from another
// table) is refused naming both shapes.
TEST(PersistentGroupTest, SegmentOfAnotherShapeIsCorruption) {
  TempDir a, b;
  {
    auto t = open_ok(a.path(), add_opts());
    ASSERT_TRUE(t->accum(1, 1).ok());
  }
  {
    auto t = open_ok(b.path(), {});
    ASSERT_TRUE(t->accum(1, 1).ok());
  }
  write_bytes(a.sub("0000000000000001.wal"),
              read_bytes(b.sub("0000000000000001.wal")));
  auto t = PersistentTable::open(a.path(), add_opts());
  EXPECT_EQ(t.status().code(), Code::kCorruption);
  EXPECT_THAT(t.status().to_string(),
              HasSubstr("segment holds xor/64, the table is add/64"));
}

// Every option is checked before open() touches the disk: a bad one leaves
// no directory, no checkpoint, and an existing WAL tail uncut.
TEST(PersistentGroupTest, BadOptionsChangeNothingOnDisk) {
  TempDir dir;
  const std::string fresh = dir.sub("fresh");
  for (PersistentOptions o :
       {PersistentOptions{.segment_bytes = 100},
        PersistentOptions{.sync = SyncPolicy::kGroup, .group_records = 0},
        PersistentOptions{.num_contexts = 1ull << 33}, add_opts(7),
        add_opts(65)}) {
    auto t = PersistentTable::open(fresh, o);
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument)
        << t.status().to_string();
    EXPECT_FALSE(std::filesystem::exists(fresh));
  }
  // An existing table with a torn tail: the failed open leaves it as is.
  const std::string old = dir.sub("old");
  {
    auto t = open_ok(old, {});
    ASSERT_TRUE(t->accum(1, 1).ok());
  }
  const std::string seg = old + "/0000000000000001.wal";
  auto bytes = read_bytes(seg);
  bytes.resize(bytes.size() - 17 - 5);  // drop the seal and cut the delta
  write_bytes(seg, bytes);
  const auto cp = read_bytes(old + "/CHECKPOINT");
  auto t = PersistentTable::open(old, {.segment_bytes = 100});
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(read_bytes(seg), bytes);
  EXPECT_EQ(read_bytes(old + "/CHECKPOINT"), cp);
}

}  // namespace
}  // namespace atomik
