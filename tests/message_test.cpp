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

namespace atomik {
namespace {

using ::testing::HasSubstr;

// Reads a tests/vectors/*.hex file: '#' lines are comments, the rest hex
// byte pairs separated by whitespace.
std::vector<std::byte> read_hex(const std::string& name) {
  std::ifstream in(std::string(ATOMIK_TEST_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::byte> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string tok;
    while (ls >> tok) {
      out.push_back(static_cast<std::byte>(std::stoul(tok, nullptr, 16)));
    }
  }
  return out;
}

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
