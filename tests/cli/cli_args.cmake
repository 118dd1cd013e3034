# SPDX-License-Identifier: Apache-2.0
# CLI argument syntax, exit codes and the fingerprint/wal/redis-node
# behaviours of docs/cli.md. Included from tests/CMakeLists.txt (which
# defines atomik_cli_test()).
if(NOT ATOMIK_BUILD_TOOLS)
  return()
endif()

# atomik_sh_cli_test(<name> <regex> <script>): runs `sh -c "<script>; echo
# exit=$?"` with $0 the atomik binary, so the regex checks the output and
# the exit code; for stdin redirection and empty arguments.
function(atomik_sh_cli_test name regex script)
  add_test(NAME cli.${name}
           COMMAND sh -c "${script}; echo \"exit=$?\"" $<TARGET_FILE:atomik_cli>
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(cli.${name} PROPERTIES LABELS cli TIMEOUT 60
                       PASS_REGULAR_EXPRESSION "${regex}")
endfunction()

# One number syntax everywhere: decimal or 0x-hex; no sign, space, octal,
# overflow. Each refusal names the argument and exits 2.
atomik_cli_test(number.hex_minus EXIT 2 REGEX "DELTA: '0x-1' has '-'"
  ARGS accum 1 0x-1)
atomik_cli_test(number.hex_plus EXIT 2 REGEX "ADDR: '0x\\+5' has '\\+'"
  ARGS accum 0x+5 1)
atomik_cli_test(number.bare_0x EXIT 2 REGEX "ADDR: '0x' has no digits"
  ARGS accum 0x 5)
atomik_cli_test(number.hex_space EXIT 2 REGEX "ADDR: '0x 5' has ' '"
  ARGS accum "0x 5" 1)
atomik_cli_test(number.sign EXIT 2 REGEX "DELTA: '\\+1' has a sign"
  ARGS accum 1 +1)
atomik_cli_test(number.overflow EXIT 2 REGEX "DELTA: '18446744073709551616' overflows 64 bits"
  ARGS accum 1 18446744073709551616)
atomik_cli_test(number.addr_too_large EXIT 2 REGEX "ADDR: '0x100000000' is larger than 4294967295"
  ARGS read 0x100000000)
atomik_cli_test(number.key_octal EXIT 2 REGEX "--key: '010' has a leading zero"
  ARGS fingerprint --key 010 ${CMAKE_CURRENT_SOURCE_DIR}/vectors/fingerprint_abc.txt)
# 0x10 and 16 are the same key: the same fingerprint.
atomik_sh_cli_test(number.key_hex_is_decimal "^exit=0\n$"
  "test \"$(\"$0\" fingerprint --key 0x10 ${CMAKE_CURRENT_SOURCE_DIR}/vectors/fingerprint_abc.txt)\" = \"$(\"$0\" fingerprint --key 16 ${CMAKE_CURRENT_SOURCE_DIR}/vectors/fingerprint_abc.txt)\"")
atomik_cli_test(number.timeout_octal EXIT 2 REGEX "--timeout-ms: '010' has a leading zero"
  ARGS read --timeout-ms 010 1)
atomik_cli_test(number.num_contexts_sign EXIT 2 REGEX "--num-contexts: '-1'"
  ARGS wal import --num-contexts -1 in out)
atomik_cli_test(number.count_hex_garbage EXIT 2 REGEX "--count: '0xg' has 'g'"
  ARGS fingerprint --watch --count 0xg ${CMAKE_CURRENT_SOURCE_DIR}/vectors/fingerprint_abc.txt)
atomik_cli_test(number.port EXIT 2 REGEX "--node: '127.0.0.1:0x-1': port has '-'"
  ARGS status --node 127.0.0.1:0x-1)
atomik_cli_test(number.port_too_large EXIT 2 REGEX "port is larger than 65535"
  ARGS node --listen 127.0.0.1:65536)
atomik_cli_test(node_address_without_port EXIT 2 REGEX "--peer: 'localhost' is not HOST:PORT"
  ARGS node --peer localhost)

# Unknown commands are named, at every level.
atomik_cli_test(unknown_wal_subcommand EXIT 2 REGEX "atomik wal: unknown command 'frob'"
  ARGS wal frob)

# A host that does not resolve is a connection problem: exit 1.
atomik_cli_test(status_unresolvable_host EXIT 1 REGEX "cannot resolve host 'no-such-host.invalid'"
  ARGS status --node no-such-host.invalid:7400)
atomik_cli_test(node_unresolvable_peer EXIT 1 REGEX "cannot resolve host 'no-such-host.invalid'"
  ARGS node --data node-unresolvable-peer --listen 127.0.0.1:0 --peer no-such-host.invalid:7400)

# An empty path is a usage error, never "the default".
atomik_sh_cli_test(node_empty_data "--data: must not be empty.*exit=2"
  "\"$0\" node --data ''")
atomik_sh_cli_test(wal_verify_empty_dir "DIR: must not be empty.*exit=2"
  "\"$0\" wal verify ''")

# `wal dump --quiet` prints only errors: nothing for a clean log.
atomik_sh_cli_test(wal_dump_quiet "^exit=0\n$"
  "\"$0\" wal dump --quiet ${CMAKE_CURRENT_SOURCE_DIR}/vectors/wal_dir_good 2>&1")

# `fingerprint -` reads stdin; `fingerprint --check LIST` verifies a list.
set(_fp_abc ${CMAKE_CURRENT_SOURCE_DIR}/vectors/fingerprint_abc.txt)
set(_fp_hex 01010d00c570358eb5a626aa3c7b72bd86a45916)
atomik_sh_cli_test(fingerprint.stdin "${_fp_hex}  -\nexit=0"
  "\"$0\" fingerprint - < ${_fp_abc}")
set(_fp_lists ${CMAKE_CURRENT_BINARY_DIR}/fingerprint-lists)
file(MAKE_DIRECTORY ${_fp_lists})
file(WRITE ${_fp_lists}/good.list "${_fp_hex}  ${_fp_abc}\n")
file(WRITE ${_fp_lists}/bad.list
  "${_fp_hex}  ${_fp_abc}\n0000000000000000000000000000000000000000  ${_fp_abc}\n")
file(WRITE ${_fp_lists}/malformed.list "${_fp_hex}  ${_fp_abc}\nnot a line\n")
file(WRITE ${_fp_lists}/missing.list "${_fp_hex}  ${_fp_lists}/no-such-file\n")
atomik_sh_cli_test(fingerprint.check_ok "fingerprint_abc.txt: OK\nexit=0"
  "\"$0\" fingerprint --check ${_fp_lists}/good.list")
atomik_sh_cli_test(fingerprint.check_stdin "fingerprint_abc.txt: OK\nexit=0"
  "\"$0\" fingerprint -c - < ${_fp_lists}/good.list")
atomik_sh_cli_test(fingerprint.check_mismatch
  "fingerprint_abc.txt: OK\n[^\n]*fingerprint_abc.txt: FAILED\n.*1 OK, 1 did NOT match.*exit=1"
  "\"$0\" fingerprint --check ${_fp_lists}/bad.list 2>&1")
atomik_sh_cli_test(fingerprint.check_quiet_prints_failures_only
  "^[^\n]*fingerprint_abc.txt: FAILED\nexit=1\n$"
  "\"$0\" fingerprint --check --quiet ${_fp_lists}/bad.list 2>/dev/null")
atomik_sh_cli_test(fingerprint.check_malformed
  "malformed.list:2: not '<40 hex digits>  <file>'.*1 malformed lines.*exit=1"
  "\"$0\" fingerprint --check ${_fp_lists}/malformed.list 2>&1")
atomik_sh_cli_test(fingerprint.check_unreadable
  "no-such-file: FAILED open or read.*1 could not be read.*exit=1"
  "\"$0\" fingerprint --check ${_fp_lists}/missing.list 2>&1")

# --version: version, commit (or "unknown"), compiler, build type.
atomik_sh_cli_test(version_details
  "^atomik 0\\.1\\.0\ncommit ([0-9a-f]+|unknown)\ncompiler [A-Za-z]+ [0-9.]+\nbuild type [A-Za-z]+\nexit=0\n$"
  "\"$0\" --version")

# `atomik bench` on a stand-in stream_bench (tests/cli/fake_bench) whose
# Google Benchmark JSON is known: every target met exits 0 with "0 missing";
# one floor missed (1.02 GB/s against 2 GB/s) exits 1 even though nothing
# is missing; --quick reports it but exits 0. No timing is asserted.
set(_fake_bench ${CMAKE_CURRENT_SOURCE_DIR}/cli/fake_bench)
atomik_sh_cli_test(bench.json_all_met
  "4 figures, 0 missing, 0 failed, 0 below target\nexit=0"
  "ATOMIK_FAKE_BENCH_JSON=${_fake_bench}/met.json \"$0\" bench --workload 'stream apply' --bench-dir ${_fake_bench} 2>&1")
atomik_sh_cli_test(bench.json_floor_missed
  "FrameEncode/4096 +1.02 GB/s.*4 figures, 0 missing, 0 failed, 1 below target\nexit=1"
  "ATOMIK_FAKE_BENCH_JSON=${_fake_bench}/missed.json \"$0\" bench --workload 'stream apply' --bench-dir ${_fake_bench} 2>&1")
atomik_sh_cli_test(bench.json_quick_does_not_enforce
  "1 below target \\(--quick: targets not enforced\\)\nexit=0"
  "ATOMIK_FAKE_BENCH_JSON=${_fake_bench}/missed.json \"$0\" bench --quick --workload 'stream apply' --bench-dir ${_fake_bench} 2>&1")
# Replication figures from replication_bench's JSON counters (a stand-in
# binary: ratio_vs_redis 12.5 met, metrics_ratio_64k 0.90 missed) reach the
# Markdown and the plot's data file, coloured met (0x2ca02c) and missed
# (0xd62728). redis_bench and group_bench are absent there (missing).
atomik_sh_cli_test(bench.replication_counters_in_markdown_and_plot
  "counter .ratio_vs_redis.[^\n]*12\\.50×[^\n]*\n[^\n]*metrics_ratio_16k[^\n]*\n[^\n]*metrics_ratio_64k.[^\n]*0\\.90× \\| ratio>=0\\.95x \\(not met\\) \\|\n\"replication\\\\nratio_vs_redis\" 12\\.5 10 0x2ca02c[^\n]*\n[^\n]*\n\"replication\\\\nmetrics_ratio_64k\" 0\\.9 0\\.95 0xd62728[^\n]*\nexit=0"
  "rm -f bench-repl.md bench-repl.png.dat; \"$0\" bench --quick --workload replication --bench-dir ${_fake_bench} --markdown bench-repl.md --plot bench-repl.png >/dev/null 2>&1; grep counter bench-repl.md && cut -d' ' -f2- bench-repl.png.dat")
# The Python bindings' rows (python/bench.py --json, a short run under
# --quick) reach the plot's data file; without the module the output says
# the Python benchmark was not run, and the test passes on that line. Not
# in sanitizer builds: their module loads only with the sanitizer runtime
# preloaded, which `atomik bench` does not give its python child.
if(NOT ATOMIK_SANITIZE)
  atomik_sh_cli_test(bench.python_rows_in_plot
    "(\"python\\\\nAtomikContext\\.accum\" [0-9.e+]+ 3 0x|\\[python\\] (not built|skipped))"
    "rm -f bench-py.png.dat; \"$0\" bench --quick --workload python --bench-dir ${_fake_bench} --plot bench-py.png 2>&1 | grep '^\\[python\\]'; cat bench-py.png.dat")
endif()
# The real benchmarks, briefly: every figure of one workload is present.
if(ATOMIK_BUILD_BENCHMARKS)
  atomik_sh_cli_test(bench.quick_stream_apply
    "4 figures, 0 missing, 0 failed, [0-9]+ below target \\(--quick[^\n]*\nexit=0"
    "\"$0\" bench --quick --workload 'stream apply' --bench-dir ${PROJECT_BINARY_DIR}/bench 2>&1")
endif()

# The man page renders with NAME, SYNOPSIS and EXIT STATUS (man -l when
# man-db is installed, else the roff source's sections); the bash completion
# parses and completes.
# tools/CMakeLists.txt generates it there when pandoc is found.
find_program(ATOMIK_PANDOC pandoc)
set(ATOMIK_MAN_PAGE ${PROJECT_BINARY_DIR}/tools/atomik.1)
if(ATOMIK_PANDOC)
  atomik_sh_cli_test(man_page "NAME\n.*SYNOPSIS\n.*atomik wal verify.*EXIT STATUS\n.*exit=0"
    "if command -v man >/dev/null; then MANWIDTH=80 man -l ${ATOMIK_MAN_PAGE}; else sed -n 's/^[.]SH //p' ${ATOMIK_MAN_PAGE}; grep -o 'atomik wal verify' ${ATOMIK_MAN_PAGE}; fi")
  set_tests_properties(cli.man_page PROPERTIES ENVIRONMENT MANPAGER=cat)
endif()
add_test(NAME cli.completion
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/completion_test.sh
                 ${PROJECT_SOURCE_DIR}/tools/completion/atomik.bash)
set_tests_properties(cli.completion PROPERTIES LABELS cli TIMEOUT 60
                     PASS_REGULAR_EXPRESSION "completion ok")
