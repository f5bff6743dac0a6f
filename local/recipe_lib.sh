#!/usr/bin/env bash
# Helpers for recipes: logging and idempotent stages. Source it after
# parse_options.sh:
#
#   . "$SPKSSL_ROOT/local/recipe_lib.sh"
#   if stage_enabled 3 && ! stage_done data/fbank fbank; then
#     log "Stage 3: fbank"
#     ... || die "fbank failed"
#     mark_stage_done data/fbank fbank
#   fi
#
# log MESSAGE...             "YYYY-mm-dd HH:MM:SS (file:line:function) MESSAGE" on stderr
# die MESSAGE...             log the message, then exit 1
# stage_enabled N            true when $stage <= N <= $stop_stage
# stage_done DIR NAME        true when DIR/.NAME.done exists, unless force=true
# mark_stage_done DIR NAME   create DIR/.NAME.done (atomically; holds the finish time)
# lock_experiment DIR        mkdir -p DIR and hold DIR/.lock until this script exits; a second
#                            recipe on DIR stops at once, naming the holder (pid, host, start);
#                            the lock of a killed recipe is freed by the kernel and taken over
# Works under `set -euo pipefail`.
#
# Sourcing it exports SPKSSL_DIE_WITH_PARENT=$$ (this recipe's pid): every spkssl command and
# job launcher the recipe starts dies with its parent, so `kill -9` of run.sh leaves nothing
# running (spkssl/launch/lifetime.py).
export SPKSSL_DIE_WITH_PARENT=$$

# _recipe_lib_say DEPTH MESSAGE...: the log line for the caller DEPTH frames up.
_recipe_lib_say() {
  local depth=$1
  shift
  local file=${BASH_SOURCE[depth + 1]:-${0}}
  local line=${BASH_LINENO[depth]:-0}
  local func=${FUNCNAME[depth + 1]:-main}
  printf '%s (%s:%s:%s) %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${file##*/}" "$line" "$func" "$*" >&2
}

log() {
  _recipe_lib_say 1 "$@"
}

die() {
  _recipe_lib_say 1 "ERROR: $*"
  exit 1
}

_recipe_lib_int() {  # _recipe_lib_int NAME VALUE: die unless VALUE is an integer
  [[ $2 =~ ^-?[0-9]+$ ]] || _recipe_lib_say 2 "ERROR: $1 must be an integer, got '$2'"
  [[ $2 =~ ^-?[0-9]+$ ]] || exit 1
}

stage_enabled() {
  [ $# -eq 1 ] || die "usage: stage_enabled N"
  _recipe_lib_int "stage number" "$1"
  _recipe_lib_int "stage (set it before sourcing parse_options.sh)" "${stage:-}"
  _recipe_lib_int "stop_stage (set it before sourcing parse_options.sh)" "${stop_stage:-}"
  [ "$stage" -le "$1" ] && [ "$1" -le "$stop_stage" ]
}

_recipe_lib_marker() {  # _recipe_lib_marker DIR NAME: print the marker path
  [ $# -eq 2 ] && [ -n "$1" ] && [ -n "$2" ] || { _recipe_lib_say 2 "ERROR: usage: ${FUNCNAME[1]} DIR NAME"; exit 1; }
  case "$2" in
    */*) _recipe_lib_say 2 "ERROR: stage name '$2' must not contain '/'"; exit 1 ;;
  esac
  printf '%s/.%s.done' "${1%/}" "$2"
}

stage_done() {
  local marker
  marker=$(_recipe_lib_marker "$@") || exit 1
  case "${force:-false}" in
    true) return 1 ;;
    false) ;;
    *) die "force must be true or false, got '${force}'" ;;
  esac
  [ -f "$marker" ]
}

mark_stage_done() {
  local marker
  marker=$(_recipe_lib_marker "$@") || exit 1
  mkdir -p "$1"
  date '+%Y-%m-%d %H:%M:%S' > "$marker.tmp.$$"
  mv -f "$marker.tmp.$$" "$marker"
}

_recipe_lib_locks=()
lock_experiment() {
  [ $# -eq 1 ] && [ -n "$1" ] || die "usage: lock_experiment DIR"
  mkdir -p "$1"
  local lock=${1%/}/.lock fd
  exec {fd}<>"$lock"
  # flock on a descriptor this shell keeps: held until the recipe exits, however it exits
  "${SPKSSL_PYTHON:-python3}" -m spkssl.utils.lock "$fd" "$lock" "$$" || exit 1
  _recipe_lib_locks+=("$lock")
  trap 'for l in "${_recipe_lib_locks[@]}"; do : > "$l"; done' EXIT  # a clean exit leaves no holder's name behind
}
