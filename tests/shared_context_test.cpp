// SharedContext: fan-in from forked processes, epochs across processes, a
// writer killed mid-run, and every way open() can be refused.
#include "atomik/shared_context.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <string>
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

}  // namespace
}  // namespace atomik
