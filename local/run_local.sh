#!/usr/bin/env bash
# Run Kaldi-style jobs on this machine, several at a time.
#
# Usage: run_local.sh [--num-threads N] [--gpu N] [--mem 4G] [--max-jobs-run M] \
#            [JOB=1:N] log/name.JOB.log command args ... JOB ...
#
# JOB (any identifier) is replaced by the job index in the log path and in the
# command. Each job's log gets the command line, start time, run time and exit
# code. Failed jobs are listed with their logs and the exit status is 1; the
# other jobs still run to the end. Implementation: spkssl/launch/local.py.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="${root}${PYTHONPATH:+:${PYTHONPATH}}"
exec "${SPKSSL_PYTHON:-python3}" -m spkssl.launch.local "$@"
