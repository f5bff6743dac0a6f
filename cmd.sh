# Job launchers for spkssl recipes, Kaldi-style. Source after path.sh:
#   . ../../path.sh && . ../../cmd.sh
# and call them as
#   $train_cmd [--num-threads N] [--gpu N] [--mem 4G] [--max-jobs-run M] \
#       JOB=1:N exp/log/name.JOB.log command args ... JOB ...
# (JOB may be any name; without JOB=a:b a single job runs). Every job's log holds
# the command line, start time, run time and exit code; failed jobs are named
# with their logs and the launcher exits non-zero.
#
#   train_cmd    CPU work: data preparation, clustering, scoring
#   cuda_cmd     GPU work: training (adds --gpu 1)
#   extract_cmd  feature and embedding extraction
#
# Switch with SPKSSL_LAUNCHER (default: local):
#   local  run on this machine, at most min(#jobs, #CPUs) jobs at a time
#          (local/run_local.sh; --gpu and --mem reserve nothing here)
#   slurm  one sbatch array job per call, blocking until it ends
#          (local/run_slurm.sh). Partitions and extra sbatch options:
#            SPKSSL_SLURM_PARTITION      CPU partition (default: cluster default)
#            SPKSSL_SLURM_GPU_PARTITION  GPU partition (default: SPKSSL_SLURM_PARTITION)
#            SPKSSL_SBATCH_OPTS          e.g. "--time=24:00:00 --account=myproj"
#            SPKSSL_SLURM_GPUS           GPUs per training job (default 1; 0 on a CPU-only cluster)
#   e.g.  SPKSSL_LAUNCHER=slurm SPKSSL_SLURM_GPU_PARTITION=gpu ./run.sh --stage 4
# Or edit the lines below directly, e.g.
#   export cuda_cmd="run_slurm.sh --partition gpu --gpu 1 --mem 32G"

case "${SPKSSL_LAUNCHER:-local}" in
  local)
    export train_cmd="run_local.sh"
    export cuda_cmd="run_local.sh --gpu 1"
    export extract_cmd="run_local.sh"
    ;;
  slurm)
    # Partitions go through the environment (read by run_slurm.sh), so the
    # command strings stay free of quoting problems.
    export train_cmd="run_slurm.sh --mem 4G"
    export cuda_cmd="run_slurm.sh --gpu ${SPKSSL_SLURM_GPUS:-1} --num-threads 4 --mem 32G"
    export extract_cmd="run_slurm.sh --mem 8G"
    if [ -n "${SPKSSL_SLURM_GPU_PARTITION:-}" ]; then
      cuda_cmd="$cuda_cmd --partition ${SPKSSL_SLURM_GPU_PARTITION}"
    fi
    ;;
  *)
    echo "cmd.sh: SPKSSL_LAUNCHER must be 'local' or 'slurm', got '${SPKSSL_LAUNCHER}'" >&2
    return 1 2>/dev/null || exit 1
    ;;
esac
