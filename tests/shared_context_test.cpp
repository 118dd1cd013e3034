// SPDX-License-Identifier: Apache-2.0
// SharedContext: fan-in from forked processes, epochs across processes, a
// writer killed mid-run, consistent cuts across processes, the create/open
// race, fork without exec, cell ownership, and every way open() can be
// refused. Run under TSan by .ci/run (label concurrency).
#include "atomik/shared_context.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_seed.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;

class SharedContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = "/atomik-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    (void)SharedContext<>::unlink(name_);
  }
  void TearDown() override { (void)SharedContext<>::unlink(name_); }
  std::string name_;
};

// Forks a child that runs `body` and exits 0 (or 1 if body returns false).
template <typename F>
pid_t fork_child(F body) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body() ? 0 : 1);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(SharedContextTest, ForkedWritersLoseNothing) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 1000);
  ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
  constexpr int kChildren = 4;
  constexpr std::uint64_t kEach = 100000;
  std::vector<pid_t> kids;
  for (int k = 0; k < kChildren; ++k) {
    kids.push_back(fork_child([&] {
      auto c = SharedContext<std::uint64_t, AddGroup>::open(name_);
      if (!c.ok() || !c->has_own_cell()) return false;
      for (std::uint64_t i = 0; i < kEach; ++i) c->accum(1);
      return true;
    }));
  }
  for (pid_t p : kids) EXPECT_EQ(wait_exit(p), 0);
  auto v = ctx->read();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1000 + kChildren * kEach);
  EXPECT_EQ(*ctx->delta_count(), kChildren * kEach);
}

TEST_F(SharedContextTest, EpochsAcrossProcessesHoldEachDeltaOnce) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 0);
  ASSERT_TRUE(ctx.ok());
  constexpr std::uint64_t kEach = 200000;
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    kids.push_back(fork_child([&] {
      auto c = SharedContext<std::uint64_t, AddGroup>::open(name_);
      if (!c.ok()) return false;
      for (std::uint64_t i = 0; i < kEach; ++i) c->accum(1);
      return true;
    }));
  }
  std::uint64_t total = 0;
  int running = 2;
  while (running > 0) {
    auto e = ctx->swap(0);
    ASSERT_TRUE(e.ok());
    total += *e;
    int status = 0;
    while (::waitpid(-1, &status, WNOHANG) > 0) {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      --running;
    }
  }
  total += *ctx->swap(0);
  EXPECT_EQ(total, 2 * kEach);
}

TEST_F(SharedContextTest, KilledWriterLosesAtMostItsUnfinishedDelta) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 0,
                                                            {.max_writers = 2});
  ASSERT_TRUE(ctx.ok());
  // The child reports its progress through a separate shared page.
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* progress = new (page) std::atomic<std::uint64_t>(0);
  auto g = testing::rng(7);
  const std::uint64_t kill_after = 1000 + g() % 200000;
  const pid_t child = fork_child([&] {
    auto c = SharedContext<std::uint64_t, AddGroup>::open(name_);
    if (!c.ok()) return false;
    for (std::uint64_t i = 1;; ++i) {
      c->accum(1);
      progress->store(i, std::memory_order_release);
    }
  });
  while (progress->load(std::memory_order_acquire) < kill_after) {
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const std::uint64_t done = progress->load();
  const std::uint64_t value = *ctx->read();
  EXPECT_GE(value, done);      // nothing completed was lost
  EXPECT_LE(value, done + 1);  // at most the delta in flight
  // A new writer adopts the dead process's cell (both cells are now taken:
  // ours and the dead child's) and continues from it.
  auto other = SharedContext<std::uint64_t, AddGroup>::open(name_);
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_own_cell());
  other->accum(5);
  EXPECT_EQ(*ctx->read(), value + 5);
  ::munmap(page, 4096);
}

TEST_F(SharedContextTest, SameProcessHandlesAndRollback) {
  auto a = SharedContext<>::create(name_, 0xCAFE);
  ASSERT_TRUE(a.ok());
  auto b = SharedContext<>::open(name_);
  ASSERT_TRUE(b.ok());
  a->accum(0x00FF);
  EXPECT_EQ(*b->read(), 0xCA01U);
  b->rollback(0x00FF);
  EXPECT_EQ(*a->read(), 0xCAFEU);
  EXPECT_EQ(*a->swap(0x1), 0xCAFEU);
  EXPECT_EQ(*b->reference(), 0x1U);
  ASSERT_TRUE(b->load(0x42).ok());
  EXPECT_EQ(*a->read(), 0x42U);
  EXPECT_EQ(*a->delta_count(), 0U);
}

TEST_F(SharedContextTest, HandlesBeyondMaxWritersShareTheFallbackCell) {
  auto a = SharedContext<std::uint32_t, AddGroup>::create(name_, 0,
                                                          {.max_writers = 1});
  ASSERT_TRUE(a.ok());
  auto b = SharedContext<std::uint32_t, AddGroup>::open(name_);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(a->has_own_cell());
  EXPECT_FALSE(b->has_own_cell());
  a->accum(3);
  b->accum(4);
  EXPECT_EQ(*a->read(), 7U);
  EXPECT_EQ(*b->delta_count(), 2U);
}

TEST_F(SharedContextTest, NarrowWordsWrapAtTheirWidth) {
  auto a = SharedContext<std::uint8_t, AddGroup>::create(name_, 250);
  ASSERT_TRUE(a.ok());
  a->accum(10);
  EXPECT_EQ(*a->read(), 4U);
  EXPECT_EQ(*a->swap(), 4U);
  a->accum(255);
  EXPECT_EQ(*a->read(), 3U);
}

TEST_F(SharedContextTest, CreatingAnExistingNameIsRefused) {
  auto a = SharedContext<>::create(name_, 1);
  ASSERT_TRUE(a.ok());
  auto b = SharedContext<>::create(name_, 2);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(b.status().message(), HasSubstr("already exists"));
  EXPECT_EQ(*a->read(), 1U);  // the existing segment is untouched
}

TEST_F(SharedContextTest, OpeningAMissingNameIsNotFound) {
  auto a = SharedContext<>::open(name_);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Code::kNotFound);
  EXPECT_THAT(a.status().message(), HasSubstr(name_));
}

TEST_F(SharedContextTest, WidthOrGroupMismatchIsNamed) {
  auto a = SharedContext<std::uint32_t, AddGroup>::create(name_, 1);
  ASSERT_TRUE(a.ok());
  auto b = SharedContext<std::uint64_t, XorGroup>::open(name_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(b.status().message(),
              HasSubstr("holds 32-bit add words, expected 64-bit xor"));
  auto c = SharedContext<std::uint32_t, XorGroup>::open(name_);
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
}

TEST_F(SharedContextTest, TooSmallOrForeignSegmentIsCorruption) {
  const int fd = ::shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "not atomik", 10), 10);
  auto a = SharedContext<>::open(name_);
  EXPECT_EQ(a.status().code(), Code::kCorruption);
  EXPECT_THAT(a.status().message(), HasSubstr("too small: 10 bytes"));
  ASSERT_EQ(::ftruncate(fd, 65536), 0);
  ASSERT_EQ(::pwrite(fd, "garbage!", 8, 0), 8);
  auto b = SharedContext<>::open(name_);
  EXPECT_EQ(b.status().code(), Code::kCorruption);
  EXPECT_THAT(b.status().message(), HasSubstr("bad magic"));
  ::close(fd);
}

TEST_F(SharedContextTest, TruncatedSegmentIsCorruption) {
  {
    auto a = SharedContext<>::create(name_, 1, {.max_writers = 8});
    ASSERT_TRUE(a.ok());
  }
  const int fd = ::shm_open(name_.c_str(), O_RDWR, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 600), 0);  // header survives, cells do not
  ::close(fd);
  auto b = SharedContext<>::open(name_);
  EXPECT_EQ(b.status().code(), Code::kCorruption);
  EXPECT_THAT(b.status().message(), HasSubstr("too small: 600 bytes"));
}

TEST_F(SharedContextTest, BadNamesAndLimitsAreInvalidArguments) {
  EXPECT_EQ(SharedContext<>::create("no-slash").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(SharedContext<>::create("/a/b").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(SharedContext<>::open("/").status().code(), Code::kInvalidArgument);
  auto z = SharedContext<>::create(name_, 0, {.max_writers = 0});
  EXPECT_EQ(z.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(z.status().message(), HasSubstr("max_writers 0"));
}

// Offsets from docs/format/shared_segment.md, used to damage or inspect a
// segment as another process (or a crash) would.
constexpr std::size_t kHeaderSizeOffset = 20;
constexpr std::size_t kEpochOffset = 192;
constexpr std::size_t kCellOwnerOffset = 16;

// Maps the whole segment `name` for raw inspection; nullptr on failure.
unsigned char* map_raw(const std::string& name, std::size_t* size) {
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) return nullptr;
  struct stat st {};
  ::fstat(fd, &st);
  *size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<unsigned char*>(p);
}

// An opener racing the creator must never see a half-initialised segment:
// the creator would later reset state the opener already wrote (here the
// baselines its swap() committed), and the opener's one delta would be read
// back as two, or lost. 4096 cells make the
// creator's initialisation long enough to race.
TEST_F(SharedContextTest, OpenRacingCreateNeverSeesAHalfInitialisedSegment) {
#if defined(ATOMIK_SANITIZED)
  constexpr int kRounds = 20;
#else
  constexpr int kRounds = 200;
#endif
  using Ctx = SharedContext<std::uint64_t, AddGroup>;
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* spinning = new (page) std::atomic<int>(0);
  int bad = 0;
  for (int round = 0; round < kRounds; ++round) {
    (void)Ctx::unlink(name_);
    spinning->store(0);
    const pid_t child = fork_child([&] {
      for (;;) {
        spinning->store(1);
        auto c = Ctx::open(name_);
        if (c.ok()) {
          c->accum(1);
          auto v = c->swap();  // commits baselines the creator must not reset
          return v.ok() && *v == 1;
        }
        const Code code = c.status().code();
        if (code != Code::kNotFound && code != Code::kUnavailable) {
          std::fprintf(stderr, "open: %s\n", c.status().to_string().c_str());
          return false;
        }
      }
    });
    while (spinning->load() == 0) ::sched_yield();  // the child is opening
    auto ctx = Ctx::create(name_, 0, {.max_writers = 4096});
    ASSERT_TRUE(ctx.ok()) << ctx.status().to_string();
    ASSERT_EQ(wait_exit(child), 0);
    // The child's swap made the state (1) the reference: no deltas left.
    if (*ctx->read() != 1U || *ctx->delta_count() != 0U) ++bad;
  }
  ::munmap(page, 4096);
  EXPECT_EQ(bad, 0) << "rounds where one delta was not read back as 1";
}

// A forked child shares its parent's handle (and its open file
// description); destroying that copy in the child must not free the
// parent's cell for a third handle.
TEST_F(SharedContextTest, ForkedChildDroppingAnInheritedHandleKeepsTheCell) {
  auto ctx = SharedContext<>::create(name_, 0, {.max_writers = 2});
  ASSERT_TRUE(ctx.ok());
  ASSERT_TRUE(ctx->has_own_cell());
  const pid_t child = fork_child([&] {
    { auto inherited = std::move(*ctx); }  // runs ~SharedContext here
    return true;
  });
  ASSERT_EQ(wait_exit(child), 0);
  auto b = SharedContext<>::open(name_);  // the second, free cell
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->has_own_cell());
  auto c = SharedContext<>::open(name_);  // none left: the parent's is live
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_own_cell());
  ctx->accum(1);
  c->accum(2);
  EXPECT_EQ(*ctx->read(), 3U);
}

// Cell ownership does not trust pids: a pid recorded by a process in
// another pid namespace (or a reused one) looks dead or alive by accident.
// Here a live owner's recorded pid is rewritten to a pid that no longer
// exists; its cell must still not be handed to a new handle.
TEST_F(SharedContextTest, LiveOwnerIsNotDisplacedWhateverItsRecordedPid) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 0,
                                                            {.max_writers = 2});
  ASSERT_TRUE(ctx.ok());
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  const pid_t child = fork_child([&] {
    auto c = SharedContext<std::uint64_t, AddGroup>::open(name_);
    const char ok = (c.ok() && c->has_own_cell()) ? 1 : 0;
    if (::write(from_child[1], &ok, 1) != 1) return false;
    char go = 0;
    if (::read(to_child[0], &go, 1) != 1) return false;  // until released
    c->accum(1);
    return ok == 1;
  });
  char ok = 0;
  ASSERT_EQ(::read(from_child[0], &ok, 1), 1);
  ASSERT_EQ(ok, 1);
  const pid_t gone = fork_child([] { return true; });
  ASSERT_EQ(wait_exit(gone), 0);  // `gone` is now a pid with no process
  std::size_t size = 0;
  unsigned char* raw = map_raw(name_, &size);
  ASSERT_NE(raw, nullptr);
  std::uint32_t header_size = 0;
  std::memcpy(&header_size, raw + kHeaderSizeOffset, 4);
  for (std::size_t i = 0; i < 2; ++i) {
    auto* owner = reinterpret_cast<std::atomic<std::int32_t>*>(
        raw + header_size + 64 * i + kCellOwnerOffset);
    if (owner->load() == child) owner->store(gone);
  }
  auto other = SharedContext<std::uint64_t, AddGroup>::open(name_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_own_cell());
  other->accum(10);
  ASSERT_EQ(::write(to_child[1], "g", 1), 1);
  EXPECT_EQ(wait_exit(child), 0);
  EXPECT_EQ(*ctx->read(), 11U);
  ::munmap(raw, size);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) {
    ::close(fd);
  }
}

TEST_F(SharedContextTest, HeaderSizeIsValidatedAtOpen) {
  {
    auto a = SharedContext<>::create(name_, 1);
    ASSERT_TRUE(a.ok());
  }
  std::size_t size = 0;
  unsigned char* raw = map_raw(name_, &size);
  ASSERT_NE(raw, nullptr);
  std::uint32_t header_size = 0;
  std::memcpy(&header_size, raw + kHeaderSizeOffset, 4);
  const std::uint32_t wrong = header_size + 64;
  std::memcpy(raw + kHeaderSizeOffset, &wrong, 4);
  ::munmap(raw, size);
  auto b = SharedContext<>::open(name_);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kCorruption);
  EXPECT_THAT(b.status().message(),
              HasSubstr("header_size " + std::to_string(wrong)));
}

// A swapper that dies right after committing its swap: the epoch's state
// is still readable from the segment by anyone.
TEST_F(SharedContextTest, LastSwapOutlivesTheSwapper) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 100);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(ctx->last_swap()->number, 0U);
  ctx->accum(5);
  const pid_t child = fork_child([&] {
    auto c = SharedContext<std::uint64_t, AddGroup>::open(name_);
    if (!c.ok()) return false;
    auto e = c->swap(0);
    ::_exit(e.ok() && *e == 105 ? 0 : 1);  // dies before reporting it
  });
  ASSERT_EQ(wait_exit(child), 0);
  auto rec = ctx->last_swap();
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->number, 1U);
  EXPECT_EQ(rec->state, 105U);
  EXPECT_EQ(*ctx->read(), 0U);
}

// A closer killed after advancing the epoch but before committing leaves
// the epoch one ahead of the folded epochs. Simulated by advancing the
// epoch word directly: the next read must still count the deltas written
// in the epoch it never folded.
TEST_F(SharedContextTest, AnEpochAdvancedByADeadCloserIsStillCounted) {
  auto ctx = SharedContext<std::uint64_t, AddGroup>::create(name_, 0);
  ASSERT_TRUE(ctx.ok());
  ctx->accum(5);
  std::size_t size = 0;
  unsigned char* raw = map_raw(name_, &size);
  ASSERT_NE(raw, nullptr);
  reinterpret_cast<std::atomic<std::uint64_t>*>(raw + kEpochOffset)
      ->fetch_add(1);
  ::munmap(raw, size);
  ctx->accum(7);  // the new epoch's parity
  EXPECT_EQ(*ctx->read(), 12U);
  EXPECT_EQ(*ctx->delta_count(), 2U);
  EXPECT_EQ(*ctx->swap(0), 12U);
  ctx->accum(1);
  EXPECT_EQ(*ctx->read(), 1U);
}

// A writer killed between announcing an accum and clearing the
// announcement leaves `busy` set for good. Closers wait for announced
// accums, so they must notice that the owner is gone (its cell lock was
// dropped by the kernel) instead of waiting forever; the next owner of the
// cell clears the flag.
TEST_F(SharedContextTest, AWriterKilledMidAccumDoesNotBlockClosers) {
  using Ctx = SharedContext<std::uint64_t, AddGroup>;
  auto ctx = Ctx::create(name_, 0, {.max_writers = 2});
  ASSERT_TRUE(ctx.ok());
  const pid_t child = fork_child([&] {
    auto c = Ctx::open(name_);
    if (!c.ok() || !c->has_own_cell()) return false;
    c->accum(3);
    ::_exit(0);  // no destructor: as if killed; the kernel drops the lock
  });
  ASSERT_EQ(wait_exit(child), 0);
  std::size_t size = 0;
  unsigned char* raw = map_raw(name_, &size);
  ASSERT_NE(raw, nullptr);
  std::uint32_t header_size = 0;
  std::memcpy(&header_size, raw + kHeaderSizeOffset, 4);
  for (std::size_t i = 0; i < 2; ++i) {  // the child's cell: busy = 1
    auto* owner = reinterpret_cast<std::atomic<std::int32_t>*>(
        raw + header_size + 64 * i + kCellOwnerOffset);
    if (owner->load() == child) {
      reinterpret_cast<std::atomic<std::uint32_t>*>(raw + header_size + 64 * i)
          ->store(1);
    }
  }
  EXPECT_EQ(*ctx->read(), 3U);   // returns: the dead owner is detected
  auto next = Ctx::open(name_);  // takes over the dead writer's cell
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->has_own_cell());
  next->accum(4);
  EXPECT_EQ(*ctx->swap(0), 7U);
  ::munmap(raw, size);
}

// After forked writers stop, delta_count() equals the epoch's deltas even
// though swaps ran while they wrote (each delta is +1).
TEST_F(SharedContextTest, DeltaCountIsExactOnceWritersStop) {
  using Ctx = SharedContext<std::uint64_t, AddGroup>;
  auto ctx = Ctx::create(name_, 0);
  ASSERT_TRUE(ctx.ok());
  constexpr std::uint64_t kEach = 200000;
  std::vector<pid_t> kids;
  for (int k = 0; k < 2; ++k) {
    kids.push_back(fork_child([&] {
      auto c = Ctx::open(name_);
      if (!c.ok()) return false;
      for (std::uint64_t i = 0; i < kEach; ++i) c->accum(1);
      return true;
    }));
  }
  std::uint64_t swapped = 0;
  int running = 2;
  while (running > 0) {
    swapped += *ctx->swap(0);
    int status = 0;
    while (::waitpid(-1, &status, WNOHANG) > 0) --running;
  }
  const std::uint64_t value = *ctx->read();
  EXPECT_EQ(*ctx->delta_count(), value);
  EXPECT_EQ(swapped + value, 2 * kEach);
}

// Two processes pass a token (one adds 1, the other adds -1), so the true
// state is always 0 or 1; a swapper and a reader thread in this process
// must only ever see 0 or 1.
TEST_F(SharedContextTest, TokenPassingShowsOnlyStatesThatExisted) {
#if defined(ATOMIK_SANITIZED)
  constexpr std::uint64_t kPasses = 5000;
#else
  constexpr std::uint64_t kPasses = 50000;
#endif
  using Ctx = SharedContext<std::uint64_t, AddGroup>;
  constexpr std::uint32_t kCells = 1024;
  auto ctx = Ctx::create(name_, 0, {.max_writers = kCells});
  ASSERT_TRUE(ctx.ok());
  // Cells are owned through locks on byte i of the segment (format doc).
  // Hold cells 2..kCells-3 with one lock, so the two writers get cell 1 and
  // a cell near the end: a cut that reads cells one by one then spans the
  // whole scan between them.
  const int hold_fd = ::shm_open(name_.c_str(), O_RDWR, 0600);
  ASSERT_GE(hold_fd, 0);
  struct flock hold {};
  hold.l_type = F_WRLCK;
  hold.l_whence = SEEK_SET;
  hold.l_start = 2;
  hold.l_len = kCells - 4;
  ASSERT_EQ(::fcntl(hold_fd, F_OFD_SETLK, &hold), 0);
  auto g = testing::rng(43);
  const std::uint64_t passes = kPasses / 2 + g() % (kPasses / 2);
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* turn = new (page) std::atomic<std::uint64_t>(0);
  std::vector<pid_t> kids;
  for (std::uint64_t who = 0; who < 2; ++who) {
    kids.push_back(fork_child([&] {
      auto c = Ctx::open(name_);
      if (!c.ok() || !c->has_own_cell()) return false;
      const std::uint64_t delta = who == 0 ? 1 : ~std::uint64_t{0};
      for (std::uint64_t i = 0; i < passes; ++i) {
        while (turn->load(std::memory_order_acquire) != 2 * i + who) {
          ::sched_yield();
        }
        c->accum(delta);
        turn->store(2 * i + who + 1, std::memory_order_release);
      }
      return true;
    }));
  }
  auto reader_handle = Ctx::open(name_);
  ASSERT_TRUE(reader_handle.ok());
  std::atomic<bool> done{false};
  std::uint64_t bad_reads = 0;
  std::uint64_t reads = 0;
  std::thread reader([&] {
    while (!done.load()) {
      auto v = reader_handle->read();
      if (!v.ok() || *v > 1) ++bad_reads;
      ++reads;
    }
  });
  std::uint64_t bad_swaps = 0;
  std::uint64_t swaps = 0;
  while (turn->load(std::memory_order_acquire) < 2 * passes) {
    auto v = ctx->swap();
    if (!v.ok() || *v > 1) ++bad_swaps;
    ++swaps;
  }
  done.store(true);
  reader.join();
  for (pid_t p : kids) EXPECT_EQ(wait_exit(p), 0);
  std::printf("passes %llu, swaps %llu, reads %llu\n",
              static_cast<unsigned long long>(passes),
              static_cast<unsigned long long>(swaps),
              static_cast<unsigned long long>(reads));
  EXPECT_EQ(bad_swaps, 0U);
  EXPECT_EQ(bad_reads, 0U);
  EXPECT_EQ(*ctx->swap(), 0U);
  ::munmap(page, 4096);
  ::close(hold_fd);
}

}  // namespace
}  // namespace atomik
