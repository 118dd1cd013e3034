// SPDX-License-Identifier: Apache-2.0
// `--log-level` and `--log-format` for the long-running subcommands: the
// library's records (atomik/log.hpp) go to an spdlog logger on stderr, as
// text lines or JSON lines (docs/cli.md, LOGGING).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace atomik::cli {

struct LogArgs {
  std::string level = "info";
  std::string format = "text";
};

// Adds --log-level (trace, debug, info, warn, error, off) and --log-format
// (text, json) to `c`; other values are usage errors (exit 2).
void add_log_options(CLI::App* c, LogArgs* args);

// Installs the spdlog-backed sink and the level of `args` for the rest of
// the process. Values were checked by add_log_options.
void install_logging(const LogArgs& args);

}  // namespace atomik::cli
