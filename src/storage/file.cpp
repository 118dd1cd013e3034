// SPDX-License-Identifier: Apache-2.0
// FileSystem::posix(): open/write/fdatasync/rename on the local disk.
#include "atomik/file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace atomik {
namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, std::uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status append(std::span<const std::byte> data) override {
    if (fd_ < 0) return closed("append");
    const std::byte* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::from_errno("write '" + path_ + "'", errno);
      }
      p += n;
      left -= static_cast<std::size_t>(n);
      size_ += static_cast<std::uint64_t>(n);
    }
    return Status();
  }
  Status sync() override {
    if (fd_ < 0) return closed("sync");
    if (::fdatasync(fd_) != 0) {
      return Status::from_errno("fdatasync '" + path_ + "'", errno);
    }
    return Status();
  }
  Status close() override {
    if (fd_ < 0) return Status();
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      return Status::from_errno("close '" + path_ + "'", errno);
    }
    return Status();
  }
  std::uint64_t size() const override { return size_; }

 private:
  Status closed(const char* op) const {
    return Status::failed_precondition(std::string(op) + " '" + path_ + "'",
                                       "file is closed");
  }
  std::string path_;
  int fd_;
  std::uint64_t size_;
};

class VectorContents final : public FileContents {
 public:
  explicit VectorContents(std::vector<std::byte> b) : b_(std::move(b)) {}
  std::span<const std::byte> bytes() const override { return b_; }

 private:
  std::vector<std::byte> b_;
};

class MappedContents final : public FileContents {
 public:
  MappedContents(void* p, std::size_t n) : p_(p), n_(n) {}
  ~MappedContents() override { ::munmap(p_, n_); }
  std::span<const std::byte> bytes() const override {
    return {static_cast<const std::byte*>(p_), n_};
  }

 private:
  void* p_;
  std::size_t n_;
};

// An fd open for reading and the file's size at open.
struct ReadableFd {
  int fd;
  std::uint64_t size;
};

// Opens `path` read-only: kNotFound if missing, else the errno of open or
// fstat (nothing left open on failure).
Result<ReadableFd> open_for_reading(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::not_found("open '" + path + "'", "no such file");
    }
    return Status::from_errno("open '" + path + "'", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno("fstat '" + path + "'", err);
  }
  return ReadableFd{fd, static_cast<std::uint64_t>(st.st_size)};
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<FileContents>> map_file(
      const std::string& path) override {
    auto f = open_for_reading(path);
    if (!f.ok()) return f.status();
    const int fd = f->fd;
    const auto n = static_cast<std::size_t>(f->size);
    if (n == 0) {
      ::close(fd);
      return std::unique_ptr<FileContents>(
          std::make_unique<VectorContents>(std::vector<std::byte>()));
    }
    void* p = ::mmap(nullptr, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) {
      // Fall back to reading (e.g. a file system without mmap).
      (void)err;
      return FileSystem::map_file(path);
    }
    ::madvise(p, n, MADV_SEQUENTIAL);
    return std::unique_ptr<FileContents>(
        std::make_unique<MappedContents>(p, n));
  }

  Result<std::unique_ptr<WritableFile>> open_writable(const std::string& path,
                                                      bool truncate) override {
    const int flags =
        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Status::from_errno("open '" + path + "'", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return Status::from_errno("fstat '" + path + "'", err);
    }
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(
        path, fd, static_cast<std::uint64_t>(st.st_size)));
  }
  Result<std::vector<std::byte>> read_file(const std::string& path) override {
    auto f = open_for_reading(path);
    if (!f.ok()) return f.status();
    const int fd = f->fd;
    std::vector<std::byte> out(static_cast<std::size_t>(f->size));
    std::size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return Status::from_errno("read '" + path + "'", err);
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Status::from_errno("rename '" + from + "' -> '" + to + "'", errno);
    }
    return Status();
  }
  Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) {
        return Status::not_found("unlink '" + path + "'", "no such file");
      }
      return Status::from_errno("unlink '" + path + "'", errno);
    }
    return Status();
  }
  Status truncate(const std::string& path, std::uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Status::from_errno("open '" + path + "'", errno);
    Status s;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      s = Status::from_errno("ftruncate '" + path + "'", errno);
    } else if (::fsync(fd) != 0) {
      s = Status::from_errno("fsync '" + path + "'", errno);
    }
    ::close(fd);
    return s;
  }
  Status sync_dir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::from_errno("open dir '" + dir + "'", errno);
    Status s;
    if (::fsync(fd) != 0) {
      s = Status::from_errno("fsync dir '" + dir + "'", errno);
    }
    ::close(fd);
    return s;
  }
  Status create_dirs(const std::string& dir) override {
    std::string cur;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
      pos = dir.find('/', pos + 1);
      cur = dir.substr(0, pos);
      if (cur.empty()) continue;
      if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::from_errno("mkdir '" + cur + "'", errno);
      }
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::failed_precondition("create_dirs '" + dir + "'",
                                         "exists and is not a directory");
    }
    return Status();
  }
  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) {
        return Status::not_found("opendir '" + dir + "'", "no such directory");
      }
      return Status::from_errno("opendir '" + dir + "'", errno);
    }
    std::vector<std::string> names;
    // One DIR stream per call, so readdir is safe here.
    while (const dirent* e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
      const std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }
  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

Result<std::unique_ptr<FileContents>> FileSystem::map_file(
    const std::string& path) {
  auto b = read_file(path);
  if (!b.ok()) return b.status();
  return std::unique_ptr<FileContents>(
      std::make_unique<VectorContents>(std::move(*b)));
}

namespace {
class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the flock

 private:
  int fd_;
};
}  // namespace

Result<std::unique_ptr<FileLock>> FileSystem::lock_file(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("lock '" + path + "'", errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return Status::failed_precondition(
          "lock '" + path + "'",
          "held by another open of this directory (another process, or "
          "this one)");
    }
    return Status::from_errno("lock '" + path + "'", e);
  }
  return std::unique_ptr<FileLock>(new PosixFileLock(fd));
}

FileSystem& FileSystem::posix() {
  static PosixFileSystem fs;
  return fs;
}

}  // namespace atomik
