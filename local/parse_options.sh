#!/usr/bin/env bash
# Command-line options for recipes: source this AFTER defining the defaults.
#
#   stage=0
#   stop_stage=100
#   nj=4
#   help_message="Usage: $0 [--stage N] [--stop-stage M] [--nj N] <data-dir>"
#   . "$SPKSSL_ROOT/local/parse_options.sh"     # no arguments: it shifts "$@"
#   # "$@" now holds only the positional arguments
#
# Accepted forms: --stop-stage 5, --stop_stage 5, --stop-stage=5. Dashes map to
# underscores; an option is accepted only when the recipe defined that variable
# before sourcing (anything else is an error naming the option). When the
# current value is true/false, the new one must be true/false too. Option parsing
# stops at the first argument that does not start with "--", or after "--".
# --help (or -h) prints $help_message (or the settable variables with their
# current values and the meaning their line in the recipe gives after "#") and exits 0.
# --set a.b=v (repeatable) appends a config override to $overrides, as every spkssl command
# takes --set; `--overrides "a.b=v c.d=w"` is the same. Works under `set -euo pipefail`.

__po_usage() {
  if [ -n "${help_message:-}" ]; then
    printf '%s\n' "$help_message"
    return
  fi
  printf 'Usage: %s [options] [arguments]\nOptions (current values):\n' "$0"
  local name
  for name in $(compgen -v | LC_ALL=C sort); do
    # recipe variables: lower-case, not exported, not this file's own helpers
    case "$name" in
      help_message) continue ;;
      [a-z]*) ;;
      *) continue ;;
    esac
    case "$(__po_flags "$name")" in
      *[xaA]*) continue ;;
    esac
    local meaning
    meaning=$(sed -n "s/^${name}=[^#]*#[[:space:]]*//p" "$0" 2>/dev/null | head -n 1)
    printf '  --%-14s %-22s %s\n' "${name//_/-}" "${!name:-\"\"}" "$meaning"
  done
  printf '  --%-14s %-22s %s\n' "set" "a.b=v" "a config override (repeatable; joins --overrides)"
}

__po_flags() {  # the attribute letters of variable $1, e.g. "-" or "x" or "a"
  local decl
  decl=$(declare -p "$1" 2>/dev/null) || return 0
  decl=${decl#declare -}
  printf '%s' "${decl%% *}"
}

__po_die() {
  echo "$0: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      __po_usage
      exit 0
      ;;
    --)
      shift
      break
      ;;
    --*=*)
      __po_name=${1%%=*}
      __po_value=${1#*=}
      shift
      ;;
    --?*)
      __po_name=$1
      [ $# -ge 2 ] || __po_die "option $1 needs a value"
      __po_value=$2
      shift 2
      ;;
    *)
      break
      ;;
  esac
  __po_var=${__po_name#--}
  __po_var=${__po_var//-/_}
  if [ "$__po_var" = set ]; then  # --set a.b=v: one more config override, as the spkssl commands take it
    declare -p overrides >/dev/null 2>&1 || __po_die "option --set: this recipe takes no config overrides"
    [[ $__po_value == *=* ]] || __po_die "option --set takes a.b=value, got '$__po_value'"
    overrides="${overrides:+$overrides }$__po_value"
    continue
  fi
  if ! [[ $__po_var =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    __po_die "invalid option name '$__po_name'"
  fi
  if ! declare -p "$__po_var" >/dev/null 2>&1; then
    __po_die "unknown option '$__po_name' (this recipe defines no variable '$__po_var'; see --help)"
  fi
  case "$(__po_flags "$__po_var")" in
    *[aA]*) __po_die "option '$__po_name' names an array, which cannot be set from the command line" ;;
  esac
  case "${!__po_var}" in
    true|false)
      case "$__po_value" in
        true|false) ;;
        *) __po_die "option '$__po_name' takes true or false, got '$__po_value'" ;;
      esac
      ;;
  esac
  printf -v "$__po_var" '%s' "$__po_value"
done
unset -v __po_name __po_value __po_var
unset -f __po_usage __po_die __po_flags
true
