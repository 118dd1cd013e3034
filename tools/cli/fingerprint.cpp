// SPDX-License-Identifier: Apache-2.0
// `atomik fingerprint FILE...`: prints each file's canonical fingerprint
// (docs/format/fingerprint.md) as `<40 hex digits>  <file>`, like xxhsum.
// `atomik fingerprint --watch FILE`: re-reads FILE every --interval-ms and
// prints a line only when its content really changed (a FingerprintGate).
// `atomik fingerprint --check LIST...`: verifies the lines of LIST (this
// command's own output, `<40 hex digits>  <file>`) as `xxhsum -c` does:
// "<file>: OK" or "<file>: FAILED" per line, a count of failures, of
// unreadable files and of malformed lines on stderr.
// FILE `-` is standard input (for --check: a list read from stdin).
// Exit: 0 all files read (and, with --check, every line well-formed and
// matching); 1 a file could not be read, a fingerprint did not match or a
// list line is malformed (one stderr line each and a final count); 2 usage.
// See docs/cli.md.
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

#include "cli/args.hpp"
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
  bool check = false;
};

// The CLI's strict number syntax (number.hpp).
bool parse_u64(const std::string& s, std::uint64_t* out) {
  return parse_uint(s, ~std::uint64_t{0}, out).empty();
}

// Calls fn(bytes) with the file's content (mapped, not copied). Returns a
// Status naming the file on failure.
template <typename Fn>
Status with_file_bytes(const std::string& path, Fn&& fn) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? ::dup(STDIN_FILENO)
                          : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
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

// One list line: 40 hex digits, two spaces (or " *", binary mode as in
// sha1sum), a file name. False if malformed.
bool parse_check_line(const std::string& line, std::string* hex,
                      std::string* file) {
  constexpr std::size_t kHex = 40;
  if (line.size() < kHex + 3) return false;
  for (std::size_t i = 0; i < kHex; ++i) {
    const char c = line[i];
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!ok) return false;
  }
  if (line[kHex] != ' ' || (line[kHex + 1] != ' ' && line[kHex + 1] != '*')) {
    return false;
  }
  *hex = line.substr(0, kHex);
  *file = line.substr(kHex + 2);
  return true;
}

int run_check(const FingerprintArgs& a, const FingerprintOptions& o) {
  Result<Fingerprint> proto = Fingerprint::create(o);
  if (!proto.ok()) {
    std::fprintf(stderr, "atomik fingerprint: %s\n",
                 proto.status().to_string().c_str());
    return 2;
  }
  std::size_t mismatched = 0;
  std::size_t unreadable = 0;
  std::size_t malformed = 0;
  std::size_t lines_ok = 0;
  for (const std::string& list : a.files) {
    std::string text;
    const Status ls = with_file_bytes(list, [&](std::span<const std::byte> b) {
      text.assign(reinterpret_cast<const char*>(b.data()), b.size());
    });
    if (!ls.ok()) {
      std::fprintf(stderr, "atomik fingerprint: %s\n", ls.to_string().c_str());
      ++unreadable;
      continue;
    }
    std::size_t lineno = 0;
    for (std::size_t at = 0; at < text.size();) {
      std::size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      const std::string line = text.substr(at, nl - at);
      at = nl + 1;
      ++lineno;
      if (line.empty()) continue;
      std::string want;
      std::string file;
      if (!parse_check_line(line, &want, &file)) {
        std::fprintf(stderr,
                     "atomik fingerprint: %s:%zu: not '<40 hex digits>  "
                     "<file>'\n",
                     list.c_str(), lineno);
        ++malformed;
        continue;
      }
      Fingerprint fp = *proto;
      const Status s = with_file_bytes(
          file, [&](std::span<const std::byte> b) { fp.load(b); });
      if (!s.ok()) {
        std::fprintf(stderr, "atomik fingerprint: %s\n", s.to_string().c_str());
        std::printf("%s: FAILED open or read\n", file.c_str());
        ++unreadable;
        continue;
      }
      if (fp.canonical_hex() == want) {
        ++lines_ok;
        if (!a.quiet) std::printf("%s: OK\n", file.c_str());
      } else {
        ++mismatched;
        std::printf("%s: FAILED\n", file.c_str());
      }
    }
  }
  std::fflush(stdout);
  if (mismatched + unreadable + malformed != 0) {
    std::fprintf(stderr,
                 "atomik fingerprint: %zu OK, %zu did NOT match, %zu could "
                 "not be read, %zu malformed lines\n",
                 lines_ok, mismatched, unreadable, malformed);
    return 1;
  }
  if (lines_ok == 0) {
    std::fprintf(stderr, "atomik fingerprint: no fingerprint lines to check\n");
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
  cmd->add_option("FILE", args->files,
                  "Files to fingerprint ('-': standard input); with --check, "
                  "lists to verify")
      ->required();
  cmd->add_option("--chunk-size", args->chunk_size,
                  "Chunk size in bytes: a power of two in [64, 2^30]")
      ->capture_default_str()
      ->transform(number_of<std::uint64_t>())
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
      ->transform(number_of<std::uint64_t>());
  cmd->add_option("--legacy-width", args->legacy_width,
                  "Migration mode: the reference's weak XOR-fold of this "
                  "width (8..128, a multiple of 8)")
      ->transform(number(128))
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
      ->transform(number_of<std::uint64_t>())
      ->capture_default_str();
  cmd->add_option("--count", args->count,
                  "--watch: number of checks, 0 = until interrupted")
      ->transform(number_of<std::uint64_t>())
      ->capture_default_str();
  cmd->add_flag("-c,--check", args->check,
                "Verify lists of '<fingerprint>  <file>' lines (this "
                "command's output), like xxhsum -c")
      ->excludes("--watch");
  cmd->add_flag("-q,--quiet", args->quiet,
                "Print nothing on stdout (with --check: only FAILED lines; "
                "errors still go to stderr)");
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
    if (args->check) {
      *exit_code = run_check(*args, o);
    } else {
      *exit_code = args->watch ? run_watch(*args, o) : run_print(*args, o);
    }
  });
}

}  // namespace atomik::cli
