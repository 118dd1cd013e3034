// SPDX-License-Identifier: Apache-2.0
// `atomik wal dump|verify DIR` and `atomik checkpoint verify FILE`.
//
// wal verify DIR: reads every WAL segment of a table directory (from the
//   first one its CHECKPOINT does not cover), resynchronising past damage,
//   and prints one stderr line per problem and a summary on stdout.
// wal dump DIR: the same, and one stdout line per record:
//   "<segment> <offset> <type> origin=0x.. seq=N addr=N value=0x..".
//   --quiet (as for verify) prints only errors: no records, no summary.
// checkpoint verify FILE: decodes and validates a checkpoint file.
// Exit: 0 clean (a torn tail or unsealed last segment, the normal aftermath
// of a crash, is reported but is not a failure unless --strict); 1 a data
// problem (corruption, unreadable file); 2 usage. See docs/cli.md.
#include "atomik/wal.hpp"

#include <cinttypes>
#include <cstdio>
#include <string>

#include "atomik/checkpoint.hpp"
#include "atomik/persistent_table.hpp"
#include "cli/args.hpp"
#include "cli/commands.hpp"

namespace atomik::cli {
namespace {

struct WalArgs {
  std::string dir;
  bool strict = false;
  bool quiet = false;
};

int run_wal(const WalArgs& a, bool dump) {
  FileSystem& fs = FileSystem::posix();
  std::uint64_t first = 1;
  auto cp = read_checkpoint(fs, a.dir + "/" + kCheckpointFileName);
  if (cp.ok()) {
    first = cp->wal_first_segment;
  } else if (!cp.status().is_not_found()) {
    std::fprintf(stderr, "atomik: %s\n", cp.status().to_string().c_str());
    std::fprintf(stderr, "atomik: reading every segment from 1\n");
  }
  RecoveryReport report;
  const Status s = read_wal(
      a.dir, first, RecoveryMode::kSkip,
      [&](const WalRecord& r, const WalPlace& p) {
        if (dump && !a.quiet) {
          std::printf("%" PRIu64 " %" PRIu64 " %s origin=0x%016" PRIx64
                      " seq=%" PRIu64 " addr=%" PRIu32 " value=0x%016" PRIx64
                      "\n",
                      p.segment, p.offset, to_string(r.type), r.origin, r.seq,
                      r.addr, r.value);
        }
        return Status();
      },
      [&](const WalDeltaRun& r, const WalPlace& p) {
        // The run's line, then one indented line per delta.
        if (dump && !a.quiet) {
          std::printf("%" PRIu64 " %" PRIu64 " delta-run origin=0x%016" PRIx64
                      " first_seq=%" PRIu64 " count=%" PRIu32 "\n",
                      p.segment, p.offset, r.origin, r.first_seq, r.count);
          for (std::uint32_t i = 0; i < r.count; ++i) {
            std::printf("  seq=%" PRIu64 " addr=%" PRIu32 " value=0x%016" PRIx64
                        "\n",
                        r.first_seq + i, r.addr(i), r.delta(i));
          }
        }
        return Status();
      },
      &report);
  if (!s.ok()) {
    std::fprintf(stderr, "atomik: %s\n", s.to_string().c_str());
    return 1;
  }
  int failures = cp.ok() || cp.status().is_not_found() ? 0 : 1;
  int notes = 0;
  for (const std::string& p : report.problems) {
    const bool corruption = p.rfind("corruption", 0) == 0;
    if (corruption) {
      ++failures;
    } else {
      ++notes;
    }
    if (!a.quiet || corruption || a.strict) {
      std::fprintf(stderr, "atomik: %s\n", p.c_str());
    }
  }
  if (!a.quiet) {
    std::printf("%s: %s (first segment %" PRIu64 ")\n", a.dir.c_str(),
                report.summary().c_str(), first);
  }
  const int problems = failures + (a.strict ? notes : 0);
  if (problems > 0) {
    std::fprintf(stderr, "atomik: %d problem(s)\n", problems);
    return 1;
  }
  return 0;
}

int run_checkpoint_verify(const std::string& file, bool quiet) {
  auto cp = read_checkpoint(FileSystem::posix(), file);
  if (!cp.ok()) {
    std::fprintf(stderr, "atomik: %s\n", cp.status().to_string().c_str());
    std::fprintf(stderr, "atomik: 1 problem(s)\n");
    return 1;
  }
  if (!quiet) {
    std::size_t levels = 0;
    for (const UndoState& u : cp->undo) levels += u.undo.size() + u.redo.size();
    std::printf("%s: ok: epoch %" PRIu64 ", wal from segment %" PRIu64
                ", %zu states, %zu origins, %zu undo histories (%zu levels), "
                "num_contexts %" PRIu64 ", group %s\n",
                file.c_str(), cp->epoch, cp->wal_first_segment,
                cp->states.size(), cp->origins.size(), cp->undo.size(), levels,
                cp->num_contexts, cp->shape.to_string().c_str());
  }
  return 0;
}

}  // namespace

void add_wal_commands(CLI::App& app, int* exit_code) {
  CLI::App* wal =
      app.add_subcommand("wal", "Inspect a table's write-ahead log");
  wal->require_subcommand(1);
  for (const char* name : {"dump", "verify"}) {
    auto args = std::make_shared<WalArgs>();
    const bool dump = std::string(name) == "dump";
    CLI::App* sub = wal->add_subcommand(
        name, dump ? "Print every record, then check the log"
                   : "Check every segment: checksums, order, seals");
    args->dir = kDefaultDataDir;
    sub->add_option("DIR", args->dir, "Table directory")
        ->check(non_empty())
        ->capture_default_str();
    sub->add_flag("--strict", args->strict,
                  "Also fail on a torn tail or unsealed last segment");
    sub->add_flag("--quiet", args->quiet, "Print only errors");
    sub->callback(
        [args, dump, exit_code] { *exit_code = run_wal(*args, dump); });
  }
  add_wal_import_command(*wal, exit_code);
  CLI::App* cp = app.add_subcommand("checkpoint", "Inspect checkpoint files");
  cp->require_subcommand(1);
  auto file = std::make_shared<std::string>(std::string(kDefaultDataDir) + "/" +
                                            kCheckpointFileName);
  auto quiet = std::make_shared<bool>(false);
  CLI::App* verify =
      cp->add_subcommand("verify", "Decode and validate a checkpoint file");
  verify->add_option("FILE", *file, "Checkpoint file")
      ->check(non_empty())
      ->capture_default_str();
  verify->add_flag("--quiet", *quiet, "Print only errors");
  verify->callback([file, quiet, exit_code] {
    *exit_code = run_checkpoint_verify(*file, *quiet);
  });
}

}  // namespace atomik::cli
