// SPDX-License-Identifier: Apache-2.0
// Helpers for the storage tests: a temporary directory and a
// FileSystem whose write, sync, rename... fail on demand (fault injection).
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "atomik/file.hpp"

namespace atomik::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "atomik-test-XXXXXX")
            .string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  for (std::size_t i = 0; i < c.size(); ++i)
    out[i] = static_cast<std::byte>(c[i]);
  return out;
}

inline void write_bytes(const std::string& path,
                        const std::vector<std::byte>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()),
            static_cast<std::streamsize>(b.size()));
}

// Forwards every call to FileSystem::posix(): the base of the test file
// systems, which override only the calls they change (map_file and
// lock_file keep FileSystem's defaults).
class ForwardingFileSystem : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      bool truncate) override {
    return base().open_writable(path, truncate);
  }
  Result<std::vector<std::byte>> read_file(const std::string& path) override {
    return base().read_file(path);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return base().rename(from, to);
  }
  Status remove(const std::string& path) override {
    return base().remove(path);
  }
  Status truncate(const std::string& path, std::uint64_t size) override {
    return base().truncate(path, size);
  }
  Status sync_dir(const std::string& dir) override {
    return base().sync_dir(dir);
  }
  Status create_dirs(const std::string& dir) override {
    return base().create_dirs(dir);
  }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    return base().list_dir(dir);
  }
  bool exists(const std::string& path) override { return base().exists(path); }

 protected:
  static FileSystem& base() { return FileSystem::posix(); }
};

// Forwards every call to the wrapped file: the base of the test files.
class ForwardingFile : public WritableFile {
 public:
  explicit ForwardingFile(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {}
  Status append(std::span<const std::byte> data) override {
    return f_->append(data);
  }
  Status sync() override { return f_->sync(); }
  Status close() override { return f_->close(); }
  std::uint64_t size() const override { return f_->size(); }

 protected:
  std::unique_ptr<WritableFile> f_;
};

// Operations a FaultyFileSystem can fail.
enum class Op { kAppend, kSync, kRename, kSyncDir, kOpen, kTruncate };

// Wraps FileSystem::posix(); the `nth` call (1-based, counted from arm())
// of operation `op` fails with kIoError, and so does every later one of that
// op while `sticky` is set. Armed from the test's thread while background
// threads (the WAL writer) call fail(): the plan is under a lock.
class FaultyFileSystem final : public ForwardingFileSystem {
 public:
  void arm(Op op, std::uint64_t nth, bool sticky = false) {
    std::lock_guard<std::mutex> lock(mu_);
    op_ = op;
    nth_ = nth;
    sticky_ = sticky;
    count_ = 0;
    fired_ = false;
  }
  void disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    nth_ = 0;
  }
  // When set, sync() and sync_dir() succeed without syncing (fast tests that
  // do not simulate power loss).
  void set_no_sync(bool on) { no_sync_ = on; }
  bool no_sync() const { return no_sync_; }
  bool fired() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

  bool fail(Op op) {
    std::lock_guard<std::mutex> lock(mu_);
    if (nth_ == 0 || op != op_) return false;
    const std::uint64_t c = ++count_;
    if (c == nth_ || (sticky_ && c > nth_)) {
      fired_ = true;
      return true;
    }
    return false;
  }
  static Status injected(const char* what) {
    return Status::io_error(what, "injected failure");
  }

  class File final : public ForwardingFile {
   public:
    File(FaultyFileSystem* fs, std::unique_ptr<WritableFile> f)
        : ForwardingFile(std::move(f)), fs_(fs) {}
    Status append(std::span<const std::byte> data) override {
      if (fs_->fail(Op::kAppend)) {
        // A partial write: half the bytes reach the file.
        (void)f_->append(data.first(data.size() / 2));
        return injected("append");
      }
      return f_->append(data);
    }
    Status sync() override {
      if (fs_->fail(Op::kSync)) return injected("sync");
      if (fs_->no_sync()) return Status();
      return f_->sync();
    }

   private:
    FaultyFileSystem* fs_;
  };

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      bool truncate) override {
    if (fail(Op::kOpen)) return injected("open");
    auto f = base().open_writable(path, truncate);
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(
        std::make_unique<File>(this, std::move(*f)));
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (fail(Op::kRename)) return injected("rename");
    return base().rename(from, to);
  }
  Status truncate(const std::string& path, std::uint64_t size) override {
    if (fail(Op::kTruncate)) return injected("truncate");
    return base().truncate(path, size);
  }
  Status sync_dir(const std::string& dir) override {
    if (fail(Op::kSyncDir)) return injected("sync_dir");
    if (no_sync_) return Status();
    return base().sync_dir(dir);
  }

 private:
  mutable std::mutex mu_;
  Op op_ = Op::kAppend;
  std::uint64_t nth_ = 0;
  std::uint64_t count_ = 0;
  bool sticky_ = false;
  bool fired_ = false;
  std::atomic<bool> no_sync_{false};
};

}  // namespace atomik::testing
