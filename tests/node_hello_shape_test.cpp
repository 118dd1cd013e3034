// SPDX-License-Identifier: Apache-2.0
// HELLO of node protocol version 3: bytes 4-5 carry the table's group and
// word width (docs/format/node_protocol.md). Known answers from
// tests/vectors/node_protocol_v3.txt (generated independently in Python);
// xor/64 is byte-identical to version 2; unknown shapes, and second
// spellings of a shape (group 1, word_bits 64), are refused: one spelling
// per shape keeps decode + encode the identity (fuzz/fuzz_packet.cpp).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "transport/packet.hpp"

namespace atomik::transport {
namespace {

std::vector<std::byte> unhex(const std::string& h) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(
        static_cast<std::byte>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::map<std::string, std::vector<std::byte>> vectors() {
  std::ifstream in(std::string(ATOMIK_TEST_VECTORS_DIR) +
                   "/node_protocol_v3.txt");
  std::map<std::string, std::vector<std::byte>> v;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string name, hex;
    s >> name >> hex;
    v[name] = unhex(hex);
  }
  return v;
}

Nonce connector_nonce() {
  Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) {
    n[i] = static_cast<std::byte>(0xa0 + i);
  }
  return n;
}

TEST(NodeHelloShapeTest, KnownAnswerVectors) {
  auto v = vectors();
  ASSERT_EQ(v.size(), 2u) << "tests/vectors/node_protocol_v3.txt missing?";
  Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::byte>(i);
  const Hello add16{.origin = 0x0102030405060708,
                    .nonce = connector_nonce(),
                    .shape = {.group = TableGroup::kAdd, .word_bits = 16}};
  EXPECT_EQ(seal_packet(PacketType::kHello, 0, encode_hello(add16), &k,
                        Direction::kFromConnector),
            v["hello_connector_add16"]);
  Hello add64 = add16;
  add64.shape.word_bits = 64;
  EXPECT_EQ(seal_packet(PacketType::kHello, 0, encode_hello(add64), nullptr,
                        Direction::kFromConnector),
            v["hello_unkeyed_add64"]);
  // Decoding gives the shapes back (the body follows the 24-byte header).
  const auto& p = v["hello_unkeyed_add64"];
  auto h = decode_hello(std::span<const std::byte>(p).subspan(24, 32));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->shape, add64.shape);
  EXPECT_EQ(h->origin, 0x0102030405060708u);
}

TEST(NodeHelloShapeTest, Xor64IsTheVersion2Bytes) {
  const auto b = encode_hello({.origin = 9, .nonce = connector_nonce()});
  EXPECT_EQ(b[4], std::byte{0});
  EXPECT_EQ(b[5], std::byte{0});
  auto h = decode_hello(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->shape, TableShape{});
}

TEST(NodeHelloShapeTest, UnknownShapesAreRefused) {
  const auto good = encode_hello({.origin = 9, .nonce = connector_nonce()});
  for (const auto& [at, value] : std::vector<std::pair<int, int>>{{4, 1},
                                                                  {4, 3},
                                                                  {4, 0xff},
                                                                  {5, 7},
                                                                  {5, 64},
                                                                  {5, 65},
                                                                  {6, 1},
                                                                  {7, 0x80}}) {
    auto b = good;
    b[static_cast<std::size_t>(at)] = static_cast<std::byte>(value);
    EXPECT_EQ(decode_hello(b).status().code(), Code::kCorruption)
        << "byte " << at << " = " << value;
  }
}

}  // namespace
}  // namespace atomik::transport
