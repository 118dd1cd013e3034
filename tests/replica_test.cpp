// SPDX-License-Identifier: Apache-2.0
// Replica: own and remote deltas, the retained log (also after a restart,
// rebuilt from the one WAL replay), the origin limit (refused before
// anything is written; what was accepted stays accepted after a restart),
// state transfers (own deltas re-applied, a bad digest rejected) and a failed
// table refusing reads. Known answers come from a reference model (a map)
// and from DeltaStream's digest of the same states.
#include "atomik/replica.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "storage_test_util.hpp"
#include "test_seed.hpp"

namespace atomik {
namespace {

using testing::FaultyFileSystem;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Op;
using testing::TempDir;

ReplicaOptions fast(std::uint64_t max_origins = kDefaultMaxOrigins) {
  ReplicaOptions o;
  o.storage.sync = SyncPolicy::kNone;
  o.retain_per_origin = 1024;
  o.max_origins = max_origins;
  return o;
}

std::unique_ptr<Replica> open(const std::string& dir, const ReplicaOptions& o) {
  auto r = Replica::open(dir, o);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

// The digest DeltaStream computes for the same states (the reference).
Digest reference_digest(const std::map<Addr, std::uint64_t>& m) {
  auto s = DeltaStream::create({.origin = 1}).value();
  for (const auto& [a, v] : m) EXPECT_TRUE(s.accum(a, v).ok());
  return s.compute_digest();
}

TEST(ReplicaTest, OwnAndRemoteDeltasAreReadRetainedAndDigested) {
  TempDir d;
  auto r = open(d.sub("t"), fast());
  const std::vector<FrameRecord> own = {{1, 0xF0}, {2, 0x0F}, {1, 0x01}};
  ASSERT_EQ(r->accum_batch(own).value(), 1u);
  const std::vector<FrameRecord> remote = {{2, 0x10}, {9, 0x99}};
  auto a = r->apply_run(0x77, 1, remote).value();
  EXPECT_EQ(a.applied, 2u);
  // Resent with one more: only the new one is applied.
  const std::vector<FrameRecord> again = {{2, 0x10}, {9, 0x99}, {9, 0x01}};
  a = r->apply_run(0x77, 1, again).value();
  EXPECT_EQ(a.applied, 1u);
  EXPECT_EQ(a.duplicate, 2u);
  EXPECT_EQ(r->read(1).value(), 0xF1u);
  EXPECT_EQ(r->read(2).value(), 0x1Fu);
  EXPECT_EQ(r->read(9).value(), 0x98u);
  EXPECT_EQ(r->mark(0x77), 3u);
  EXPECT_EQ(r->mark(r->origin()), 3u);
  EXPECT_EQ(r->digest(), reference_digest({{1, 0xF1}, {2, 0x1F}, {9, 0x98}}));
  const CatchUp c = r->missing(VersionVector(), 2);  // own durable up to 2
  EXPECT_FALSE(c.needs_state_transfer);
  ASSERT_EQ(c.deltas.size(), 5u);  // own 1..2, remote 1..3
  const ReplicaStats st = r->stats();
  EXPECT_EQ(st.local, 3u);
  EXPECT_EQ(st.applied, 3u);
  EXPECT_EQ(st.duplicates, 2u);
  EXPECT_EQ(st.origins, 2u);
  EXPECT_EQ(r->own_since(1).value(),
            (std::vector<FrameRecord>{{2, 0x0F}, {1, 0x01}}));
}

TEST(ReplicaTest, AGapIsRefusedAndCounted) {
  TempDir d;
  auto r = open(d.sub("t"), fast());
  const std::vector<FrameRecord> one = {{5, 5}};
  auto a = r->apply_run(0x77, 2, one).value();
  EXPECT_TRUE(a.gap);
  EXPECT_EQ(r->mark(0x77), 0u);
  EXPECT_EQ(r->stats().gaps, 1u);
  EXPECT_TRUE(r->apply_run(0x77, 0, one).status().is_invalid_argument());
}

TEST(ReplicaTest, RestartRebuildsTheRetainedLogFromTheWal) {
  TempDir d;
  const std::uint64_t seed = testing::test_seed();
  std::mt19937_64 rng(seed);
  std::map<Addr, std::uint64_t> model;
  std::vector<StampedDelta> sent;
  OriginId self = 0;
  {
    auto r = open(d.sub("t"), fast());
    self = r->origin();
    for (int k = 0; k < 20; ++k) {
      std::vector<FrameRecord> batch(1 + rng() % 30);
      for (auto& f : batch) {
        f = {static_cast<Addr>(rng() % 100), rng() | 1};
        model[f.addr] ^= f.delta;
      }
      if (k % 2 == 0) {
        ASSERT_TRUE(r->accum_batch(batch).ok());
      } else {
        const Seq base = r->mark(0x42) + 1;
        ASSERT_EQ(r->apply_run(0x42, base, batch).value().applied,
                  batch.size());
      }
    }
    ASSERT_TRUE(r->close().ok());
  }
  auto r = open(d.sub("t"), fast());
  ASSERT_EQ(r->origin(), self);
  for (const auto& [a, v] : model) EXPECT_EQ(r->read(a).value(), v) << seed;
  const CatchUp c = r->missing(VersionVector(), r->mark(self));
  EXPECT_FALSE(c.needs_state_transfer) << c.reason;
  EXPECT_EQ(c.deltas.size(), r->mark(self) + r->mark(0x42));
  std::map<Addr, std::uint64_t> replay;
  for (const StampedDelta& s : c.deltas) replay[s.addr] ^= s.delta;
  for (const auto& [a, v] : model) EXPECT_EQ(replay[a], v) << seed;
}

TEST(ReplicaTest, TheRetainedLogKeepsTheNewestDeltas) {
  TempDir d;
  auto r = open(d.sub("t"), fast());
  std::vector<FrameRecord> batch(1500, FrameRecord{3, 1});
  ASSERT_TRUE(r->accum_batch(batch).ok());
  VersionVector vv;
  vv.set(r->origin(), 500);  // seqs 501..1500: retained (1024 kept)
  CatchUp c = r->missing(vv, 1500);
  EXPECT_FALSE(c.needs_state_transfer);
  EXPECT_EQ(c.deltas.size(), 1000u);
  vv.set(r->origin(), 10);
  c = r->missing(vv, 1500);
  EXPECT_TRUE(c.needs_state_transfer);
  EXPECT_THAT(c.reason, HasSubstr("no longer retained"));
  EXPECT_EQ(r->own_since(10).status().code(), Code::kOutOfRange);
}

// The deltas of `log` (seq i + 1 at index i) a peer lacking all of `origin`
// beyond `from` gets from `missing`, as StampedDeltas.
std::vector<StampedDelta> stamped(OriginId origin,
                                  const std::vector<FrameRecord>& log,
                                  std::size_t from) {
  std::vector<StampedDelta> out;
  for (std::size_t i = from; i < log.size(); ++i) {
    out.push_back({origin, i + 1, log[i].addr, log[i].delta});
  }
  return out;
}

// Batches of random sizes around the ring's capacity (1024), own and
// remote (resends overlapping what was applied): the retained log holds
// exactly the newest 1024 deltas of each origin, as a reference model
// (every delta logged) says, before and after a restart.
TEST(ReplicaTest, TheRetainedLogMatchesAModelOverBatchesOfAnySize) {
  auto g = atomik::testing::rng(41);
  constexpr OriginId kRemote = 0x77;
  constexpr std::size_t kCap = 1024;
  TempDir d;
  std::vector<FrameRecord> own_log;
  std::vector<FrameRecord> remote_log;
  OriginId self = 0;
  auto check = [&](const Replica& r, const std::string& when) {
    SCOPED_TRACE(when);
    const std::size_t own_from =
        own_log.size() - std::min(own_log.size(), kCap);
    const std::size_t rem_from =
        remote_log.size() - std::min(remote_log.size(), kCap);
    VersionVector vv;
    vv.set(self, own_from);
    vv.set(kRemote, rem_from);
    const CatchUp c = r.missing(vv, own_log.size());
    EXPECT_FALSE(c.needs_state_transfer) << c.reason;
    std::vector<StampedDelta> want = stamped(self, own_log, own_from);
    std::vector<StampedDelta> rem = stamped(kRemote, remote_log, rem_from);
    want.insert(want.end(), rem.begin(), rem.end());
    std::vector<StampedDelta> got = c.deltas;
    auto by_origin_seq = [](const StampedDelta& a, const StampedDelta& b) {
      return std::tie(a.origin, a.seq) < std::tie(b.origin, b.seq);
    };
    std::sort(want.begin(), want.end(), by_origin_seq);
    std::sort(got.begin(), got.end(), by_origin_seq);
    EXPECT_TRUE(got == want)
        << got.size() << " retained, model " << want.size();
    if (own_from > 0) {
      vv.set(self, own_from - 1);  // one more than is retained
      EXPECT_TRUE(r.missing(vv, own_log.size()).needs_state_transfer);
    }
  };
  {
    auto r = open(d.sub("t"), fast());
    ASSERT_NE(r, nullptr);
    self = r->origin();
    for (int round = 0; round < 40; ++round) {
      std::vector<FrameRecord> b(1 + g() % 3000);
      for (FrameRecord& x : b) x = {static_cast<Addr>(g() % 4096), g() | 1};
      if (g() % 2 == 0) {
        ASSERT_EQ(r->accum_batch(b).value(), own_log.size() + 1);
        own_log.insert(own_log.end(), b.begin(), b.end());
      } else {
        const std::size_t back =
            std::min<std::size_t>(remote_log.size(), g() % 100);
        std::vector<FrameRecord> run(
            remote_log.end() - static_cast<std::ptrdiff_t>(back),
            remote_log.end());
        run.insert(run.end(), b.begin(), b.end());
        auto a = r->apply_run(kRemote, remote_log.size() - back + 1, run);
        ASSERT_TRUE(a.ok()) << a.status().to_string();
        EXPECT_EQ(a->applied, b.size());
        EXPECT_EQ(a->duplicate, back);
        remote_log.insert(remote_log.end(), b.begin(), b.end());
      }
      check(*r, "round " + std::to_string(round));
    }
  }
  auto r = open(d.sub("t"), fast());
  ASSERT_NE(r, nullptr);
  check(*r, "after a restart");
}

TEST(ReplicaTest, OriginsAboveTheLimitAreRefusedBeforeAnythingIsWritten) {
  TempDir d;
  const std::vector<FrameRecord> one = {{7, 1}};
  {
    auto r = open(d.sub("t"), fast(3));  // own + two remote origins
    ASSERT_TRUE(r->apply_run(0xA, 1, one).ok());
    ASSERT_TRUE(r->apply_run(0xB, 1, one).ok());
    auto refused = r->apply_run(0xC, 1, one);
    ASSERT_EQ(refused.status().code(), Code::kResourceExhausted);
    EXPECT_THAT(std::string(refused.status().message()),
                HasSubstr("max_origins 3"));
    EXPECT_EQ(r->mark(0xC), 0u);
    EXPECT_EQ(r->read(7).value(), 0u);  // 1 ^ 1: 0xC's delta not applied
    EXPECT_EQ(r->stats().origins_refused, 1u);
    // Known origins still take new deltas.
    const std::vector<FrameRecord> two = {{8, 2}};
    ASSERT_EQ(r->apply_run(0xA, 2, two).value().applied, 1u);
    ASSERT_TRUE(r->close().ok());
  }
  // Reopened with a lower limit: what was accepted is kept and accepted.
  auto r = open(d.sub("t"), fast(1));
  EXPECT_EQ(r->mark(0xA), 2u);
  EXPECT_EQ(r->mark(0xB), 1u);
  EXPECT_EQ(r->mark(0xC), 0u);
  const std::vector<FrameRecord> three = {{8, 3}};
  EXPECT_EQ(r->apply_run(0xB, 2, three).value().applied, 1u);
  EXPECT_EQ(r->apply_run(0xD, 1, three).status().code(),
            Code::kResourceExhausted);
}

TEST(ReplicaTest, TheDefaultLimitTakesManyOrigins) {
  EXPECT_GE(kDefaultMaxOrigins, 65536u);
  TempDir d;
  auto r = open(d.sub("t"), fast());
  const std::vector<FrameRecord> one = {{1, 1}};
  for (OriginId o = 1; o <= 3000; ++o) {
    ASSERT_TRUE(r->apply_run(o << 8, 1, one).ok()) << o;
  }
  EXPECT_EQ(r->stats().origins, 3001u);  // own origin included
  // The vector lists origins with a mark: no own delta yet.
  EXPECT_EQ(r->version_vector().entries().size(), 3000u);
  ASSERT_TRUE(r->close().ok());
  auto again = open(d.sub("t"), fast());
  EXPECT_EQ(again->version_vector().entries().size(), 3000u);
  EXPECT_EQ(again->stats().origins, 3001u);
}

TEST(ReplicaTest, InstallKeepsOwnDeltasAndRejectsABadDigest) {
  TempDir d;
  auto r = open(d.sub("t"), fast());
  const std::vector<FrameRecord> own = {{1, 0x100}};
  ASSERT_TRUE(r->accum_batch(own).ok());
  const std::vector<std::pair<Addr, std::uint64_t>> states = {{1, 0x3},
                                                              {4, 0x4}};
  const std::vector<std::pair<OriginId, Seq>> marks = {{0x99, 7}};
  const Digest good = reference_digest({{1, 0x3}, {4, 0x4}});
  Digest bad = good;
  bad.lo ^= 1;
  EXPECT_EQ(r->install(states, marks, bad).status().code(), Code::kCorruption);
  EXPECT_EQ(r->mark(0x99), 0u);
  ASSERT_TRUE(r->install(states, marks, good).value());
  EXPECT_EQ(r->read(1).value(), 0x103u);  // its 0x3 and our own 0x100
  EXPECT_EQ(r->read(4).value(), 0x4u);
  EXPECT_EQ(r->mark(0x99), 7u);
  EXPECT_EQ(r->mark(r->origin()), 1u);
  EXPECT_EQ(r->digest(), reference_digest({{1, 0x103}, {4, 0x4}}));
  EXPECT_FALSE(r->install(states, marks, good).value());  // nothing new
  EXPECT_EQ(r->stats().installs, 1u);
}

TEST(ReplicaTest, ANewIncarnationNeverReusesAnOriginSeq) {
  TempDir d;
  OriginId old = 0, fresh = 0;
  {
    auto r = open(d.sub("t"), fast());
    old = r->origin();
    const std::vector<FrameRecord> own = {{1, 0x1}, {2, 0x2}};
    ASSERT_EQ(r->accum_batch(own).value(), 1u);
    fresh = r->reincarnate().value();
    EXPECT_NE(fresh, old);
    EXPECT_EQ(r->origin(), fresh);
    EXPECT_EQ(r->stats().incarnations, 1u);
    const std::vector<FrameRecord> next = {{1, 0x10}};
    ASSERT_EQ(r->accum_batch(next).value(), 1u);  // (fresh, 1)
    // The old origin is an origin like any other now: its seq 3, which a
    // peer may hold, is applied as a remote delta.
    const std::vector<FrameRecord> three = {{3, 0x3}};
    EXPECT_EQ(r->apply_run(old, 3, three).value().applied, 1u);
    ASSERT_TRUE(r->close().ok());
  }
  auto r = open(d.sub("t"), fast());  // durable across a restart
  EXPECT_EQ(r->origin(), fresh);
  EXPECT_EQ(r->mark(old), 3u);
  EXPECT_EQ(r->mark(fresh), 1u);
  EXPECT_EQ(r->read(1).value(), 0x11u);
  const std::vector<FrameRecord> more = {{5, 0x5}};
  EXPECT_EQ(r->accum_batch(more).value(), 2u);
}

TEST(ReplicaTest, TwoContentsForOneOriginSeqAreCountedAndRepairable) {
  TempDir d;
  auto a = open(d.sub("a"), fast());
  auto b = open(d.sub("b"), fast());
  const std::vector<FrameRecord> one = {{4, 0x1}};
  const std::vector<FrameRecord> other = {{4, 0x2}};
  ASSERT_EQ(a->apply_run(0x77, 1, one).value().applied, 1u);
  ASSERT_EQ(b->apply_run(0x77, 1, other).value().applied, 1u);
  // b sees a's contents for (0x77, 1): a duplicate, with other contents.
  auto again = b->apply_run(0x77, 1, one).value();
  EXPECT_EQ(again.duplicate, 1u);
  EXPECT_EQ(again.conflicts, 1u);
  EXPECT_EQ(b->stats().conflicts, 1u);
  EXPECT_EQ(b->read(4).value(), 0x2u);  // a duplicate changes nothing
  // Equal marks: a plain install has nothing new; a repair replaces.
  const ReplicaState sa = a->state().value();
  std::vector<std::pair<OriginId, Seq>> marks(
      sa.version_vector.entries().begin(), sa.version_vector.entries().end());
  EXPECT_FALSE(b->install(sa.states, marks, sa.digest).value());
  EXPECT_EQ(b->read(4).value(), 0x2u);
  EXPECT_TRUE(b->install(sa.states, marks, sa.digest, /*repair=*/true).value());
  EXPECT_EQ(b->read(4).value(), 0x1u);
  EXPECT_EQ(b->digest(), a->digest());
  EXPECT_EQ(b->version_vector(), a->version_vector());
}

TEST(ReplicaTest, StartUpLogsEveryWalRepair) {
  TempDir d;
  {
    auto r = open(d.sub("t"), fast());
    const std::vector<FrameRecord> one = {{7, 1}};
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(r->accum_batch(one, true).ok());
    ASSERT_TRUE(r->close().ok());
  }
  // Cut the last record in half: a torn tail.
  const std::string seg = d.sub("t") + "/" + wal_segment_name(1);
  ASSERT_FALSE(seg.empty());
  const auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 10);
  std::vector<std::string> lines;
  ReplicaOptions o = fast();
  o.log = [&](const std::string& l) { lines.push_back(l); };
  auto r = open(d.sub("t"), o);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("WAL repaired at start-up"));
  EXPECT_THAT(lines[0], HasSubstr("torn tail: " + seg + " offset"));
  EXPECT_THAT(lines[0], HasSubstr("bytes"));
  EXPECT_THAT(lines[1], HasSubstr("torn tail: " + seg));
}

TEST(ReplicaTest, StartUpLogsACutOfSyncedDataAsLossNotATornTail) {
  TempDir d;
  ReplicaOptions o = fast();
  o.storage.sync = SyncPolicy::kEveryRecord;  // each accum acknowledged
  {
    auto r = open(d.sub("t"), o);
    for (std::uint64_t i = 1; i <= 3; ++i) {
      const std::vector<FrameRecord> one = {{7, i}};
      ASSERT_TRUE(r->accum_batch(one, true).ok());
    }
    ASSERT_TRUE(r->close().ok());
  }
  // The last segment holds the three acknowledged deltas; cut the last one
  // and the seal at the frame boundary: a tidy-looking "torn tail".
  auto segs = list_wal_segments(d.sub("t")).value();
  ASSERT_FALSE(segs.empty());
  const std::string seg = d.sub("t") + "/" + wal_segment_name(segs.back());
  const auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 17 - 37);
  // Strict (the default) refuses to open, naming the loss.
  auto refused = Replica::open(d.sub("t"), o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kCorruption);
  EXPECT_THAT(refused.status().to_string(), HasSubstr("lost synced data"));
  // Skip salvages what is left and logs the loss, not a torn tail.
  std::vector<std::string> lines;
  o.storage.recovery = RecoveryMode::kSkip;
  o.log = [&](const std::string& l) { lines.push_back(l); };
  auto r = open(d.sub("t"), o);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->read(7).value(), 1u ^ 2u);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("lost synced data: " + seg));
  bool loss_line = false;
  for (const std::string& l : lines) {
    EXPECT_THAT(l, Not(HasSubstr("torn tail")));
    loss_line = loss_line ||
                l.find("corruption: lost synced data") != std::string::npos;
  }
  EXPECT_TRUE(loss_line);
  ASSERT_TRUE(r->close().ok());
  // Reported once: the repaired log opens cleanly in strict mode.
  o.storage.recovery = RecoveryMode::kStrict;
  auto again = open(d.sub("t"), o);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->read(7).value(), 1u ^ 2u);
}

TEST(ReplicaTest, AFailedTableRefusesReadsAndWritesNamingTheCause) {
  TempDir d;
  FaultyFileSystem fs;
  fs.set_no_sync(true);
  ReplicaOptions o = fast();
  o.storage.sync = SyncPolicy::kEveryRecord;
  o.storage.fs = &fs;
  std::vector<std::string> lines;
  o.log = [&](const std::string& l) { lines.push_back(l); };
  auto r = open(d.sub("t"), o);
  const std::vector<FrameRecord> one = {{7, 0xAB}};
  ASSERT_TRUE(r->accum_batch(one, /*wait=*/true).ok());
  fs.arm(Op::kSync, 1, /*sticky=*/true);
  const std::vector<FrameRecord> two = {{7, 0x01}};
  Status s = r->accum_batch(two, /*wait=*/true).status();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.to_string(), HasSubstr("injected"));
  // The refused delta is never visible: reads fail, naming the cause.
  auto v = r->read(7);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().to_string(), HasSubstr("injected"));
  EXPECT_FALSE(r->accum_batch(one).ok());
  EXPECT_FALSE(r->state().ok());
  ASSERT_EQ(lines.size(), 1u);  // logged once, naming the cause
  EXPECT_THAT(lines[0], HasSubstr("failed: "));
  EXPECT_THAT(lines[0], HasSubstr("injected"));
  fs.disarm();
  EXPECT_FALSE(r->close().ok());  // still the log's error
  r.reset();
  // Reopened: the acknowledged state, without the refused delta's effect
  // unless the log held it (then it is applied exactly once).
  auto again = open(d.sub("t"), fast());
  const std::uint64_t got = again->read(7).value();
  EXPECT_TRUE(got == 0xAB || got == 0xAA) << got;
}

}  // namespace
}  // namespace atomik
