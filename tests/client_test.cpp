// SPDX-License-Identifier: Apache-2.0
// NodeClient against a peer whose replies are well framed but whose content
// is wrong: every such reply must come back as a Status naming it, never as
// an exception out of the public API. The node is real; a FaultProxy in
// front of it rewrites one RESPONSE (no key, so no tag to forge).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "atomik/node.hpp"
#include "node_fault_proxy.hpp"
#include "node_test_util.hpp"
#include "test_seed.hpp"
#include "transport/packet.hpp"

namespace atomik {
namespace {

namespace tp = transport;

// A DIGEST reply whose 32 characters are not hex digits.
TEST(NodeClientTest, DigestReplyThatIsNotHexIsCorruption) {
  testing::TempDir d("client-hex");
  NodeOptions o;
  o.data_dir = d.sub("a");
  o.listen = "127.0.0.1:0";
  auto node = Node::start(o);
  ASSERT_TRUE(node.ok()) << node.status().to_string();
  testing::FaultProxy proxy((*node)->port(), testing::test_seed(),
                            testing::FaultRates{0, 0, 0, 0, 0});
  const std::size_t digest_reply =
      tp::kPacketHeaderSize + tp::kResponseFixedSize + 32;
  proxy.set_mutator([&](std::vector<std::uint8_t>& p) {
    if (p.size() != digest_reply ||
        p[5] != static_cast<std::uint8_t>(tp::PacketType::kResponse)) {
      return false;
    }
    std::memset(p.data() + p.size() - 32, 'z', 32);
    return true;
  });
  auto c = NodeClient::connect("127.0.0.1:" + std::to_string(proxy.port()));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  Result<Digest> r = (*c)->digest();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().is_corruption()) << r.status().to_string();
  EXPECT_NE(r.status().to_string().find("zzzz"), std::string::npos)
      << r.status().to_string();
  EXPECT_EQ(proxy.counts().mutated.load(), 1u);
  c->reset();
  proxy.stop();
}

}  // namespace
}  // namespace atomik
