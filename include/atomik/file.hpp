// SPDX-License-Identifier: Apache-2.0
// atomik/file.hpp: FileSystem, the file operations the durable storage uses.
//
// Every operation that can fail returns a Status, so a test can hand the WAL,
// checkpoints and PersistentTable a FileSystem whose write, sync or rename
// fails (fault injection) and check that the error reaches the caller and
// that nothing acknowledged is lost. FileSystem::posix() is the real one.
//
//   atomik::FileSystem& fs = atomik::FileSystem::posix();
//   auto f = fs.open_writable("dir/x", /*truncate=*/true);
//   if (f.ok()) { s = (*f)->append(bytes); s = (*f)->sync(); }
//
// Thread safety: FileSystem methods may be called from any thread; one
// WritableFile is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "atomik/export.h"
#include "atomik/status.hpp"

namespace atomik {

// A file opened for appending.
class ATOMIK_EXPORT WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end of the file (retrying short writes).
  // On failure some prefix of `data` may have been written.
  virtual Status append(std::span<const std::byte> data) = 0;
  // fdatasync(): the data written so far reaches stable storage. After a
  // failure the file's durable contents are unknown (do not retry).
  virtual Status sync() = 0;
  // Closes the file; further calls fail with kFailedPrecondition.
  virtual Status close() = 0;
  // Bytes in the file (its size at open plus bytes appended since).
  virtual std::uint64_t size() const = 0;
};

// A whole file's bytes, read or memory-mapped (read-only).
class ATOMIK_EXPORT FileContents {
 public:
  virtual ~FileContents() = default;
  virtual std::span<const std::byte> bytes() const = 0;
};

// An exclusive advisory lock on a file, released when destroyed.
class ATOMIK_EXPORT FileLock {
 public:
  virtual ~FileLock() = default;
};

class ATOMIK_EXPORT FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Opens `path` for appending, creating it; `truncate` empties it first.
  virtual Result<std::unique_ptr<WritableFile>> open_writable(
      const std::string& path, bool truncate) = 0;
  // The whole file. kNotFound if it does not exist. Cost O(size).
  virtual Result<std::vector<std::byte>> read_file(const std::string& path) = 0;
  // The whole file, possibly memory-mapped (no copy): the WAL reader's path.
  // The default reads it with read_file(). kNotFound if it does not exist.
  // The file must not be truncated while the result is alive.
  virtual Result<std::unique_ptr<FileContents>> map_file(
      const std::string& path);
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  // Deletes a file. kNotFound if it does not exist.
  virtual Status remove(const std::string& path) = 0;
  // Shrinks (or grows) a file to `size` bytes and syncs it.
  virtual Status truncate(const std::string& path, std::uint64_t size) = 0;
  // fsync() on a directory, making creations, renames and deletions durable.
  virtual Status sync_dir(const std::string& dir) = 0;
  // Creates `dir` and its parents if missing.
  virtual Status create_dirs(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`, sorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  // True if `path` exists.
  virtual bool exists(const std::string& path) = 0;
  // Creates `path` if missing and takes an exclusive lock on it (flock(2):
  // held against other processes and other opens in this one) without
  // waiting. kFailedPrecondition if someone holds it, else the I/O error.
  // The default is the POSIX one.
  virtual Result<std::unique_ptr<FileLock>> lock_file(const std::string& path);

  // The process-wide POSIX file system (open/write/fdatasync/rename).
  static FileSystem& posix();
};

}  // namespace atomik
