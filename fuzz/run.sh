#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target of a `fuzz` preset build for a bounded time
# (docs/fuzzing.md). Used by `make fuzz FUZZ_SECONDS=N`.
#
#   fuzz/run.sh BUILD_DIR TOTAL_SECONDS
#
# For each target T in fuzz/corpus/:
#   1. replay: run T once over fuzz/corpus/T/* and fuzz/regress/T/* (no
#      fuzzing): every seed and every past finding must pass;
#   2. fuzz: TOTAL_SECONDS / (number of targets) seconds, from a working
#      corpus BUILD_DIR/corpus/T/ (the seeds copied in; new inputs stay
#      there, never in the repository; it persists between runs).
# Findings go to BUILD_DIR/artifacts/T-crash-<sha1> (and leak-, timeout-,
# oom-); logs to BUILD_DIR/logs/T.log. Prints each target's exec/s and
# coverage; exits 1 if any target failed, after running all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/run.sh BUILD_DIR TOTAL_SECONDS}
total=${2:?usage: fuzz/run.sh BUILD_DIR TOTAL_SECONDS}

targets=()
for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
n=${#targets[@]}
per=$((total / n))
((per >= 1)) || per=1
mkdir -p "$build/artifacts" "$build/logs"
# halt_on_error: a sanitizer report is a failure, not a warning.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
echo "fuzz: ${n} targets, ${per} s each (total budget ${total} s)"
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  log="$build/logs/$t.log"
  if [[ ! -x $bin ]]; then
    echo "fuzz: $bin missing (build the fuzz preset)"; failed+=("$t"); continue
  fi
  seeds=(fuzz/corpus/"$t"/*)
  [[ -d fuzz/regress/$t ]] && seeds+=(fuzz/regress/"$t"/*)
  if ! "$bin" "${seeds[@]}" >"$log.replay" 2>&1; then
    echo "fuzz: $t FAILED on a checked-in input (replay; log $log.replay):"
    grep -E "invariant failed|ERROR|runtime error|Running:" "$log.replay" |
      tail -8
    failed+=("$t")
    continue
  fi
  work="$build/corpus/$t"
  mkdir -p "$work"
  cp -n "${seeds[@]}" "$work/"
  rc=0
  "$bin" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
    "$work" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  echo "fuzz: $t: ${#seeds[@]} seeds replayed; ${execs:-?} runs, ${rate:-?} exec/s"
  echo "      $last"
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (exit $rc; log $log):"
    grep -E -A3 "invariant failed|ERROR|runtime error" "$log" |
      grep -v "Test unit written" | head -20
    grep -E "Test unit written to" "$log" || true
    failed+=("$t")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: all ${n} targets passed"
