// SPDX-License-Identifier: Apache-2.0
// A disk that fills up: a Replica on a real, small tmpfs (the posix
// FileSystem, no fault injection) accumulates until the kernel refuses a
// write with ENOSPC. The refused delta must never be visible: reads on the
// failed table are refused naming the cause, and after a restart with space
// freed every acknowledged delta is there and the refused one is not.
// Needs root (mount(8)); skipped with the reason otherwise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "atomik/replica.hpp"
#include "storage_test_util.hpp"

namespace atomik {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// A tmpfs of `bytes` mounted on a fresh directory; unmounted on destruction.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::uint64_t bytes) {
    const std::string opts = "size=" + std::to_string(bytes);
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      why_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }
  std::string sub(const std::string& n) const { return dir_.sub(n); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string why_;
};

TEST(DiskFullTest, ARefusedAccumIsNeverVisibleAndAcknowledgedOnesSurvive) {
  SmallTmpfs fs(1 << 20);
  if (!fs.mounted()) GTEST_SKIP() << fs.why() << " (needs root)";
  ReplicaOptions o;
  o.storage.sync = SyncPolicy::kEveryRecord;
  o.retain_per_origin = 1024;
  std::vector<std::string> lines;
  o.log = [&](const std::string& l) { lines.push_back(l); };
  const std::string dir = fs.sub("t");
  const std::string filler = fs.sub("filler");
  std::map<Addr, std::uint64_t> acked;  // the reference model
  Addr refused = 0;
  std::string refusal;
  {
    auto r = Replica::open(dir, o);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    // Fill the disk, leaving a few pages for the WAL.
    {
      std::ofstream f(filler, std::ios::binary);
      const std::string page(4096, 'x');
      while (f.write(page.data(), 4096) && f.flush()) {
      }
    }
    std::filesystem::resize_file(filler,
                                 std::filesystem::file_size(filler) - 3 * 4096);
    // Distinct addresses, so a refused delta is told apart after a restart.
    for (Addr a = 1; a < 100000; ++a) {
      const FrameRecord d{a, 0x1000 + a};
      auto s = (*r)->accum_batch({&d, 1}, /*wait=*/true);
      if (!s.ok()) {
        refused = a;
        refusal = s.status().to_string();
        break;
      }
      acked[a] = 0x1000 + a;
    }
    ASSERT_NE(refused, 0u) << "the disk never filled";
    ASSERT_FALSE(acked.empty());
    EXPECT_THAT(refusal, HasSubstr("No space left on device (errno 28)"));
    EXPECT_THAT(refusal, HasSubstr(".wal"));  // names the file
    // Not visible: the failed table refuses reads, naming the cause.
    auto v = (*r)->read(refused);
    ASSERT_FALSE(v.ok()) << "read " << v.value();
    EXPECT_THAT(v.status().to_string(), HasSubstr("No space left on device"));
    EXPECT_FALSE((*r)->read(acked.begin()->first).ok());
    bool logged = false;
    for (const std::string& l : lines) {
      logged = logged || l.find("No space left on device") != std::string::npos;
    }
    EXPECT_TRUE(logged) << "the failure was not logged";
    (void)(*r)->close();
  }
  ASSERT_TRUE(std::filesystem::remove(filler));
  o.storage.recovery = RecoveryMode::kSkip;
  auto r = Replica::open(dir, o);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  for (const auto& [a, want] : acked) {
    ASSERT_EQ((*r)->read(a).value(), want) << "acknowledged addr " << a;
  }
  EXPECT_EQ((*r)->read(refused).value(), 0u) << "the refused delta came back";
  EXPECT_EQ((*r)->mark((*r)->origin()), acked.size());
}

}  // namespace
}  // namespace atomik
