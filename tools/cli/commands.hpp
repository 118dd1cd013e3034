// SPDX-License-Identifier: Apache-2.0
// The atomik CLI's subcommands. Each add_* registers one subcommand on the
// app and sets *exit_code when it runs (0 success, 1 data problem, 2 usage).
// See docs/cli.md.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace atomik::cli {

// Where `atomik node` listens and the clients connect by default
// (--listen, --node; docs/cli.md). The Python package's
// DEFAULT_NODE_ADDRESS is the same.
inline constexpr const char* kDefaultNodeAddress = "127.0.0.1:7400";

void add_demo_command(CLI::App& app, int* exit_code);
// `atomik bench`: every benchmark workload against its baseline.
void add_bench_command(CLI::App& app, int* exit_code);
// `atomik fingerprint FILE...` / `--watch FILE`.
void add_fingerprint_command(CLI::App& app, int* exit_code);
// `atomik node`.
void add_node_command(CLI::App& app, int* exit_code);
// `atomik accum|read|swap|status` against a node.
void add_client_commands(CLI::App& app, int* exit_code);
// Demo pattern 5 over three node processes; fills *detail.
bool run_node_cluster_demo(std::string* detail);
// `atomik wal dump|verify DIR`, `atomik checkpoint verify FILE`.
void add_wal_commands(CLI::App& app, int* exit_code);
// `atomik wal import FILE DIR`: the reference package's log file into a new
// table directory (docs/format/reference_wal.md).
void add_wal_import_command(CLI::App& wal, int* exit_code);
// `atomik redis-node`: a table replicated through Redis Streams.
void add_redis_node_command(CLI::App& app, int* exit_code);

}  // namespace atomik::cli
