# Environment for spkssl recipes. Source it from a recipe directory:
#   . ../../path.sh
# It sets SPKSSL_ROOT (this file's directory, wherever it is sourced from), puts
# the repository on PYTHONPATH (so `python -m spkssl...` uses this checkout) and
# local/ on PATH (run_local.sh, run_slurm.sh, ...), exports LC_ALL=C (stable sort
# and number formats, as Kaldi tools expect) and PYTHONUNBUFFERED=1 (logs appear
# as they are written). Sourcing it twice adds nothing twice. Safe under set -u.

SPKSSL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export SPKSSL_ROOT

case ":${PYTHONPATH:-}:" in
  *":${SPKSSL_ROOT}:"*) ;;
  *) export PYTHONPATH="${SPKSSL_ROOT}${PYTHONPATH:+:${PYTHONPATH}}" ;;
esac

case ":${PATH}:" in
  *":${SPKSSL_ROOT}/local:"*) ;;
  *) export PATH="${SPKSSL_ROOT}/local:${PATH}" ;;
esac

export LC_ALL=C
export PYTHONUNBUFFERED=1
