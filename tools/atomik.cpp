// SPDX-License-Identifier: Apache-2.0
// atomik: one binary, subcommands (docs/cli.md).
// Exit status: 0 success; 1 a data problem (corruption, mismatch, failed
// check); 2 a usage error (unknown flag, bad number), with a short usage.
#include <cstdio>
#include <exception>

#include "atomik/version.hpp"
#include "cli/commands.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"atomik: delta-state algebra (load, accum, read, swap)",
               "atomik"};
  app.require_subcommand(1);
  app.set_version_flag("--version", atomik::kVersionString);
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "atomik: %s\n", e.what());
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
