// SPDX-License-Identifier: Apache-2.0
// `atomik fingerprint FILE...`: prints each file's canonical fingerprint
// (docs/format/fingerprint.md) as `<40 hex digits>  <file>`, like xxhsum.
// `atomik fingerprint --watch FILE`: re-reads FILE every --interval-ms and
// prints a line only when its content really changed (a FingerprintGate).
// Exit: 0 all files read; 1 a file could not be read (one stderr line per
// file and a final count); 2 usage. See docs/cli.md.
#include "atomik/fingerprint.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

struct FingerprintArgs {
  std::vector<std::string> files;
  std::uint64_t chunk_size = kDefaultFingerprintChunkSize;
  std::string key = "0";
  unsigned legacy_width = 0;  // 0: strong mode
  bool watch = false;
  std::uint64_t interval_ms = 1000;
  std::uint64_t count = 0;  // --watch: checks to run; 0 = until killed
  bool quiet = false;
};

// Parses a 64-bit number, decimal or 0x-hex, with nothing left over.
bool parse_u64(const std::string& s, std::uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

// Calls fn(bytes) with the file's content (mapped, not copied). Returns a
// Status naming the file on failure.
template <typename Fn>
Status with_file_bytes(const std::string& path, Fn&& fn) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::from_errno(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::from_errno(path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::invalid_argument(path, "is a directory");
  }
  if (S_ISREG(st.st_mode)) {
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size == 0) {
      ::close(fd);
      fn(std::span<const std::byte>());
      return Status();
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) return Status::from_errno(path + ": mmap", err);
    fn(std::span<const std::byte>(static_cast<const std::byte*>(p), size));
    ::munmap(p, size);
    return Status();
  }
  // A pipe or device: read it all.
  std::vector<std::byte> buf;
  std::byte tmp[65536];
  for (;;) {
    const ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::from_errno(path, err);
    }
    if (n == 0) break;
    buf.insert(buf.end(), tmp, tmp + n);
  }
  ::close(fd);
  fn(std::span<const std::byte>(buf));
  return Status();
}

int run_print(const FingerprintArgs& a, const FingerprintOptions& o) {
  Result<Fingerprint> proto = Fingerprint::create(o);
  if (!proto.ok()) {
    std::fprintf(stderr, "atomik fingerprint: %s\n",
                 proto.status().to_string().c_str());
    return 2;
  }
  std::size_t failed = 0;
  for (const std::string& path : a.files) {
    Fingerprint fp = *proto;
    const Status s = with_file_bytes(
        path, [&](std::span<const std::byte> b) { fp.load(b); });
    if (!s.ok()) {
      std::fprintf(stderr, "atomik fingerprint: %s\n", s.to_string().c_str());
      ++failed;
      continue;
    }
    if (!a.quiet) {
      std::printf("%s  %s\n", fp.canonical_hex().c_str(), path.c_str());
    }
  }
  std::fflush(stdout);
  if (failed != 0) {
    std::fprintf(stderr,
                 "atomik fingerprint: %zu of %zu files could not be read\n",
                 failed, a.files.size());
    return 1;
  }
  return 0;
}

int run_watch(const FingerprintArgs& a, const FingerprintOptions& o) {
  Result<FingerprintGate> gate = FingerprintGate::create(o);
  if (!gate.ok()) {
    std::fprintf(stderr, "atomik fingerprint: %s\n",
                 gate.status().to_string().c_str());
    return 2;
  }
  const std::string& path = a.files.front();
  std::uint64_t read_errors = 0;
  for (std::uint64_t i = 0; a.count == 0 || i < a.count; ++i) {
    if (i != 0 && a.interval_ms != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(a.interval_ms));
    }
    bool changed = false;
    const Status s = with_file_bytes(
        path, [&](std::span<const std::byte> b) { changed = gate->check(b); });
    if (!s.ok()) {
      std::fprintf(stderr, "atomik fingerprint: %s\n", s.to_string().c_str());
      ++read_errors;
      continue;
    }
    if (changed) {
      std::printf("%s  %s\n", gate->fingerprint().canonical_hex().c_str(),
                  path.c_str());
      std::fflush(stdout);
    }
  }
  std::fprintf(stderr,
               "atomik fingerprint: %s: %llu checks, %llu changes, %llu "
               "skipped, %llu unreadable\n",
               path.c_str(), static_cast<unsigned long long>(gate->checks()),
               static_cast<unsigned long long>(gate->changes()),
               static_cast<unsigned long long>(gate->skips()),
               static_cast<unsigned long long>(read_errors));
  return read_errors == 0 ? 0 : 1;
}

}  // namespace

void add_fingerprint_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<FingerprintArgs>();
  CLI::App* cmd = app.add_subcommand(
      "fingerprint",
      "Print canonical fingerprints of files, or --watch one file and report "
      "only real changes");
  cmd->add_option("FILE", args->files, "Files to fingerprint")->required();
  cmd->add_option("--chunk-size", args->chunk_size,
                  "Chunk size in bytes: a power of two in [64, 2^30]")
      ->capture_default_str()
      ->check([](const std::string& s) -> std::string {
        std::uint64_t v = 0;
        if (!parse_u64(s, &v) || v < kMinFingerprintChunkSize ||
            v > kMaxFingerprintChunkSize || (v & (v - 1)) != 0) {
          return "chunk size '" + s +
                 "' must be a power of two in [64, 1073741824]";
        }
        return {};
      });
  cmd->add_option("--key", args->key,
                  "64-bit key (decimal or 0x-hex); 0 = unkeyed. Not a MAC key")
      ->capture_default_str()
      ->check([](const std::string& s) -> std::string {
        std::uint64_t v = 0;
        return parse_u64(s, &v) ? std::string()
                                : "key '" + s + "' is not a 64-bit number";
      });
  cmd->add_option("--legacy-width", args->legacy_width,
                  "Migration mode: the reference's weak XOR-fold of this "
                  "width (8..128, a multiple of 8)")
      ->check([](const std::string& s) -> std::string {
        std::uint64_t v = 0;
        if (!parse_u64(s, &v) || v < 8 || v > 128 || v % 8 != 0) {
          return "legacy width '" + s + "' must be a multiple of 8 in [8, 128]";
        }
        return {};
      });
  cmd->add_flag("--watch", args->watch,
                "Watch one FILE: print its fingerprint when it changes");
  cmd->add_option("--interval-ms", args->interval_ms,
                  "--watch: milliseconds between checks")
      ->capture_default_str();
  cmd->add_option("--count", args->count,
                  "--watch: number of checks, 0 = until interrupted")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", args->quiet,
                "Print nothing on stdout (errors still go to stderr)");
  cmd->callback([args, exit_code] {
    if (args->watch && args->files.size() != 1) {
      std::fprintf(stderr,
                   "atomik fingerprint: --watch takes exactly one FILE, got "
                   "%zu\nusage: atomik fingerprint --watch FILE "
                   "[--interval-ms N] [--count N]\n",
                   args->files.size());
      *exit_code = 2;
      return;
    }
    FingerprintOptions o;
    if (args->legacy_width != 0) {
      if (args->key != "0") {
        std::fprintf(stderr,
                     "atomik fingerprint: --key cannot be used with "
                     "--legacy-width (the reference's fold has no key)\n");
        *exit_code = 2;
        return;
      }
      o.mode = FingerprintMode::kLegacyXorFold;
      o.width = args->legacy_width;
    } else {
      o.chunk_size = static_cast<std::size_t>(args->chunk_size);
      (void)parse_u64(args->key, &o.key);  // validated by the option check
    }
    *exit_code = args->watch ? run_watch(*args, o) : run_print(*args, o);
  });
}

}  // namespace atomik::cli
