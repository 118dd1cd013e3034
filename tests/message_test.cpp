// SPDX-License-Identifier: Apache-2.0
// DeltaMessage: the reference's 16-byte layout, vectors, length errors.
#include "atomik/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "atomik/stream.hpp"
#include "test_seed.hpp"
#include "vector_files.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

using testing::read_hex;

TEST(MessageTest, MatchesReferenceVector) {
  const DeltaMessage m{1, 0x0123456789abcdefULL, 7};
  const auto bytes = m.to_bytes();
  const std::vector<std::byte> want = read_hex("message_reference.hex");
  ASSERT_EQ(want.size(), 16U);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), want.begin()));
  Result<DeltaMessage> back = DeltaMessage::from_bytes(want);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
}

TEST(MessageTest, MatchesHighBitVector) {
  const DeltaMessage m{0xFFFFFFFFU, 0xFEDCBA9876543210ULL, 0xFFFFFFFEU};
  const std::vector<std::byte> want = read_hex("message_max.hex");
  const auto bytes = m.to_bytes();
  ASSERT_EQ(want.size(), 16U);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), want.begin()));
  EXPECT_EQ(*DeltaMessage::from_bytes(want), m);
}

TEST(MessageTest, LayoutIsBigEndianAddrDeltaSeq) {
  const auto b =
      DeltaMessage{0x01020304U, 0x05060708090a0b0cULL, 0x0d0e0f10U}.to_bytes();
  for (std::size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(std::to_integer<unsigned>(b[i]), i + 1) << "byte " << i;
  }
}

TEST(MessageTest, EveryOtherLengthIsInvalidArgument) {
  std::vector<std::byte> buf(40);
  for (std::size_t n = 0; n <= buf.size(); ++n) {
    if (n == 16) continue;
    Result<DeltaMessage> r =
        DeltaMessage::from_bytes(std::span<const std::byte>(buf.data(), n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("expected 16 bytes, got " + std::to_string(n)));
  }
}

TEST(MessageTest, RandomMessagesRoundTrip) {
  auto g = testing::rng(8001);
  for (int i = 0; i < 10000; ++i) {
    const DeltaMessage m{static_cast<Addr>(g()), g(),
                         static_cast<std::uint32_t>(g())};
    const auto b = m.to_bytes();
    EXPECT_EQ(*DeltaMessage::from_bytes(b), m);
  }
}

TEST(MessageTest, StampedDeltaToMessageRefusesWideSeq) {
  StampedDelta d{9, 0x100000000ULL, 3, 4};
  Result<DeltaMessage> r = d.to_message();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("4294967296"));
  d.seq = 0xFFFFFFFFULL;
  EXPECT_EQ(*d.to_message(), (DeltaMessage{3, 4, 0xFFFFFFFFU}));
}

}  // namespace
}  // namespace atomik
