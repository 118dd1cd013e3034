// SPDX-License-Identifier: Apache-2.0
// atomik: one binary, subcommands (docs/cli.md).
// Exit status: 0 success; 1 a data problem (corruption, mismatch, failed
// check); 2 a usage error (unknown flag, bad number), with a short usage.
#include <cstdio>
#include <exception>
#include <string>

#include "atomik/log.hpp"
#include "atomik/version.hpp"
#include "cli/commands.hpp"

namespace {

// Configure-time facts for --version (tools/CMakeLists.txt).
#ifndef ATOMIK_GIT_COMMIT
#define ATOMIK_GIT_COMMIT "unknown"
#endif
#ifndef ATOMIK_COMPILER
#define ATOMIK_COMPILER "unknown compiler"
#endif
#ifndef ATOMIK_BUILD_TYPE
#define ATOMIK_BUILD_TYPE "unknown"
#endif

std::string version_text() {
  return std::string("atomik ") + atomik::kVersionString + "\ncommit " +
         ATOMIK_GIT_COMMIT + "\ncompiler " + ATOMIK_COMPILER + "\nbuild type " +
         ATOMIK_BUILD_TYPE;
}

// The first word naming no subcommand where one is expected, or "". CLI11
// alone would say "A subcommand is required" or "not expected" without the
// word; walks argv down the subcommand tree (the apps holding subcommands
// take no options with values, so the first non-flag word is a command).
std::string unknown_command(CLI::App& app, int argc, char** argv,
                            std::string* path) {
  CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (!word.empty() && word[0] == '-') continue;
    const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return {};
    CLI::App* next = nullptr;
    for (CLI::App* s : subs) {
      if (s->check_name(word)) next = s;
    }
    if (next == nullptr) return word;
    *path += " " + word;
    at = next;
  }
  return {};
}

int run(int argc, char** argv) {
  CLI::App app{"atomik: delta-state algebra (load, accum, read, swap)",
               "atomik"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  int exit_code = 0;
  atomik::cli::add_demo_command(app, &exit_code);
  atomik::cli::add_bench_command(app, &exit_code);
  atomik::cli::add_fingerprint_command(app, &exit_code);
  atomik::cli::add_node_command(app, &exit_code);
  atomik::cli::add_client_commands(app, &exit_code);
  atomik::cli::add_wal_commands(app, &exit_code);
#ifdef ATOMIK_HAVE_REDIS
  atomik::cli::add_redis_node_command(app, &exit_code);
#endif
  std::string path;
  const std::string unknown = unknown_command(app, argc, argv, &path);
  if (!unknown.empty()) {
    std::fprintf(stderr, "atomik%s: unknown command '%s'\n", path.c_str(),
                 unknown.c_str());
    std::fprintf(stderr,
                 "usage: atomik%s <command> [options]; see atomik%s "
                 "--help\n",
                 path.c_str(), path.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "atomik: %s\n",
                 atomik::redact_secrets(e.what()).c_str());
    std::fprintf(stderr,
                 "usage: atomik <subcommand> [options]; see atomik --help\n");
    return 2;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Subcommands report failures through exit codes; an exception reaching
  // here (e.g. std::bad_alloc) is reported, never an abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "atomik: fatal: %s\n", e.what());
    return 1;
  }
}
