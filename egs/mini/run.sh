#!/usr/bin/env bash
# spkssl recipe "mini": the whole method on a synthetic corpus, in minutes on 2 CPU cores.
#
# Stage 0 synthesises speakers with stable voices (F0, vocal-tract length, tilt,
# breathiness) and varied content, channel and noise, as Kaldi data dirs; stages 1-3
# turn them into Lhotse manifests, trials, augmentation sources and fbank; stages 4-7
# are the method, the same calls in every recipe (docs/architecture.md maps each to its code).
#   ./run.sh                                   # every stage
#   ./run.sh --overrides "synth.num_train_speakers=80 synth.seed=1" --corpus-dir data/synth80 --tag mini80
#   ./run.sh --supervised true                 # reference: round 0 on the TRUE labels
#   ./run.sh --seeds "0 1 2"                   # three repetitions and their mean ± std (exp/<tag>_seeds)
#   ./run.sh --help                            # every option
set -euo pipefail
cd "$(dirname "$0")"
. ../../path.sh
. ../../cmd.sh

# ---- options: each one can be given as --name value ----
stage=0             # first stage to run
stop_stage=7        # last stage to run
corpus_dir=data/synth  # stage 0 writes the Kaldi data dirs train/, test/ and trials/test.trials here
conf=conf/mini.yaml # the recipe's config: package defaults <- this file <- --overrides / --set
overrides=          # config overrides, e.g. "train.epochs=2 rounds.num_rounds=1"
tag=mini            # experiment name: exp/<tag>
supervised=false    # true: the reference, round 0 trained on the TRUE labels, in exp/<tag>_supervised
seeds=              # e.g. "0 1 2": one experiment per repetition seed S, exp/<tag>_seed<S> (train.seed and cluster.seed + S); stage 7 adds their mean ± std in exp/<tag>_seeds
nj=2                # parallel jobs for fbank and extraction
ngpu=0              # workers per node: 0: one CPU worker; 1: one GPU; G > 1: DDP over G GPUs
nodes=1             # nodes, one torchrun agent each (c10d rendezvous): through Slurm with SPKSSL_LAUNCHER=slurm, else on this machine
max_restarts=0      # times torchrun restarts lost workers (they resume from the newest checkpoint)
start_round=1       # first pseudo-label round of stage 6
force=false         # true: redo the stages that run, even when finished
data_dir=data       # manifests, trials, fbank
exp_root=exp        # experiments go to <exp-root>/<tag>
. parse_options.sh
. recipe_lib.sh

if [ "$supervised" = true ]; then
  overrides="$overrides rounds.round0_objective=supervised rounds.num_rounds=0"  # last: the reference has no rounds
fi
set_args=()
for o in $overrides; do set_args+=(--set "$o"); done
# One experiment, or one per repetition seed (--seeds), each with its resolved config.
runs=()
for seed in ${seeds:-none}; do
  exp=$exp_root/$tag
  seed_args=()
  if [ "$seed" != none ]; then
    exp=${exp}_seed$seed
    seed_args=(--seed "$seed")
  fi
  if [ "$supervised" = true ]; then
    exp=${exp}_supervised
  fi
  runs+=("$exp")
  lock_experiment "$exp"  # one run per experiment folder: a second one stops, naming this one
  spkssl config resolve \
    "$conf" \
    "$exp/config.yaml" \
    --set "inputs.data_dir=$data_dir" \
    "${seed_args[@]}" \
    "${set_args[@]}"
done
seeds_dir=$exp_root/${tag}_seeds
[ "$supervised" = true ] && seeds_dir=$exp_root/${tag}_supervised_seeds
exp=${runs[0]}  # stages 0-3 read its config: data and features, the same for every seed

if stage_enabled 0 && ! stage_done "$corpus_dir" synth; then
  log "Stage 0: synthesising the corpus (config section synth) into $corpus_dir"
  spkssl synth \
    "$corpus_dir" \
    --config "$exp/config.yaml"
  mark_stage_done "$corpus_dir" synth
fi

if stage_enabled 1 && ! stage_done "$data_dir" manifests; then
  log "Stage 1: Lhotse manifests and trials from $corpus_dir; validation trials over training speakers"
  for part in train test; do
    spkssl prepare kaldi-dir \
      "$corpus_dir/$part" \
      "$data_dir/manifests" \
      --prefix "$part" \
      --audio-root "$corpus_dir" \
      --config "$exp/config.yaml"
  done
  spkssl prepare trials \
    "$corpus_dir/trials/test.trials" \
    "$data_dir/trials/test.trials" \
    --cuts "$data_dir/manifests/test_cuts.jsonl.gz"
  spkssl prepare val-trials \
    "$data_dir/manifests/train_cuts.jsonl.gz" \
    "$data_dir/trials/val.trials" \
    --config "$exp/config.yaml"
  mark_stage_done "$data_dir" manifests
fi

if stage_enabled 2 && ! stage_done "$data_dir" aug_sources; then
  log "Stage 2: simulated augmentation sources: coloured noise, tone music, babble of training utterances, RIRs"
  spkssl prepare aug-sources \
    "$data_dir/manifests" \
    --train-cuts "$data_dir/manifests/train_cuts.jsonl.gz" \
    --config "$exp/config.yaml"
  mark_stage_done "$data_dir" aug_sources
fi

if stage_enabled 3 && ! stage_done "$data_dir" fbank; then
  log "Stage 3: kaldi-native-fbank features of the train and test cuts, stored through Lhotse"
  for part in train test; do
    spkssl compute-fbank \
      "$data_dir/manifests/${part}_cuts.jsonl.gz" \
      "$data_dir/manifests/${part}_cuts_fbank.jsonl.gz" \
      --storage-dir "$data_dir/fbank/$part" \
      --nj "$nj" \
      --config "$exp/config.yaml" \
      --force "$force"
  done
  mark_stage_done "$data_dir" fbank
fi

# ==== method stages 4-7: the same calls in every recipe (tests/recipes/test_recipe_shape.py) ====
# Each command reads $exp/config.yaml; spkssl/experiment.py decides what round r trains on.
# The stages run for each experiment of $runs in turn: one, or one per --seeds repetition.

for exp in "${runs[@]}"; do
  if stage_enabled 4 && ! stage_done "$exp/round0" train; then
    log "Stage 4: round 0 (rounds.round0_objective) into $exp/round0; log: $exp/round0/log/train.log"
    $cuda_cmd --nodes "$nodes" "$exp/round0/log/train.log" \
      spkssl train \
        --exp "$exp" \
        --round 0 \
        --ngpu "$ngpu" \
        --nodes "$nodes" \
        --max-restarts "$max_restarts" \
        --force "$force"
    mark_stage_done "$exp/round0" train
  fi

  if stage_enabled 5 && ! stage_done "$exp/round0" scored; then
    log "Stage 5: embed the training and test cuts with the log-mel baseline and round 0; score every trial list"
    for system in baseline round0; do
      spkssl extract \
        --exp "$exp" \
        --system "$system" \
        --nj "$nj" \
        --cmd "$extract_cmd" \
        --force "$force"
      spkssl score \
        --exp "$exp" \
        --system "$system"
    done
    mark_stage_done "$exp/round0" scored
  fi

  if stage_enabled 6; then
    for r in $(seq "$start_round" "$(spkssl config get "$exp/config.yaml" rounds.num_rounds)"); do
      if stage_done "$exp/round$r" round; then
        log "Stage 6: round $r already finished ($exp/round$r/.round.done)"
        continue
      fi
      log "Stage 6: round $r: cluster round $((r - 1)) embeddings into pseudo speakers, train on them, embed, score"
      spkssl cluster \
        --exp "$exp" \
        --round "$r" \
        --force "$force"
      $cuda_cmd --nodes "$nodes" "$exp/round$r/log/train.log" \
        spkssl train \
          --exp "$exp" \
          --round "$r" \
          --ngpu "$ngpu" \
          --nodes "$nodes" \
          --max-restarts "$max_restarts" \
          --force "$force"
      spkssl extract \
        --exp "$exp" \
        --system "round$r" \
        --nj "$nj" \
        --cmd "$extract_cmd" \
        --force "$force"
      spkssl score \
        --exp "$exp" \
        --system "round$r"
      mark_stage_done "$exp/round$r" round
    done
  fi

  if stage_enabled 7; then
    log "Stage 7: $exp/RESULTS*.md and plots over every round"
    spkssl report \
      --exp "$exp" \
      --reference "supervised (true labels)=${exp}_supervised" \
      --force "$force"
  fi
done

if stage_enabled 7 && [ "${#runs[@]}" -gt 1 ]; then
  log "Stage 7: mean ± std over ${runs[*]} into $seeds_dir"
  report_args=()
  for exp in "${runs[@]}"; do
    report_args+=(--exp "$exp" --reference "supervised (true labels)=${exp}_supervised")
  done
  spkssl report \
    "${report_args[@]}" \
    --out-dir "$seeds_dir" \
    --force "$force"
fi
