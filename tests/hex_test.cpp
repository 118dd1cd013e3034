// SPDX-License-Identifier: Apache-2.0
// codec/hex.hpp: the formatting and the strict parser of 64-bit hex text.
#include "codec/hex.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace atomik::codec {
namespace {

TEST(HexTest, FormatsKnownAnswers) {
  EXPECT_EQ(hex64(0), "0x0000000000000000");
  EXPECT_EQ(hex64(0xDEADBEEF0123ABCDull), "0xdeadbeef0123abcd");
  EXPECT_EQ(hex_digits(0xABCDull, 2), "cd");
  EXPECT_EQ(hex_digits(0x1ull, 8), "00000001");
  EXPECT_EQ(hex_digits(~0ull, 16), "ffffffffffffffff");
  EXPECT_EQ(hex32(0), "0x00000000");
  EXPECT_EQ(hex32(0x4B414E50u), "0x4b414e50");
  EXPECT_EQ(hex128(0x1ull, 0xABull), "0x000000000000000100000000000000ab");
}

TEST(HexTest, ParseAcceptsOneToSixteenHexDigitsOnly) {
  std::uint64_t v = 7;
  EXPECT_TRUE(parse_hex64("deadBEEF0123abcd", &v));
  EXPECT_EQ(v, 0xDEADBEEF0123ABCDull);
  EXPECT_TRUE(parse_hex64("0", &v));
  EXPECT_EQ(v, 0u);
  for (const char* bad : {"", "zz", "0x12", "-1", "+1", " 1", "1 ",
                          "12345678901234567", "12g4"}) {
    v = 7;
    EXPECT_FALSE(parse_hex64(bad, &v)) << bad;
    EXPECT_EQ(v, 7u) << bad;
  }
}

TEST(HexTest, ParseRoundTripsFormat) {
  for (std::uint64_t x :
       {0ull, 1ull, 0x8000000000000000ull, ~0ull, 0x0123456789abcdefull}) {
    std::uint64_t v = 0;
    ASSERT_TRUE(parse_hex64(hex_digits(x, 16), &v));
    EXPECT_EQ(v, x);
  }
}

}  // namespace
}  // namespace atomik::codec
