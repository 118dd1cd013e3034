// SPDX-License-Identifier: Apache-2.0
// DeltaStream::restore and install_state_transfer cost O(table) as
// stream.hpp promises: they must not copy the retained logs (up to
// max_origins * retain_per_origin * 24 bytes, about 400 MB at the defaults).
// Measured as heap bytes allocated during the call (alloc_counter.hpp),
// against the size of the logs the stream holds; both calls must still
// leave the stream equal to what a copy-based restore gives.
#include <gtest/gtest.h>

#include <cstdint>

#include "alloc_counter.hpp"
#include "atomik/stream.hpp"

namespace atomik {
namespace {

constexpr std::uint64_t kOrigins = 64;
constexpr std::uint64_t kRetain = 4096;
constexpr std::uint64_t kLogBytes = kOrigins * kRetain * 24;

StreamOptions options(OriginId origin) {
  StreamOptions o;
  o.origin = origin;
  o.retain_per_origin = kRetain;
  return o;
}

// A stream holding one delta from each of kOrigins remote origins.
DeltaStream with_remote_origins(OriginId own) {
  DeltaStream s = DeltaStream::create(options(own)).value();
  for (OriginId o = 1; o <= kOrigins; ++o) {
    EXPECT_EQ(s.apply(o, 1, static_cast<Addr>(o), o * 3).value(),
              ApplyOutcome::kApplied);
  }
  return s;
}

// Runs `call` (which must succeed) and checks it allocated less than a
// quarter of the retained logs' size: a copy of the logs would need all.
template <typename F>
void expect_no_log_copy(const char* what, F call) {
  const std::uint64_t before = testing::alloc_bytes();
  const Status st = call();
  const std::uint64_t used = testing::alloc_bytes() - before;
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_LT(used, kLogBytes / 4)
      << what << " allocated " << used << " bytes; the logs hold " << kLogBytes;
}

TEST(StreamRestoreAllocTest, RestoreDoesNotCopyTheRetainedLogs) {
  if (!testing::kAllocCounterActive) GTEST_SKIP() << "sanitized build";
  DeltaStream s = with_remote_origins(1000);
  const StreamSnapshot snap = s.snapshot();
  expect_no_log_copy("restore", [&] { return s.restore(snap); });
  EXPECT_EQ(s.digest(), snap.digest);
  EXPECT_EQ(s.dedup_state(), snap.dedup);
  // The retained logs survived: a peer that saw nothing is sent them all.
  EXPECT_EQ(s.missing(VersionVector()).deltas.size(), kOrigins);
}

TEST(StreamRestoreAllocTest, InstallStateTransferDoesNotCopyTheRetainedLogs) {
  if (!testing::kAllocCounterActive) GTEST_SKIP() << "sanitized build";
  DeltaStream a = with_remote_origins(1000);
  for (Addr i = 0; i < 10; ++i) ASSERT_TRUE(a.accum(500 + i, i + 1).ok());
  DeltaStream b = with_remote_origins(2000);
  const StreamSnapshot snap = b.snapshot();
  expect_no_log_copy("install_state_transfer",
                     [&] { return a.install_state_transfer(snap); });
  // b's state plus a's own ten deltas, re-applied.
  ASSERT_TRUE(b.apply(1000, 1, 500, 1).ok());
  for (Addr i = 1; i < 10; ++i)
    ASSERT_TRUE(b.apply(1000, i + 1, 500 + i, i + 1).ok());
  EXPECT_EQ(a.digest(), b.digest());
  EXPECT_EQ(a.version_vector(), b.version_vector());
}

// A failed install changes nothing, logs included (the strong guarantee
// the copy used to give): the snapshot fills max_origins, so re-applying
// this replica's own deltas needs one origin too many and is refused.
TEST(StreamRestoreAllocTest, FailedInstallLeavesTheStreamAsItWas) {
  StreamOptions o = options(1000);
  o.max_origins = 4;
  DeltaStream a = DeltaStream::create(o).value();
  for (Addr i = 0; i < 100; ++i) ASSERT_TRUE(a.accum(i, i + 1).ok());
  for (OriginId r = 1; r <= 3; ++r)
    ASSERT_TRUE(a.apply(r, 1, static_cast<Addr>(r), r).ok());
  StreamOptions ob = o;
  ob.origin = 2000;
  DeltaStream b = DeltaStream::create(ob).value();
  for (OriginId r = 1; r <= 4; ++r)
    ASSERT_TRUE(b.apply(r, 1, static_cast<Addr>(r), r).ok());
  const Digest digest = a.digest();
  const DedupState dedup = a.dedup_state();
  const std::size_t retained = a.missing(VersionVector()).deltas.size();
  const Status st = a.install_state_transfer(b.snapshot());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kResourceExhausted) << st.to_string();
  EXPECT_EQ(a.digest(), digest);
  EXPECT_EQ(a.dedup_state(), dedup);
  EXPECT_EQ(a.missing(VersionVector()).deltas.size(), retained);
}

}  // namespace
}  // namespace atomik
