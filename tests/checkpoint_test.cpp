// SPDX-License-Identifier: Apache-2.0
// Checkpoint files: vector, round trip, validation, atomic replacement
// (docs/format/checkpoint.md).
#include "atomik/checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "storage/wal_record.hpp"
#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

CheckpointData example() {
  CheckpointData d;
  d.epoch = 1;
  d.wal_first_segment = 2;
  d.self_origin = 0x0a;
  d.self_seq = 2;
  d.states = {{7, 0xff}};
  d.origins = {{0x0a, 2}};
  return d;
}

// Version 1 (written before tables had a group): decodes as xor/64.
TEST(CheckpointTest, MatchesCheckedInVector) {
  const std::string vec =
      std::string(ATOMIK_TEST_VECTORS_DIR) + "/checkpoint_v1.bin";
  const auto file = read_bytes(vec);
  ASSERT_EQ(file.size(), 0x84u);
  EXPECT_EQ(storage::load_le<std::uint32_t>(file.data() + 8), 1u);
  EXPECT_EQ(std::memcmp(file.data(), "ATMKCKPT", 8), 0);
  EXPECT_EQ(storage::load_le<std::uint64_t>(file.data() + 16), 0x64u);
  EXPECT_EQ(storage::load_le<std::uint32_t>(file.data() + 0x50), 7u);
  EXPECT_EQ(storage::load_le<std::uint64_t>(file.data() + 0x54), 0xffu);
  auto back = decode_checkpoint(file, "vector");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, example());
  EXPECT_EQ(back->shape, TableShape{});
}

// Version 2: the encoder's bytes equal the checked-in files, which differ
// from version 1 in the version, word_bits, group and checksum fields only
// (docs/format/checkpoint.md, worked example).
TEST(CheckpointTest, MatchesVersion2Vectors) {
  const auto v1 =
      read_bytes(std::string(ATOMIK_TEST_VECTORS_DIR) + "/checkpoint_v1.bin");
  CheckpointData add16 = example();
  add16.shape = {.group = TableGroup::kAdd, .word_bits = 16};
  for (const auto& [name, data] :
       {std::pair<const char*, CheckpointData>{"checkpoint_v2.bin", example()},
        {"checkpoint_v2_add16.bin", add16}}) {
    SCOPED_TRACE(name);
    auto bytes = encode_checkpoint(data);
    ASSERT_TRUE(bytes.ok());
    const std::string vec = std::string(ATOMIK_TEST_VECTORS_DIR) + "/" + name;
    if (std::getenv("ATOMIK_REGEN_VECTORS") != nullptr) {
      write_bytes(vec, *bytes);
    }
    const auto file = read_bytes(vec);
    EXPECT_EQ(*bytes, file);
    ASSERT_EQ(file.size(), v1.size());
    EXPECT_EQ(storage::load_le<std::uint32_t>(file.data() + 8), 2u);
    EXPECT_EQ(file[0x38], std::byte{data.shape.word_bits});
    EXPECT_EQ(file[0x39], static_cast<std::byte>(data.shape.group));
    for (std::size_t i = 0; i < v1.size() - 8; ++i) {
      if (i == 8 || i == 0x38 || i == 0x39) continue;
      EXPECT_EQ(file[i], v1[i]) << "offset " << i;
    }
    auto back = decode_checkpoint(file, name);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, data);
  }
}

// A value that does not fit the width, or a version-1 file claiming a
// group, is refused with the field named.
TEST(CheckpointTest, ShapeRulesAreChecked) {
  CheckpointData d = example();
  d.shape = {.group = TableGroup::kAdd, .word_bits = 8};
  d.states = {{7, 0x1ff}};
  EXPECT_EQ(encode_checkpoint(d).status().code(), Code::kInvalidArgument);
  d.states = {{7, 0xff}};
  auto bytes = *encode_checkpoint(d);
  const std::size_t n = bytes.size() - 8;
  auto reseal = [&] {
    storage::store_le<std::uint64_t>(bytes.data() + n,
                                     storage::checksum64({bytes.data(), n}));
  };
  bytes[0x54 + 1] = std::byte{1};  // value 0x1ff in an 8-bit table
  reseal();
  auto r = decode_checkpoint(bytes, "CP");
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("word_bits 8"));
  bytes[0x54 + 1] = std::byte{0};
  storage::store_le<std::uint32_t>(bytes.data() + 8, 1);  // version 1, add/8
  reseal();
  r = decode_checkpoint(bytes, "CP");
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("version 1"));
  storage::store_le<std::uint32_t>(bytes.data() + 8, 2);
  bytes[0x38] = std::byte{7};  // word_bits 7
  reseal();
  EXPECT_EQ(decode_checkpoint(bytes, "CP").status().code(),
            Code::kUnimplemented);
}

TEST(CheckpointTest, RandomDataRoundTrips) {
  auto g = testing::rng(1);
  for (int iter = 0; iter < 50; ++iter) {
    CheckpointData d;
    d.epoch = g();
    d.wal_first_segment = 1 + g() % 100;
    d.self_origin = g();
    d.num_contexts = (iter % 2) ? 0 : 1000;
    std::uint32_t a = 0;
    for (std::uint64_t i = 0, n = g() % 50; i < n; ++i) {
      a += 1 + static_cast<std::uint32_t>(g() % 10);
      d.states.emplace_back(a, g() | 1);
    }
    std::uint64_t o = 0;
    for (std::uint64_t i = 0, n = g() % 5; i < n; ++i) {
      o += 1 + g() % 1000;
      d.origins.emplace_back(o, 1 + g() % 100);
    }
    for (const auto& [orig, s] : d.origins)
      if (orig == d.self_origin) d.self_seq = s;
    d.undo.push_back(UndoState{3, 8, {1, 2, 3}, {4}});
    auto bytes = encode_checkpoint(d);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    auto back = decode_checkpoint(*bytes, "x");
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_EQ(*back, d);
  }
}

TEST(CheckpointTest, EncodeRejectsUnsortedOrZeroStates) {
  CheckpointData d = example();
  d.states = {{7, 1}, {3, 1}};
  EXPECT_EQ(encode_checkpoint(d).status().code(), Code::kInvalidArgument);
  d.states = {{7, 0}};
  EXPECT_EQ(encode_checkpoint(d).status().code(), Code::kInvalidArgument);
  d.states = {};
  d.undo = {UndoState{1, 1, {1, 2}, {}}};
  EXPECT_EQ(encode_checkpoint(d).status().code(), Code::kInvalidArgument);
}

TEST(CheckpointTest, ChecksumMismatchNamesBothValues) {
  auto bytes = *encode_checkpoint(example());
  bytes[0x54] ^= std::byte{1};
  auto r = decode_checkpoint(bytes, "CP");
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("checksum mismatch (stored 0x"));
}

TEST(CheckpointTest, HugeCountIsRejectedBeforeAllocating) {
  auto bytes = *encode_checkpoint(example());
  storage::store_le<std::uint64_t>(bytes.data() + 0x48, std::uint64_t{1} << 60);
  const std::size_t n = bytes.size() - 8;
  storage::store_le<std::uint64_t>(bytes.data() + n,
                                   storage::checksum64({bytes.data(), n}));
  auto r = decode_checkpoint(bytes, "CP");
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("state_count at offset 72"));
}

TEST(CheckpointTest, OtherVersionIsUnimplemented) {
  auto bytes = *encode_checkpoint(example());
  storage::store_le<std::uint32_t>(bytes.data() + 8, 3);
  const std::size_t n = bytes.size() - 8;
  storage::store_le<std::uint64_t>(bytes.data() + n,
                                   storage::checksum64({bytes.data(), n}));
  EXPECT_EQ(decode_checkpoint(bytes, "CP").status().code(),
            Code::kUnimplemented);
}

TEST(CheckpointTest, WriteReplacesAtomicallyAndRemovesTemp) {
  TempDir dir;
  FileSystem& fs = FileSystem::posix();
  ASSERT_TRUE(write_checkpoint(fs, dir.path(), example()).ok());
  CheckpointData d2 = example();
  d2.epoch = 2;
  ASSERT_TRUE(write_checkpoint(fs, dir.path(), d2).ok());
  auto back = read_checkpoint(fs, dir.sub(kCheckpointFileName));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->epoch, 2u);
  EXPECT_FALSE(fs.exists(dir.sub(kCheckpointTempName)));
  EXPECT_TRUE(read_checkpoint(fs, dir.sub("nope")).status().is_not_found());
}

TEST(CheckpointTest, FailedRenameKeepsTheOldCheckpoint) {
  TempDir dir;
  testing::FaultyFileSystem fs;
  ASSERT_TRUE(write_checkpoint(fs, dir.path(), example()).ok());
  CheckpointData d2 = example();
  d2.epoch = 9;
  for (auto op :
       {testing::Op::kAppend, testing::Op::kSync, testing::Op::kRename}) {
    fs.arm(op, 1);
    const Status s = write_checkpoint(fs, dir.path(), d2);
    EXPECT_EQ(s.code(), Code::kIoError);
    EXPECT_THAT(std::string(s.message()), HasSubstr("injected"));
    fs.disarm();
    auto back = read_checkpoint(fs, dir.sub(kCheckpointFileName));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->epoch, 1u);
    EXPECT_FALSE(fs.exists(dir.sub(kCheckpointTempName)));
  }
}

}  // namespace
}  // namespace atomik
