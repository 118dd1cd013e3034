#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Checks tools/completion/atomik.bash: it parses (bash -n) and completes a
# command, a subcommand and an option. Usage: completion_test.sh SCRIPT
set -u
script="$1"
bash -n "$script" || { echo "FAIL: bash -n $script"; exit 1; }
# shellcheck source=/dev/null
source "$script"
complete_words() {  # complete_words WORD... : COMPREPLY for the last word
  COMP_WORDS=("$@")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMPREPLY=()
  _atomik
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}
check() {  # check WANT WORD...
  local want="$1"; shift
  local got
  got="$(complete_words "$@")"
  if [[ "$got" != "$want " ]]; then
    echo "FAIL: '$*' completed to '$got', want '$want'"; exit 1
  fi
  echo "ok: '$*' -> $got"
}
check "fingerprint" atomik fing
check "checkpoint" atomik che
check "dump" atomik wal du
check "--quick" atomik bench --qu
check "--check" atomik fingerprint --che
check "--no-stdin" atomik redis-node --no
check "every group none" atomik node --sync ""
check "--metrics" atomik node --met
check "--insecure-no-key" atomik node --ins
check "json text" atomik node --log-format ""
check "--log-level" atomik redis-node --log-l
echo "completion ok"
