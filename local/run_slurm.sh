#!/usr/bin/env bash
# Run Kaldi-style jobs as one Slurm array job and wait for it.
#
# Usage: run_slurm.sh [--partition P] [--sbatch-opts "--time=4:00:00 --account=x"] \
#            [--num-threads N] [--gpu N] [--mem 4G] [--max-jobs-run M] \
#            [JOB=1:N] log/name.JOB.log command args ... JOB ...
#
# Writes the submission script to <log dir>/q/<name>.sh, submits it with
# `sbatch --wait` (array 1-N, at most M tasks at once), then checks every task's
# exit status and names the failed tasks and their logs. The partition and extra
# sbatch options may also come from $SPKSSL_SLURM_PARTITION and
# $SPKSSL_SBATCH_OPTS (the command-line options win). Implementation:
# spkssl/launch/slurm.py.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PYTHONPATH="${root}${PYTHONPATH:+:${PYTHONPATH}}"
exec "${SPKSSL_PYTHON:-python3}" -m spkssl.launch.slurm "$@"
