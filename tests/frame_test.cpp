// SPDX-License-Identifier: Apache-2.0
// Frames: vectors, round trips, every-byte-flip and every-truncation.
#include "atomik/frame.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_seed.hpp"
#include "vector_files.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

using testing::read_hex;

const std::vector<FrameRecord> k_basic = {{7, 0xFF},
                                          {0x01020304, 0x1122334455667788ULL}};
const FrameHeader k_basic_header{1, 2, 5};
const std::vector<std::byte> k_tag = {std::byte{0xde}, std::byte{0xad},
                                      std::byte{0xbe}, std::byte{0xef}};

void expect_basic(const Frame& f, bool tagged) {
  EXPECT_EQ(f.header.origin, 1U);
  EXPECT_EQ(f.header.epoch, 2U);
  EXPECT_EQ(f.header.base_seq, 5U);
  EXPECT_EQ(f.records, k_basic);
  EXPECT_EQ(f.auth_tag, tagged ? k_tag : std::vector<std::byte>{});
}

TEST(FrameTest, MatchesVectorFiles) {
  Result<std::vector<std::byte>> basic = encode_frame(k_basic_header, k_basic);
  ASSERT_TRUE(basic.ok()) << basic.status().to_string();
  EXPECT_EQ(*basic, read_hex("frame_basic.hex"));
  Result<std::vector<std::byte>> tagged =
      encode_frame(k_basic_header, k_basic, k_tag);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(*tagged, read_hex("frame_tagged.hex"));
  Result<std::vector<std::byte>> empty =
      encode_frame(FrameHeader{0x8000000000000001ULL, 0, 0}, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, read_hex("frame_empty.hex"));

  // Above 256 bytes the checksum takes the streaming path: pinned too.
  std::vector<FrameRecord> large;
  for (std::uint64_t i = 0; i < 100; ++i) {
    large.push_back({static_cast<Addr>(i), i * 0x0101010101010101ULL});
  }
  Result<std::vector<std::byte>> big =
      encode_frame(FrameHeader{3, 4, 1000}, large);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(*big, read_hex("frame_large.hex"));
  Result<Frame> fl = decode_frame(read_hex("frame_large.hex"));
  ASSERT_TRUE(fl.ok()) << fl.status().to_string();
  EXPECT_EQ(fl->records, large);

  Result<Frame> f = decode_frame(read_hex("frame_basic.hex"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  expect_basic(*f, false);
  f = decode_frame(read_hex("frame_tagged.hex"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  expect_basic(*f, true);
  f = decode_frame(read_hex("frame_empty.hex"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  EXPECT_TRUE(f->records.empty());
}

TEST(FrameTest, ViewGivesSeqsAndSize) {
  std::vector<std::byte> b = *encode_frame(k_basic_header, k_basic, k_tag);
  b.push_back(std::byte{0x99});  // the next frame's first byte: not read
  Result<FrameView> v = parse_frame(b);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), frame_size(2, 4));
  EXPECT_EQ(v->count(), 2U);
  EXPECT_EQ(v->seq(0), 5U);
  EXPECT_EQ(v->seq(1), 6U);
  EXPECT_EQ(v->record(1), k_basic[1]);
  EXPECT_EQ(v->auth_tag().size(), 4U);
  EXPECT_EQ(v->record_bytes().size(), 24U);
}

TEST(FrameTest, RandomFramesRoundTrip) {
  auto g = testing::rng(8101);
  for (int iter = 0; iter < 200; ++iter) {
    std::vector<FrameRecord> recs(g() % 300);
    for (auto& r : recs) r = {static_cast<Addr>(g()), g()};
    std::vector<std::byte> tag(g() % 3 == 0 ? 1 + g() % 64 : 0);
    for (auto& t : tag) t = static_cast<std::byte>(g());
    const FrameHeader h{1 + g() % 1000, g(), 1 + g() % (1ULL << 62)};
    Result<std::vector<std::byte>> b = encode_frame(h, recs, tag);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    Result<Frame> f = decode_frame(*b);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->records, recs);
    EXPECT_EQ(f->auth_tag, tag);
    EXPECT_EQ(f->header.origin, h.origin);
    EXPECT_EQ(f->header.epoch, h.epoch);
    EXPECT_EQ(f->header.base_seq, h.base_seq);
  }
}

// Flip each byte (every non-zero xor mask on a few positions, one mask on
// all): the outcome is always an error naming an offset, never other data.
TEST(FrameTest, EveryByteFlipIsAnErrorNamingAnOffset) {
  std::vector<std::vector<std::byte>> frames = {
      *encode_frame(k_basic_header, k_basic),
      *encode_frame(k_basic_header, k_basic, k_tag),
      read_hex("frame_large.hex"),  // streaming checksum path
  };
  for (const std::vector<std::byte>& good : frames) {
    ASSERT_TRUE(decode_frame(good).ok());
    for (std::size_t i = 0; i < good.size(); ++i) {
      for (unsigned mask : {0x01U, 0x80U, 0xFFU, 0x5AU}) {
        std::vector<std::byte> bad = good;
        bad[i] ^= static_cast<std::byte>(mask);
        Result<Frame> f = decode_frame(bad, {}, 1000);
        ASSERT_FALSE(f.ok()) << "byte " << i << " mask " << mask;
        const std::string msg(f.status().message());
        ASSERT_THAT(msg,
                    MatchesRegex("frame at offset 1000: offset [0-9]+: .*"))
            << f.status().to_string();
        const std::size_t named = std::stoull(
            msg.substr(std::string("frame at offset 1000: offset ").size()));
        EXPECT_GE(named, 1000U);
        EXPECT_LE(named, 1000U + good.size());
      }
    }
  }
}

TEST(FrameTest, EveryTruncationIsAnErrorNamingAnOffset) {
  const std::vector<std::byte> good =
      *encode_frame(k_basic_header, k_basic, k_tag);
  for (std::size_t n = 0; n < good.size(); ++n) {
    Result<Frame> f =
        decode_frame(std::span<const std::byte>(good.data(), n), {}, 64);
    ASSERT_FALSE(f.ok()) << n;
    EXPECT_EQ(f.status().code(), Code::kCorruption);
    EXPECT_THAT(std::string(f.status().message()), HasSubstr("truncated"));
    EXPECT_THAT(std::string(f.status().message()),
                HasSubstr("offset " + std::to_string(64 + n)));
  }
  EXPECT_TRUE(decode_frame(good).ok());
}

TEST(FrameTest, ChecksumMismatchReportsStoredAndComputed) {
  std::vector<std::byte> b = *encode_frame(k_basic_header, k_basic);
  b[50] ^= std::byte{1};
  Result<FrameView> v = parse_frame(b);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kCorruption);
  EXPECT_THAT(std::string(v.status().message()),
              HasSubstr("offset 40: checksum mismatch (stored "
                        "0x25cced3a9c84d08b, computed 0x"));
}

TEST(FrameTest, OversizedCountIsRefusedBeforeAllocating) {
  std::vector<std::byte> b = *encode_frame(k_basic_header, k_basic);
  // count = 0xFFFFFFFF: a 48 GiB frame; refused from the header alone.
  for (std::size_t i = 32; i < 36; ++i) b[i] = std::byte{0xFF};
  Result<Frame> f = decode_frame(b);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(std::string(f.status().message()),
              HasSubstr("offset 32: count 4294967295"));
  // A limit exactly at the frame size accepts it; one byte less refuses.
  const std::vector<std::byte> ok = *encode_frame(k_basic_header, k_basic);
  EXPECT_TRUE(parse_frame(ok, FrameLimits{ok.size()}).ok());
  Result<FrameView> v = parse_frame(ok, FrameLimits{ok.size() - 1});
  EXPECT_EQ(v.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(
      encode_frame(k_basic_header, k_basic, {}, FrameLimits{ok.size() - 1})
          .status()
          .code(),
      Code::kResourceExhausted);
}

TEST(FrameTest, UnknownVersionAndFlagsAreUnimplemented) {
  std::vector<std::byte> b = *encode_frame(k_basic_header, k_basic);
  b[4] = std::byte{2};
  EXPECT_EQ(parse_frame(b).status().code(), Code::kUnimplemented);
  EXPECT_THAT(std::string(parse_frame(b).status().message()),
              HasSubstr("offset 4: unsupported version 2"));
  b[4] = std::byte{1};
  b[5] = std::byte{0x02};
  EXPECT_EQ(parse_frame(b).status().code(), Code::kUnimplemented);
  EXPECT_THAT(std::string(parse_frame(b).status().message()),
              HasSubstr("offset 5: unknown flags 0x02"));
}

TEST(FrameTest, EncoderRejectsBadInputWithoutWriting) {
  std::vector<std::byte> out(200, std::byte{0x77});
  EXPECT_EQ(
      encode_frame_into(FrameHeader{0, 0, 1}, k_basic, {}, out).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(
      encode_frame_into(FrameHeader{1, 0, 0}, k_basic, {}, out).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(encode_frame_into(FrameHeader{1, 0, UINT64_MAX}, k_basic, {}, out)
                .status()
                .code(),
            Code::kInvalidArgument);
  std::vector<std::byte> big_tag(65);
  EXPECT_EQ(
      encode_frame_into(k_basic_header, k_basic, big_tag, out).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(encode_frame_into(k_basic_header, k_basic, {},
                              std::span<std::byte>(out.data(), 71))
                .status()
                .code(),
            Code::kOutOfRange);
  for (std::byte b : out) ASSERT_EQ(b, std::byte{0x77});
  // The last representable seq is fine: base_seq + count - 1 == 2^64 - 1.
  EXPECT_TRUE(
      encode_frame_into(FrameHeader{1, 0, UINT64_MAX - 1}, k_basic, {}, out)
          .ok());
}

TEST(FrameTest, BadLimitIsInvalidArgument) {
  const std::vector<std::byte> b = *encode_frame(k_basic_header, k_basic);
  EXPECT_EQ(parse_frame(b, FrameLimits{47}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(parse_frame(b, FrameLimits{kFrameMaxLimit + 1}).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace atomik
