// SPDX-License-Identifier: Apache-2.0
// DeltaStream: exactly-once apply, catch-up, digest, state transfer.
// Reference model: a replica's state is the XOR of every distinct
// (origin, seq) delta it holds, per address.
#include "atomik/stream.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_seed.hpp"
#include "vector_files.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

DeltaStream make(OriginId origin, StreamOptions o = {}) {
  o.origin = origin;
  Result<DeltaStream> s = DeltaStream::create(o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return std::move(*s);
}

std::map<Addr, std::uint64_t> model(const std::vector<StampedDelta>& ds) {
  std::map<Addr, std::uint64_t> m;
  for (const auto& d : ds) m[d.addr] ^= d.delta;
  for (auto it = m.begin(); it != m.end();) {
    it = it->second == 0 ? m.erase(it) : std::next(it);
  }
  return m;
}

std::map<Addr, std::uint64_t> states(const DeltaStream& s) {
  std::map<Addr, std::uint64_t> m;
  for (const auto& [a, v] : s.table().snapshot()) m[a] = v;
  return m;
}

// Deltas from `origins` origins, `per` each, on addresses < addrs.
std::vector<StampedDelta> delta_set(std::mt19937_64& g, std::uint64_t origins,
                                    std::uint64_t per, std::uint64_t addrs) {
  std::vector<StampedDelta> out;
  for (std::uint64_t o = 1; o <= origins; ++o) {
    for (Seq s = 1; s <= per; ++s) {
      out.push_back({100 + o, s, static_cast<Addr>(g() % addrs), g()});
    }
  }
  return out;
}

TEST(StreamTest, SeedPatternFiveRunsAsWritten) {
  // Node A
  DeltaStream stream_a;
  ASSERT_TRUE(stream_a.load(0, 0xCAFE).ok());
  // Node B (different machine)
  DeltaStream stream_b;
  ASSERT_TRUE(stream_b.load(0, 0xCAFE).ok());
  // A makes a change, sends delta to B
  ASSERT_TRUE(stream_a.accum(0, 0x00FF).ok());
  const DeltaMessage msg{0, 0x00FF, 1};
  const auto wire = msg.to_bytes();  // 16 bytes over the network
  // B receives and applies
  Result<DeltaMessage> received = DeltaMessage::from_bytes(wire);
  ASSERT_TRUE(received.ok());
  ASSERT_TRUE(stream_b.accum(received->addr, received->delta).ok());
  EXPECT_EQ(*stream_a.read(0), *stream_b.read(0));
  EXPECT_EQ(*stream_a.read(0), 0xCAFEU ^ 0x00FFU);
  EXPECT_EQ(stream_a.digest(), stream_b.digest());
  EXPECT_NE(stream_a.origin(), stream_b.origin());  // random, distinct
  EXPECT_EQ(*stream_a.read(12345), 0U);             // sparse: unknown is 0
}

TEST(StreamTest, DuplicateIsIgnoredAndCounted) {
  DeltaStream a = make(1);
  DeltaStream b = make(2);
  const StampedDelta d = *a.accum(7, 0xFF);
  EXPECT_EQ(d.origin, 1U);
  EXPECT_EQ(d.seq, 1U);
  EXPECT_EQ(*b.apply(d), ApplyOutcome::kApplied);
  EXPECT_EQ(*b.apply(d), ApplyOutcome::kDuplicate);
  EXPECT_EQ(*b.apply(d), ApplyOutcome::kDuplicate);
  EXPECT_EQ(*b.read(7), 0xFFU);
  EXPECT_EQ(b.stats().applied, 1U);
  EXPECT_EQ(b.stats().duplicates, 2U);
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(StreamTest, RawCompatModeAppliesDuplicatesAndDiverges) {
  StreamOptions o;
  o.mode = ApplyMode::kRawCompat;
  DeltaStream raw = make(2, o);
  const DeltaMessage m{7, 0xFF, 1};
  EXPECT_EQ(*raw.apply(m), ApplyOutcome::kApplied);
  EXPECT_EQ(*raw.apply(m), ApplyOutcome::kApplied);
  EXPECT_EQ(*raw.read(7), 0U);  // the duplicate undid the delta
  DeltaStream ours = make(3);
  (void)ours.apply(m);
  (void)ours.apply(m);
  EXPECT_EQ(*ours.read(7), 0xFFU);
}

TEST(StreamTest, LegacyMessagesDedupUnderOriginZero) {
  DeltaStream s = make(5);
  EXPECT_EQ(*s.apply(DeltaMessage{1, 0xAA, 1}), ApplyOutcome::kApplied);
  EXPECT_EQ(*s.apply(DeltaMessage{1, 0xAA, 1}), ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.version_vector().get(kLegacyOrigin), 1U);
  Result<ApplyOutcome> r = s.apply(DeltaMessage{1, 0xAA, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("seq 0"));
  EXPECT_EQ(*s.read(1), 0xAAU);
}

TEST(StreamTest, FailedApplyChangesNothing) {
  StreamOptions o;
  o.dense_contexts = 16;
  DeltaStream s = make(1, o);
  (void)s.apply(9, 1, 3, 0x10);
  const Digest d = s.digest();
  const DedupState st = s.dedup_state();
  Result<ApplyOutcome> r = s.apply(9, 2, 16, 0x20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("address 16 >= num_contexts 16"));
  EXPECT_EQ(s.digest(), d);
  EXPECT_EQ(s.dedup_state(), st);
  EXPECT_EQ(s.classify(9, 2), ApplyOutcome::kApplied);  // seq 2 still new
  EXPECT_EQ(s.accum(16, 1).status().code(), Code::kOutOfRange);
  EXPECT_EQ(s.version_vector().get(1), 0U);  // no seq consumed
}

// apply_records is apply() per record, batched: same state, marks and
// duplicates; a bad batch changes nothing.
TEST(StreamTest, ApplyRecordsMatchesApplyPerRecord) {
  StreamOptions o;
  o.dense_contexts = 64;
  DeltaStream batched = make(1, o);
  DeltaStream single = make(1, o);
  std::vector<FrameRecord> recs;
  for (std::uint32_t i = 0; i < 40; ++i) {
    recs.push_back({(i * 7) % 64, 0x1000u + i});
  }
  // Seqs 1..40, then 31..50 (10 duplicates), from origin 9.
  auto r1 = batched.apply_records(9, 1, recs);
  ASSERT_TRUE(r1.ok()) << r1.status().to_string();
  EXPECT_EQ(r1->applied, 40u);
  auto r2 = batched.apply_records(9, 31, std::span(recs).first(20));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->applied, 10u);
  EXPECT_EQ(r2->duplicates, 10u);
  for (std::uint32_t i = 0; i < 40; ++i) {
    (void)single.apply(9, i + 1, recs[i].addr, recs[i].delta);
  }
  for (std::uint32_t i = 0; i < 20; ++i) {
    (void)single.apply(9, i + 31, recs[i].addr, recs[i].delta);
  }
  EXPECT_EQ(batched.table().snapshot(), single.table().snapshot());
  EXPECT_EQ(batched.digest(), single.digest());
  EXPECT_EQ(batched.version_vector().get(9), 50u);
  // Bad batches: seq 0, an address out of range (record 1): nothing applied.
  const Digest d = batched.digest();
  EXPECT_EQ(batched.apply_records(9, 0, recs).status().code(),
            Code::kInvalidArgument);
  const std::vector<FrameRecord> bad = {{1, 1}, {64, 2}};
  auto r3 = batched.apply_records(9, 51, bad);
  EXPECT_EQ(r3.status().code(), Code::kOutOfRange);
  EXPECT_THAT(std::string(r3.status().message()), HasSubstr("record 1"));
  EXPECT_EQ(batched.digest(), d);
  EXPECT_EQ(batched.version_vector().get(9), 50u);
}

TEST(StreamTest, WindowAppliesOutOfOrderAndRefusesBeyond) {
  StreamOptions o;
  o.window = 64;
  o.retain_per_origin = 64;
  DeltaStream s = make(1, o);
  EXPECT_EQ(*s.apply(9, 64, 1, 1), ApplyOutcome::kApplied);  // mark 0 + 64
  EXPECT_EQ(*s.apply(9, 65, 1, 2), ApplyOutcome::kBeyondWindow);
  EXPECT_EQ(s.stats().beyond_window, 1U);
  EXPECT_EQ(*s.read(1), 1U);  // 65 not applied
  EXPECT_EQ(s.version_vector().get(9), 0U);
  for (Seq q = 1; q < 64; ++q) {
    ASSERT_EQ(*s.apply(9, q, 2, q), ApplyOutcome::kApplied);
  }
  EXPECT_EQ(s.version_vector().get(9), 64U);  // gap filled: mark jumps
  EXPECT_EQ(*s.apply(9, 65, 1, 2), ApplyOutcome::kApplied);
  EXPECT_EQ(*s.apply(9, 64, 1, 1), ApplyOutcome::kDuplicate);
  EXPECT_EQ(*s.read(1), 3U);
}

TEST(StreamTest, NeverForgetsAnAppliedDelta) {
  StreamOptions o;
  o.window = 64;
  o.retain_per_origin = 64;
  DeltaStream s = make(1, o);
  for (Seq q = 1; q <= 100000; ++q) {
    ASSERT_EQ(*s.apply(9, q, 0, q), ApplyOutcome::kApplied);
  }
  const std::uint64_t state = *s.read(0);
  for (Seq q : {Seq{1}, Seq{2}, Seq{50000}, Seq{99999}, Seq{100000}}) {
    EXPECT_EQ(*s.apply(9, q, 0, q), ApplyOutcome::kDuplicate);
  }
  EXPECT_EQ(*s.read(0), state);
}

// Acceptance: any permutation with any duplication of a delta set converges
// to the same state and digest.
TEST(StreamTest, AnyPermutationWithDuplicationConverges) {
  auto g = testing::rng(8201);
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<StampedDelta> set =
        delta_set(g, 1 + g() % 5, 1 + g() % 200, 1 + g() % 64);
    const auto want = model(set);
    Digest first;
    for (std::uint64_t replica = 0; replica < 4; ++replica) {
      std::vector<StampedDelta> traffic = set;
      const std::size_t dups = g() % (set.size() + 1);
      for (std::size_t i = 0; i < dups; ++i) {
        traffic.push_back(set[g() % set.size()]);
      }
      std::shuffle(traffic.begin(), traffic.end(), g);
      StreamOptions o;
      o.dense_contexts = replica % 2 == 0 ? 64 : 0;  // dense and sparse agree
      DeltaStream s = make(1000 + replica, o);
      for (const auto& d : traffic) ASSERT_TRUE(s.apply(d).ok());
      EXPECT_EQ(states(s), want) << "trial " << trial;
      EXPECT_EQ(s.digest(), s.compute_digest());
      EXPECT_EQ(s.stats().applied, set.size());
      EXPECT_EQ(s.stats().duplicates, dups);
      if (replica == 0) first = s.digest();
      EXPECT_EQ(s.digest(), first) << "trial " << trial;
    }
  }
}

// Replicas that each write locally, exchange over a lossy network (drop,
// duplicate, reorder), then repair by version-vector catch-up.
TEST(StreamTest, LossIsRepairedByCatchUp) {
  auto g = testing::rng(8202);
  for (int trial = 0; trial < 10; ++trial) {
    constexpr std::size_t kReplicas = 5;
    std::vector<DeltaStream> rs;
    for (std::size_t i = 0; i < kReplicas; ++i) rs.push_back(make(10 + i));
    std::vector<StampedDelta> all;
    std::vector<std::pair<std::size_t, StampedDelta>>
        net;  // (destination, delta)
    for (int step = 0; step < 2000; ++step) {
      const std::size_t w = g() % kReplicas;
      const StampedDelta d = *rs[w].accum(static_cast<Addr>(g() % 100), g());
      all.push_back(d);
      for (std::size_t to = 0; to < kReplicas; ++to) {
        if (to == w || g() % 100 < 30) continue;  // 30% loss
        net.emplace_back(to, d);
        if (g() % 100 < 10) net.emplace_back(to, d);  // 10% duplicated
      }
    }
    std::shuffle(net.begin(), net.end(), g);
    for (const auto& [to, d] : net) ASSERT_TRUE(rs[to].apply(d).ok());
    // Anti-entropy: every pair exchanges what the other lacks, twice.
    for (int round = 0; round < 2; ++round) {
      for (std::size_t i = 0; i < kReplicas; ++i) {
        for (std::size_t j = 0; j < kReplicas; ++j) {
          if (i == j) continue;
          const CatchUp c = rs[i].missing(rs[j].version_vector());
          ASSERT_FALSE(c.needs_state_transfer) << c.reason;
          for (const auto& d : c.deltas) ASSERT_TRUE(rs[j].apply(d).ok());
        }
      }
    }
    const auto want = model(all);
    for (std::size_t i = 0; i < kReplicas; ++i) {
      EXPECT_EQ(states(rs[i]), want) << "replica " << i;
      EXPECT_EQ(rs[i].digest(), rs[0].digest());
      EXPECT_EQ(rs[i].digest(), rs[i].compute_digest());
      EXPECT_TRUE(rs[i].missing(rs[0].version_vector()).deltas.empty());
    }
  }
}

TEST(StreamTest, MissingIncludesOutOfOrderDeltasAboveTheMark) {
  DeltaStream a = make(1);
  DeltaStream b = make(2);
  (void)a.apply(9, 1, 0, 1);
  (void)a.apply(9, 3, 0, 4);  // gap at 2
  const CatchUp c = b.missing(a.version_vector());
  EXPECT_TRUE(c.deltas.empty());
  const CatchUp d = a.missing(b.version_vector());
  ASSERT_EQ(d.deltas.size(), 2U);
  EXPECT_EQ(d.deltas[0].seq, 1U);
  EXPECT_EQ(d.deltas[1].seq, 3U);
  // b's mark for 9 is 0 even after seq 3: it gets seq 3 again (a duplicate).
  for (const auto& x : d.deltas) (void)b.apply(x);
  EXPECT_EQ(a.missing(b.version_vector()).deltas.size(), 1U);
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(StreamTest, RetainedLogIsBoundedAndReportsNeedsStateTransfer) {
  StreamOptions o;
  o.window = 64;
  o.retain_per_origin = 128;
  DeltaStream a = make(1, o);
  DeltaStream b = make(2, o);
  for (int i = 0; i < 1000; ++i) {
    (void)a.accum(static_cast<Addr>(i % 7),
                  static_cast<std::uint64_t>(i) * 31 + 1);
  }
  // A peer 128 behind is served from the log.
  DeltaStream near = make(3, o);
  for (Seq q = 1; q <= 872; ++q) (void)near.apply(1, q, 0, 0);  // marks only
  const CatchUp ok = a.missing(near.version_vector());
  EXPECT_FALSE(ok.needs_state_transfer) << ok.reason;
  EXPECT_EQ(ok.deltas.size(), 128U);
  // b is 1000 behind: the log holds only the last 128.
  const CatchUp c = a.missing(b.version_vector());
  EXPECT_TRUE(c.needs_state_transfer);
  EXPECT_THAT(c.reason, HasSubstr("origin 1 seq 1 "));
  EXPECT_THAT(c.reason, HasSubstr("retain_per_origin 128"));
  EXPECT_EQ(c.deltas.size(), 128U);  // what is still retained
  // No log at all.
  o.retain_per_origin = 0;
  DeltaStream z = make(4, o);
  (void)z.accum(1, 1);
  EXPECT_TRUE(z.missing(VersionVector{}).needs_state_transfer);
  EXPECT_FALSE(z.missing(z.version_vector()).needs_state_transfer);
}

// Acceptance: state transfer, verified by digest, correct when the lagging
// peer holds deltas the sender has not seen.
TEST(StreamTest, StateTransferKeepsTheLaggingPeersOwnDeltas) {
  auto g = testing::rng(8203);
  StreamOptions o;
  o.window = 64;
  o.retain_per_origin = 256;
  DeltaStream sender = make(1, o);
  DeltaStream lagging = make(2, o);
  DeltaStream third = make(3, o);
  std::vector<StampedDelta> all;
  for (int i = 0; i < 100; ++i) {  // everyone has these
    const StampedDelta d = *sender.accum(static_cast<Addr>(g() % 50), g());
    all.push_back(d);
    (void)lagging.apply(d);
  }
  for (int i = 0; i < 3000; ++i) {  // lagging misses these: log overflows
    const StampedDelta d = *sender.accum(static_cast<Addr>(g() % 50), g());
    all.push_back(d);
  }
  for (int i = 0; i < 40; ++i) {  // lagging's own, unseen by sender
    all.push_back(*lagging.accum(static_cast<Addr>(g() % 50), g()));
  }
  for (int i = 0; i < 30; ++i) {  // third's, reached lagging only
    const StampedDelta d = *third.accum(static_cast<Addr>(g() % 50), g());
    all.push_back(d);
    (void)lagging.apply(d);
  }
  const CatchUp c = sender.missing(lagging.version_vector());
  ASSERT_TRUE(c.needs_state_transfer);
  const StreamSnapshot snap = sender.snapshot();
  ASSERT_TRUE(lagging.install_state_transfer(snap).ok());
  EXPECT_EQ(lagging.digest(), lagging.compute_digest());
  // The sender catches up from the lagging peer's log; then both hold all.
  const CatchUp back = lagging.missing(sender.version_vector());
  ASSERT_FALSE(back.needs_state_transfer) << back.reason;
  EXPECT_EQ(back.deltas.size(), 70U);
  for (const auto& d : back.deltas) ASSERT_TRUE(sender.apply(d).ok());
  const auto want = model(all);
  EXPECT_EQ(states(sender), want);
  EXPECT_EQ(states(lagging), want);
  EXPECT_EQ(sender.digest(), lagging.digest());
  EXPECT_EQ(sender.version_vector(), lagging.version_vector());
  // The lagging peer's own seqs continue where they were.
  EXPECT_EQ(lagging.accum(0, 1)->seq, 41U);
}

TEST(StreamTest, StateTransferRefusedWhenOwnDeltasWereDropped) {
  StreamOptions o;
  o.window = 64;
  o.retain_per_origin = 64;
  DeltaStream sender = make(1, o);
  DeltaStream lagging = make(2, o);
  (void)sender.accum(1, 1);
  for (int i = 0; i < 200; ++i) {
    (void)lagging.accum(2, static_cast<std::uint64_t>(i) + 1);
  }
  const Digest before = lagging.digest();
  const Status s = lagging.install_state_transfer(sender.snapshot());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("origin 2 seq 1 "));
  EXPECT_EQ(lagging.digest(), before);
  EXPECT_EQ(lagging.version_vector().get(1), 0U);
}

TEST(StreamTest, CorruptSnapshotIsRejectedByDigest) {
  DeltaStream a = make(1);
  DeltaStream b = make(2);
  for (Addr i = 0; i < 10; ++i) (void)a.accum(i, i + 1);
  StreamSnapshot snap = a.snapshot();
  snap.states[3].second ^= 0x100;
  const Status s = b.install_state_transfer(snap);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(std::string(s.message()), HasSubstr("digest mismatch"));
  EXPECT_EQ(b.digest(), Digest{});
  EXPECT_TRUE(b.version_vector().entries().empty());
  snap = a.snapshot();
  ASSERT_TRUE(b.restore(snap).ok());
  EXPECT_EQ(b.digest(), a.digest());
  EXPECT_EQ(b.version_vector(), a.version_vector());
}

TEST(StreamTest, DedupStateRoundTripsForTheWal) {
  auto g = testing::rng(8204);
  DeltaStream a = make(1);
  std::vector<StampedDelta> seen;
  for (int i = 0; i < 500; ++i) {
    const StampedDelta d{1 + g() % 3, 1 + g() % 300, static_cast<Addr>(g() % 8),
                         g()};
    if (*a.apply(d) == ApplyOutcome::kApplied) seen.push_back(d);
  }
  const DedupState st = a.dedup_state();
  DeltaStream b = make(2);
  ASSERT_TRUE(b.restore_dedup_state(st).ok());
  EXPECT_EQ(b.dedup_state(), st);
  EXPECT_EQ(b.version_vector(), a.version_vector());
  for (OriginId o = 1; o <= 3; ++o) {
    for (Seq q = 1; q <= 400; ++q) {
      ASSERT_EQ(b.classify(o, q), a.classify(o, q)) << o << " " << q;
    }
  }
  // Invalid states are refused and change nothing.
  DedupState bad;
  bad[7] = OriginDedupState{10, {12, 11}};
  Status s = b.restore_dedup_state(bad);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("origin 7"));
  bad[7] = OriginDedupState{10, {10 + 1025}};
  EXPECT_EQ(b.restore_dedup_state(bad).code(), Code::kInvalidArgument);
  EXPECT_EQ(b.dedup_state(), st);
}

TEST(StreamTest, DigestMatchesVectorFile) {
  std::ifstream in(std::string(ATOMIK_TEST_VECTORS_DIR) + "/stream_digest.txt");
  ASSERT_TRUE(in.good());
  DeltaStream s = make(1);
  std::string line;
  std::string want;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string a, b, c, d;
    ls >> a >> b;
    if (a == "digest") {
      want = b;
      continue;
    }
    ls >> c >> d;
    ASSERT_EQ(std::stoull(a, nullptr, 16), s.options().digest_key);
    ASSERT_TRUE(s.load(static_cast<Addr>(std::stoull(b, nullptr, 16)),
                       std::stoull(c, nullptr, 16))
                    .ok());
  }
  ASSERT_EQ(want.size(), 32U);
  EXPECT_EQ(s.digest().to_hex(), want);
  EXPECT_EQ(s.compute_digest().to_hex(), want);
}

TEST(StreamTest, DigestStaysCurrentAndDetectsDifferences) {
  auto g = testing::rng(8205);
  DeltaStream a = make(1);
  for (int i = 0; i < 5000; ++i) {
    const Addr addr = static_cast<Addr>(g() % 200);
    if (g() % 10 == 0) {
      ASSERT_TRUE(a.load(addr, g() % 3 == 0 ? 0 : g()).ok());
    } else {
      ASSERT_TRUE(a.accum(addr, g()).ok());
    }
  }
  EXPECT_EQ(a.digest(), a.compute_digest());
  DeltaStream b(a);
  EXPECT_EQ(b.digest(), a.digest());
  (void)b.accum(5, 1);
  EXPECT_NE(b.digest(), a.digest());
  (void)b.accum(5, 1);
  EXPECT_EQ(b.digest(), a.digest());
  StreamOptions o;
  o.track_digest = false;
  DeltaStream c = make(3, o);
  (void)c.load(1, 0xCAFE);
  DeltaStream d = make(4);
  (void)d.load(1, 0xCAFE);
  EXPECT_EQ(c.digest(), d.digest());
}

TEST(StreamTest, PendingReturnsAndClearsTheQueue) {
  StreamOptions o;
  o.max_pending = 3;
  DeltaStream s = make(1, o);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.accum(1, 1).ok());
  Result<StampedDelta> r = s.accum(1, 1);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(*s.read(1), 1U);  // refused accum changed nothing
  const std::vector<StampedDelta> p = s.pending();
  ASSERT_EQ(p.size(), 3U);
  EXPECT_EQ(p[2].seq, 3U);
  EXPECT_TRUE(s.pending().empty());
  EXPECT_EQ(s.accum(1, 1)->seq, 4U);
}

TEST(StreamTest, CreateValidatesOptions) {
  StreamOptions o;
  o.window = 100;
  Result<DeltaStream> r = DeltaStream::create(o);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("window 100"));
  o.window = 1024;
  o.retain_per_origin = 512;
  r = DeltaStream::create(o);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("retain_per_origin 512"));
  o.retain_per_origin = 0;
  EXPECT_TRUE(DeltaStream::create(o).ok());
  EXPECT_NE(DeltaStream::create(o)->origin(), 0U);
}

TEST(StreamTest, ApplyMessagesMatchesPerMessageApply) {
  auto g = testing::rng(8206);
  std::vector<DeltaMessage> msgs;
  for (std::uint32_t q = 1; q <= 3000; ++q) {
    msgs.push_back({static_cast<Addr>(g() % 512), g(), q});
  }
  for (int i = 0; i < 1000; ++i) msgs.push_back(msgs[g() % msgs.size()]);
  std::shuffle(msgs.begin(), msgs.end(), g);
  std::vector<std::byte> wire;
  for (const auto& m : msgs) {
    const auto b = m.to_bytes();
    wire.insert(wire.end(), b.begin(), b.end());
  }
  for (std::uint64_t dense : {std::uint64_t{0}, std::uint64_t{512}}) {
    StreamOptions o;
    o.window = 4096;
    o.dense_contexts = dense;
    DeltaStream batch = make(1, o);
    DeltaStream each = make(2, o);
    Result<BatchOutcome> r = batch.apply_messages(9, wire);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    for (const auto& m : msgs) ASSERT_TRUE(each.apply(9, m).ok());
    EXPECT_EQ(r->applied, 3000U);
    EXPECT_EQ(r->duplicates, 1000U);
    EXPECT_EQ(batch.stats().applied, each.stats().applied);
    EXPECT_EQ(batch.stats().duplicates, each.stats().duplicates);
    EXPECT_EQ(states(batch), states(each));
    EXPECT_EQ(batch.digest(), each.digest());
    EXPECT_EQ(batch.digest(), batch.compute_digest());
    EXPECT_EQ(batch.dedup_state(), each.dedup_state());
  }
}

TEST(StreamTest, ApplyMessagesValidatesEverythingFirst) {
  StreamOptions o;
  o.dense_contexts = 16;
  DeltaStream s = make(1, o);
  std::vector<std::byte> wire;
  wire.reserve(48);  // also keeps GCC 12 -O3 from a false -Wstringop-overflow
  for (const DeltaMessage& m :
       {DeltaMessage{1, 1, 1}, DeltaMessage{2, 2, 2}, DeltaMessage{16, 3, 3}}) {
    const auto b = m.to_bytes();
    wire.insert(wire.end(), b.begin(), b.end());
  }
  Result<BatchOutcome> r = s.apply_messages(9, wire);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("message 2 at offset 32"));
  EXPECT_EQ(*s.read(1), 0U);  // nothing applied
  EXPECT_TRUE(s.dedup_state().empty());
  r = s.apply_messages(9, std::span<const std::byte>(wire.data(), 17));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  wire[15] = std::byte{0};  // message 0: seq 0
  r = s.apply_messages(9, std::span<const std::byte>(wire.data(), 32));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("message 0"));
}

TEST(StreamTest, ApplyFrameUsesOriginAndBaseSeq) {
  DeltaStream a = make(1);
  DeltaStream b = make(2);
  std::vector<FrameRecord> recs;
  for (std::uint64_t i = 0; i < 10; ++i) {
    const StampedDelta d = *a.accum(static_cast<Addr>(i % 3), i + 1);
    recs.push_back({d.addr, d.delta});
  }
  const std::vector<std::byte> bytes = *encode_frame({1, 0, 1}, recs);
  Result<FrameView> v = parse_frame(bytes);
  ASSERT_TRUE(v.ok());
  Result<BatchOutcome> r = b.apply_frame(*v);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->applied, 10U);
  EXPECT_EQ(b.apply_frame(*v)->duplicates, 10U);  // retransmitted frame
  EXPECT_EQ(b.digest(), a.digest());
  EXPECT_EQ(b.version_vector().get(1), 10U);
}

TEST(StreamTest, PreciseCatchUpResendsOnlyWhatWasLost) {
  auto g = testing::rng(8207);
  DeltaStream a = make(1);
  DeltaStream b = make(2);
  std::size_t lost = 0;
  std::vector<StampedDelta> arrived;
  for (int i = 0; i < 500; ++i) {
    const StampedDelta d = *a.accum(static_cast<Addr>(g() % 64), g());
    if (g() % 10 == 0) {
      ++lost;
    } else {
      arrived.push_back(d);
    }
  }
  std::shuffle(arrived.begin(), arrived.end(), g);
  for (const auto& d : arrived) ASSERT_TRUE(b.apply(d).ok());
  const CatchUp coarse = a.missing(b.version_vector());
  const CatchUp precise = a.missing(b.dedup_state());
  EXPECT_GE(coarse.deltas.size(), precise.deltas.size());
  EXPECT_EQ(precise.deltas.size(), lost);
  for (const auto& d : precise.deltas) {
    EXPECT_EQ(*b.apply(d), ApplyOutcome::kApplied);
  }
  EXPECT_EQ(a.digest(), b.digest());
}

TEST(StreamTest, NewOriginsBeyondMaxOriginsAreRefused) {
  StreamOptions o;
  o.max_origins = 3;
  DeltaStream s = make(1, o);
  (void)s.accum(0, 1);  // own origin: 1 of 3
  EXPECT_EQ(*s.apply(7, 1, 0, 2), ApplyOutcome::kApplied);
  EXPECT_EQ(*s.apply(8, 1, 0, 4), ApplyOutcome::kApplied);
  const Digest before = s.digest();
  Result<ApplyOutcome> r = s.apply(9, 1, 0, 8);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("max_origins 3"));
  EXPECT_EQ(s.digest(), before);
  EXPECT_EQ(*s.apply(7, 2, 0, 16), ApplyOutcome::kApplied);  // known: fine
  const auto wire = DeltaMessage{0, 1, 1}.to_bytes();
  EXPECT_EQ(s.apply_messages(9, wire).status().code(),
            Code::kResourceExhausted);
  o.max_origins = 0;
  EXPECT_EQ(DeltaStream::create(o).status().code(), Code::kInvalidArgument);
}

StreamSnapshot small_snapshot() {
  DeltaStream a = make(1);
  (void)a.accum(3, 0x1234);
  (void)a.apply(9, 1, 4, 0x55);
  (void)a.apply(9, 3, 5, 0x66);  // above the mark
  return a.snapshot();
}

TEST(StreamTest, SnapshotBytesRoundTripAndTransferState) {
  auto g = testing::rng(8208);
  DeltaStream a = make(1);
  for (int i = 0; i < 3000; ++i) {
    (void)a.accum(static_cast<Addr>(g() % 500), g());
  }
  for (Seq q = 1; q <= 100; q += 2) (void)a.apply(9, q, 7, q);
  const StreamSnapshot snap = a.snapshot();
  const std::vector<std::byte> bytes = encode_snapshot(snap);
  Result<StreamSnapshot> back = decode_snapshot(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->states, snap.states);
  EXPECT_EQ(back->dedup, snap.dedup);
  EXPECT_EQ(back->digest, snap.digest);
  DeltaStream b = make(2);
  ASSERT_TRUE(b.install_state_transfer(*back).ok());
  EXPECT_EQ(b.digest(), a.digest());
  EXPECT_EQ(b.dedup_state(), a.dedup_state());
  EXPECT_EQ(decode_snapshot(bytes, bytes.size() - 1).status().code(),
            Code::kResourceExhausted);
}

TEST(StreamTest, SnapshotBytesEveryFlipAndTruncationIsAnError) {
  const std::vector<std::byte> good = encode_snapshot(small_snapshot());
  ASSERT_TRUE(decode_snapshot(good).ok());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned mask : {0x01U, 0x80U, 0xFFU}) {
      std::vector<std::byte> bad = good;
      bad[i] ^= static_cast<std::byte>(mask);
      Result<StreamSnapshot> r = decode_snapshot(bad);
      ASSERT_FALSE(r.ok()) << "byte " << i;
      EXPECT_THAT(std::string(r.status().message()), HasSubstr("offset "));
    }
  }
  for (std::size_t n = 0; n < good.size(); ++n) {
    Result<StreamSnapshot> r =
        decode_snapshot(std::span<const std::byte>(good.data(), n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
}

TEST(StreamTest, SnapshotBytesMatchVectorFile) {
  const std::vector<std::byte> want = testing::read_hex("stream_snapshot.hex");
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(encode_snapshot(small_snapshot()), want);
  Result<StreamSnapshot> s = decode_snapshot(want);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->digest.to_hex(), "0ff1b9a9558baf3bf4f69f6db1eab5a8");
  DeltaStream b = make(5);
  ASSERT_TRUE(b.restore(*s).ok());
  EXPECT_EQ(*b.read(5), 0x66U);
  EXPECT_EQ(b.classify(9, 3), ApplyOutcome::kDuplicate);
  EXPECT_EQ(b.classify(9, 2), ApplyOutcome::kApplied);
}

}  // namespace
}  // namespace atomik
