# SPDX-License-Identifier: Apache-2.0
# bash completion for atomik(1): commands, subcommands and options
# (docs/cli.md). Static: keep it in step with tools/cli/*.cpp; the test
# cli.completion checks that it parses and completes.

_atomik() {
  local cur prev cmd sub i
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local commands="demo bench fingerprint node accum read swap status redis-node wal checkpoint"
  cmd=""
  sub=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      -*) ;;
      *)
        if [[ -z "$cmd" ]]; then
          cmd="${COMP_WORDS[i]}"
        elif [[ -z "$sub" && ( "$cmd" == wal || "$cmd" == checkpoint ) ]]; then
          sub="${COMP_WORDS[i]}"
        fi
        ;;
    esac
  done

  # Options that take a file or directory.
  case "$prev" in
    --data|--bench-dir)
      COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
    --key-file|--redis-password-file|--markdown|--plot)
      COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --sync)
      COMPREPLY=($(compgen -W "every group none" -- "$cur")); return 0 ;;
    --group)
      COMPREPLY=($(compgen -W "xor add" -- "$cur")); return 0 ;;
    --log-level)
      COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")); return 0 ;;
    --log-format)
      COMPREPLY=($(compgen -W "text json" -- "$cur")); return 0 ;;
    --workload)
      COMPREPLY=($(compgen -W "'batch accum' fan-in fingerprint 'stream apply' WAL replication python" -- "$cur")); return 0 ;;
  esac

  local client="--node --key-file --timeout-ms --help"
  local opts=""
  case "$cmd" in
    "") opts="$commands --help --version" ;;
    demo) opts="--help" ;;
    bench) opts="--bench-dir --workload --markdown --plot --min-time --quick --help" ;;
    fingerprint) opts="--chunk-size --key --legacy-width --watch --interval-ms --count -c --check -q --quiet --help" ;;
    node) opts="--data --listen --peer --key-file --insecure-no-key --idle-timeout --max-connections --log-level --log-format --udp --sync-ms --incarnation-timeout-ms --max-origins --sync --metrics --quiet --redis --redis-user --redis-password-file --redis-table --redis-shards --redis-hold --redis-cluster --redis-max-unpublished --redis-snapshot-every-s --help" ;;
    accum|read|swap) opts="$client" ;;
    status) opts="$client --json" ;;
    redis-node) opts="--data --redis --redis-user --redis-password-file --table --shards --hold --cluster --sync --group --width --snapshot-every-s --no-stdin --quiet --log-level --log-format --help" ;;
    wal)
      case "$sub" in
        "") opts="dump verify import --help" ;;
        dump|verify) opts="--strict --quiet --help" ;;
        import) opts="--num-contexts --quiet --help" ;;
      esac ;;
    checkpoint)
      case "$sub" in
        "") opts="verify --help" ;;
        verify) opts="--quiet --help" ;;
      esac ;;
  esac
  # The table's group and width (a line of its own: node's list above is
  # long and often edited).
  [[ "$cmd" == node ]] && opts="$opts --group --width"
  if [[ "$cur" == -* || -z "$cmd" || ( -z "$sub" && ( "$cmd" == wal || "$cmd" == checkpoint ) ) ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _atomik atomik
