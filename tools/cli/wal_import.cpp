// SPDX-License-Identifier: Apache-2.0
// `atomik wal import FILE DIR`: converts the reference package's log file
// (state.wal: raw 16-byte big-endian records, docs/format/reference_wal.md)
// into a new table directory, as atomik_core.persistent.import_reference_wal
// does in Python.
//
// The whole file is read and checked before anything is written: an address
// outside --num-contexts is a data error naming the record and its offset,
// and DIR must not exist or be empty (importing into a live table would mix
// two histories). A torn trailing record (1..15 bytes, a crash mid-append)
// is skipped, as the reference skipped it, but reported. Exit: 0 imported;
// 1 a data problem (unreadable file, bad record, DIR not empty, I/O error);
// 2 usage. See docs/cli.md.
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/file.hpp"
#include "atomik/persistent_table.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

// Written by the reference; never change. See docs/format/reference_wal.md.
constexpr std::size_t kRecordSize = 16;
constexpr std::uint32_t kLoadSeq = 0xFFFFFFFF;

struct ImportArgs {
  std::string file;
  std::string dir;
  std::uint64_t num_contexts = 256;
  bool quiet = false;
};

std::uint64_t read_be(std::span<const std::byte> bytes) {
  std::uint64_t v = 0;
  for (const std::byte b : bytes) {
    v = (v << 8) | static_cast<std::uint64_t>(b);
  }
  return v;
}

struct Replayed {
  std::map<std::uint32_t, std::uint64_t> state;  // every written address
  std::uint64_t loads = 0;
  std::uint64_t deltas = 0;
  std::size_t torn_tail = 0;
};

// Replays the records as the reference's reopen does: a LOAD sets the
// address, any other record XORs its value in. kCorruption naming the
// record for an address >= num_contexts.
Result<Replayed> replay(const std::string& file,
                        std::span<const std::byte> data,
                        std::uint64_t num_contexts) {
  Replayed r;
  const std::size_t whole = data.size() - data.size() % kRecordSize;
  r.torn_tail = data.size() - whole;
  for (std::size_t off = 0; off < whole; off += kRecordSize) {
    const auto rec = data.subspan(off, kRecordSize);
    const auto addr = static_cast<std::uint32_t>(read_be(rec.subspan(0, 4)));
    const std::uint64_t value = read_be(rec.subspan(4, 8));
    const auto seq = static_cast<std::uint32_t>(read_be(rec.subspan(12, 4)));
    if (addr >= num_contexts) {
      return Status::corruption(
          file, "record " + std::to_string(off / kRecordSize) + " at offset " +
                    std::to_string(off) + ": address " + std::to_string(addr) +
                    " is outside the table (num_contexts " +
                    std::to_string(num_contexts) +
                    "; pass the reference table's --num-contexts)");
    }
    if (seq == kLoadSeq) {
      r.state[addr] = value;
      ++r.loads;
    } else {
      r.state[addr] ^= value;
      ++r.deltas;
    }
  }
  return r;
}

int fail(const Status& s) {
  std::fprintf(stderr, "atomik: %s\n", s.to_string().c_str());
  return 1;
}

int run_import(const ImportArgs& a) {
  FileSystem& fs = FileSystem::posix();
  auto data = fs.read_file(a.file);
  if (!data.ok()) return fail(data.status());
  auto r = replay(a.file, *data, a.num_contexts);
  if (!r.ok()) return fail(r.status());
  if (fs.exists(a.dir)) {
    auto entries = fs.list_dir(a.dir);
    if (!entries.ok()) return fail(entries.status());
    if (!entries->empty()) {
      return fail(Status::failed_precondition(
          a.dir, "exists and is not empty; import into a new directory"));
    }
  }
  PersistentOptions opt;
  opt.num_contexts = a.num_contexts;
  auto table = PersistentTable::open(a.dir, opt);
  if (!table.ok()) return fail(table.status());
  // A new table holds 0 everywhere, so accumulating each value sets it.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> puts;
  for (const auto& [addr, value] : r->state) {
    if (value != 0) puts.emplace_back(addr, value);
  }
  if (!puts.empty()) {
    auto seq = (*table)->accum_batch(puts);
    if (!seq.ok()) return fail(seq.status());
  }
  if (Status s = (*table)->close(); !s.ok()) return fail(s);
  if (r->torn_tail != 0) {
    std::fprintf(stderr,
                 "atomik: %s: torn tail of %zu bytes at offset %zu skipped "
                 "(a record cut short by a crash)\n",
                 a.file.c_str(), r->torn_tail, (*data).size() - r->torn_tail);
  }
  if (!a.quiet) {
    std::printf("%s: %" PRIu64 " records (%" PRIu64 " loads, %" PRIu64
                " deltas), torn tail %zu bytes -> %s: %zu non-zero "
                "contexts\n",
                a.file.c_str(), r->loads + r->deltas, r->loads, r->deltas,
                r->torn_tail, a.dir.c_str(), puts.size());
  }
  return 0;
}

}  // namespace

void add_wal_import_command(CLI::App& wal, int* exit_code) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* sub = wal.add_subcommand(
      "import",
      "Convert the reference package's log file (state.wal) into a new "
      "table directory");
  sub->add_option("FILE", args->file, "The reference's log file")->required();
  sub->add_option("DIR", args->dir, "New (or empty) table directory")
      ->required();
  sub->add_option("--num-contexts", args->num_contexts,
                  "The reference table's num_contexts")
      ->capture_default_str()
      ->transform(number(std::uint64_t{1} << 32))
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  sub->add_flag("--quiet", args->quiet, "Print only errors");
  sub->callback([args, exit_code] { *exit_code = run_import(*args); });
}

}  // namespace atomik::cli
