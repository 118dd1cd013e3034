// The atomik CLI's subcommands. Each add_* registers one subcommand on the
// app and sets *exit_code when it runs (0 success, 1 data problem, 2 usage).
// See docs/cli.md.
#pragma once

#include <CLI/CLI.hpp>

namespace atomik::cli {

void add_demo_command(CLI::App& app, int* exit_code);

}  // namespace atomik::cli
