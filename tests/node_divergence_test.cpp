// SPDX-License-Identifier: Apache-2.0
// Incarnations and divergence repair, in process on loopback: a restarted
// node never reuses an (origin, seq) (it waits for its peers' marks, or
// starts a new origin), and two nodes with equal version vectors but
// different states detect it, log and count it, show it in `status`, and
// converge by a state transfer from the side holding the acknowledged data
// (docs/design.md). Every wait has a deadline; nothing sleeps to
// synchronise.
#include <gtest/gtest.h>

#include <map>

#include "atomik/frame.hpp"
#include "atomik/node.hpp"
#include "node_test_util.hpp"

namespace atomik {
namespace {

using testing::TempDir;
using testing::wait_until;

NodeOptions opts(const std::string& dir, OriginId origin = 0) {
  NodeOptions o = testing::node_options(dir);
  o.storage.origin = origin;
  return o;
}

std::unique_ptr<Node> start(const NodeOptions& o) {
  return testing::start_node(o);
}

bool converged(Node& a, Node& b) {
  return a.digest() == b.digest() && a.version_vector() == b.version_vector();
}

// One delta of `origin` with seq `seq`, applied as if a peer had sent it.
void inject(Node& n, OriginId origin, Seq seq, Addr addr, std::uint64_t v) {
  const std::vector<FrameRecord> r = {{addr, v}};
  auto f = encode_frame(FrameHeader{.origin = origin, .base_seq = seq}, r);
  ASSERT_TRUE(f.ok());
  auto applied = n.apply_frame(parse_frame(*f).value());
  ASSERT_TRUE(applied.ok()) << applied.status().to_string();
  ASSERT_EQ(applied->applied, 1u);
  ASSERT_TRUE(n.sync().ok());
}

// Converged, and stays so: several more sync rounds find no divergence.
void expect_stable(Node& a, Node& b) {
  const std::uint64_t da = a.stats().divergences;
  const std::uint64_t db = b.stats().divergences;
  const std::uint64_t syncs = a.stats().syncs_received;
  ASSERT_TRUE(
      wait_until([&] { return a.stats().syncs_received >= syncs + 6; }));
  EXPECT_TRUE(converged(a, b));
  EXPECT_EQ(a.stats().divergences, da);
  EXPECT_EQ(b.stats().divergences, db);
}

// Origin 0x77's seq 1 reached A and B with different contents: equal
// version vectors, unequal digests. Neither node is 0x77, so nothing says
// which contents were acknowledged: the lower origin id's state is kept.
TEST(NodeDivergenceTest, TwoContentsForAThirdOriginConvergeOnTheLowerOrigin) {
  TempDir d("diverge3");
  const OriginId low = 0x1000, high = 0xF000;
  auto a = start(opts(d.sub("a"), high));
  NodeOptions ob = opts(d.sub("b"), low);
  auto b = start(ob);  // not connected yet
  inject(*a, 0x77, 1, 5, 1);
  inject(*b, 0x77, 1, 5, 2);
  ASSERT_TRUE(b->stop().ok());
  ob.peers = {a->listen_address()};
  b = start(ob);
  ASSERT_TRUE(wait_until([&] {
    return a->stats().divergences >= 1 && b->stats().divergences >= 1;
  }));
  ASSERT_TRUE(wait_until([&] { return converged(*a, *b); }))
      << a->status().to_text() << b->status().to_text();
  EXPECT_EQ(a->read(5).value(), 2u);  // b (origin 0x1000) kept its state
  EXPECT_EQ(b->read(5).value(), 2u);
  EXPECT_GE(a->stats().repairs_installed, 1u);
  EXPECT_GE(b->stats().repairs_sent, 1u);
  EXPECT_EQ(b->stats().repairs_installed, 0u);
  const std::string j = a->status().to_json();
  EXPECT_EQ(j.find("\"divergences\":0,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"repairs_installed\":1"), std::string::npos) << j;
  expect_stable(*a, *b);
}

// A's own seq 1 is held by B with other contents. A is its origin and
// acknowledged its contents, so B yields to A even though B's origin id is
// the lower one (the rule above alone would keep B's wrong contents).
TEST(NodeDivergenceTest, OwnDeltaHeldWithOtherContentsIsRepairedFromItsOrigin) {
  TempDir d("divergeown");
  const OriginId low = 0x1000, high = 0xF000;
  auto a = start(opts(d.sub("a"), high));
  NodeOptions ob = opts(d.sub("b"), low);
  auto b = start(ob);
  ASSERT_TRUE(a->accum(5, 1).ok());  // (high, 1) = {5: 1}, acknowledged
  inject(*b, high, 1, 5, 2);         // (high, 1) = {5: 2} at B
  ASSERT_TRUE(b->accum(6, 3).ok());
  ASSERT_TRUE(b->stop().ok());
  ob.peers = {a->listen_address()};
  b = start(ob);
  ASSERT_TRUE(wait_until([&] {
    return converged(*a, *b) && a->read(6).value_or(0) == 3;
  })) << a->status().to_text()
      << b->status().to_text();
  EXPECT_EQ(a->read(5).value(), 1u);
  EXPECT_EQ(b->read(5).value(), 1u);
  EXPECT_EQ(b->read(6).value(), 3u);
  EXPECT_GE(b->stats().conflicts, 1u);
  EXPECT_GE(b->stats().repairs_installed, 1u);
  EXPECT_EQ(a->stats().repairs_installed, 0u);
  EXPECT_NE(b->status().to_json().find("\"conflicts\":"), std::string::npos);
  expect_stable(*a, *b);
}

// A restarted node whose peer answers keeps its origin: own seqs continue
// after the peer's mark for it.
TEST(NodeIncarnationTest, RestartWithAPeerKeepsTheOriginAndContinuesSeqs) {
  TempDir d("incarn");
  NodeOptions oa = opts(d.sub("a"));
  auto a = start(oa);
  NodeOptions ob = opts(d.sub("b"));
  ob.peers = {a->listen_address()};
  auto b = start(ob);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(a->accum(1, 1u << i).ok());
  ASSERT_TRUE(wait_until([&] { return converged(*a, *b); }));
  const OriginId origin = a->origin();
  ASSERT_TRUE(a->stop().ok());
  a.reset();
  oa.peers = {b->listen_address()};
  a = start(oa);
  ASSERT_TRUE(a->accum(2, 7).ok());  // waits for B's mark
  EXPECT_EQ(a->origin(), origin);
  EXPECT_EQ(a->version_vector().get(origin), 6u);
  EXPECT_EQ(a->stats().incarnations, 0u);
  ASSERT_TRUE(wait_until([&] { return converged(*a, *b); }));
  EXPECT_EQ(b->read(2).value(), 7u);
}

// No peer answers within the timeout: a new origin. B held A's old seqs
// 1..3 and A lost 2..3 (it is restarted on a copy of an older directory,
// as a disk that ignored flushes would leave it): A's next delta must
// not be taken by B for a duplicate of (origin, 2).
TEST(NodeIncarnationTest, NoPeerAnswerStartsANewOriginThatNeverCollides) {
  TempDir d("incarnto");
  NodeOptions oa = opts(d.sub("a"));
  auto a = start(oa);
  ASSERT_TRUE(a->accum(1, 0x1).ok());
  const OriginId old = a->origin();
  ASSERT_TRUE(a->stop().ok());
  a.reset();
  std::filesystem::copy(d.sub("a"), d.sub("a_old"),
                        std::filesystem::copy_options::recursive);
  a = start(oa);  // no peers: a new incarnation at once
  ASSERT_NE(a->origin(), old);
  EXPECT_EQ(a->stats().incarnations, 1u);
  EXPECT_EQ(a->version_vector().get(old), 1u);
  ASSERT_TRUE(a->stop().ok());
  a.reset();

  // B holds old seqs 1..3; A restarts from the older copy (old mark 1).
  NodeOptions ob = opts(d.sub("b"));
  auto b = start(ob);
  inject(*b, old, 1, 1, 0x1);
  inject(*b, old, 2, 2, 0x20);
  inject(*b, old, 3, 3, 0x300);
  NodeOptions oc = opts(d.sub("a_old"));
  oc.peers = {"127.0.0.1:1"};  // nobody answers there
  oc.incarnation_timeout_ms = 100;
  auto c = start(oc);
  ASSERT_TRUE(c->accum(2, 0x4000).ok());  // waits for the timeout
  const OriginId fresh = c->origin();
  EXPECT_NE(fresh, old);
  EXPECT_EQ(c->stats().incarnations, 1u);
  EXPECT_EQ(c->version_vector().get(fresh), 1u);
  // Now B and C meet: C gets old 2..3 back, B gets (fresh, 1) as new.
  ASSERT_TRUE(c->stop().ok());
  c.reset();
  oc.peers = {b->listen_address()};
  c = start(oc);
  ASSERT_TRUE(wait_until([&] { return converged(*b, *c); }))
      << b->status().to_text() << c->status().to_text();
  EXPECT_EQ(b->read(2).value(), 0x20u ^ 0x4000u);
  EXPECT_EQ(c->read(3).value(), 0x300u);
  EXPECT_EQ(b->version_vector().get(fresh), 1u);
  EXPECT_EQ(b->stats().divergences + c->stats().divergences, 0u);
}

}  // namespace
}  // namespace atomik
