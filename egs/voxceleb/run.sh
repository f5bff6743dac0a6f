#!/usr/bin/env bash
# spkssl flagship recipe: iterative self-supervised speaker embeddings on VoxCeleb.
#
# Trains on VoxCeleb2 dev WITHOUT speaker labels (contrastive round 0, then k-means
# pseudo labels and AAM classification rounds), tests on VoxCeleb1-O (and -E/-H when
# their lists are given).  Stages 0-3 prepare the corpora; stages 4-7 are the method,
# the same calls in every recipe (docs/architecture.md maps each to its code).
#   ./run.sh --vox1-dir /data/voxceleb1 --vox2-dir /data/voxceleb2 \
#            --musan-dir /data/musan --rirs-dir /data/RIRS_NOISES
#   ./run.sh --ngpu 8 --stage 4 --stop-stage 4   # round 0 on 8 GPUs of one node (torchrun)
#   ./run.sh --stage 6 --start-round 3           # continue from round 3
#   ./run.sh --conf conf/resnet34_dino.yaml --tag resnet34_dino   # DINO round 0, loss-gated rounds
#   ./run.sh --seeds "0 1 2"                     # three repetitions and their mean ± std (exp/<tag>_seeds)
#   ./run.sh --help                              # every option
set -euo pipefail
cd "$(dirname "$0")"
. ../../path.sh
. ../../cmd.sh

# ---- options: each one can be given as --name value ----
stage=0             # first stage to run
stop_stage=7        # last stage to run
vox1_dir=/data/voxceleb1       # wav/idNNNNN/<video>/NNNNN.wav + vox1_meta.csv
vox2_dir=/data/voxceleb2       # dev/aac/idNNNNN/<video>/NNNNN.m4a + vox2_meta.csv
vox1_o_trials=$vox1_dir/veri_test2.txt      # official cleaned Vox1-O list
vox1_e_trials=                               # e.g. $vox1_dir/list_test_all2.txt (needs all of VoxCeleb1)
vox1_h_trials=                               # e.g. $vox1_dir/list_test_hard2.txt
musan_dir=                     # MUSAN root; empty: simulated noise, music and babble
rirs_dir=                      # RIRS_NOISES root; empty: simulated room impulse responses
vox2_flac_dir=                 # if set: convert VoxCeleb2 m4a to FLAC here once (stage 1) and train on it
shar=true                      # stage 3 also writes the training cuts with FLAC audio as Shar shards; training reads them in sequence
shard_size=1000                # cuts per Shar shard
conf=conf/resnet34.yaml  # the recipe's config: package defaults <- this file <- --overrides / --set
overrides=                     # config overrides, e.g. "train.epochs=5 cluster.num_clusters=6000"
tag=resnet34        # experiment name: exp/<tag>
supervised=false               # true: the reference, round 0 trained on the TRUE labels, in exp/<tag>_supervised
seeds=                         # e.g. "0 1 2": one experiment per repetition seed S, exp/<tag>_seed<S> (train.seed and cluster.seed + S); stage 7 adds their mean ± std in exp/<tag>_seeds
nj=16                          # parallel jobs for manifests, fbank and extraction
ngpu=1                         # workers per node: 0: one CPU worker; 1: one GPU; G > 1: DDP over G GPUs
nodes=1                        # nodes, one torchrun agent each (c10d rendezvous): through Slurm with SPKSSL_LAUNCHER=slurm, else on this machine
max_restarts=0                 # times torchrun restarts lost workers (they resume from the newest checkpoint)
start_round=1                  # first pseudo-label round of stage 6
force=false                    # true: redo the stages that run, even when finished
data_dir=data                  # manifests, trials, fbank
exp_root=exp                   # experiments go to <exp-root>/<tag>
. parse_options.sh
. recipe_lib.sh

# Where stages 1-3 put the corpus; the method stages read it from $exp/config.yaml (inputs).
train_cuts=vox2_dev_cuts.jsonl.gz
[ -n "$vox2_flac_dir" ] && train_cuts=vox2_dev_flac_cuts.jsonl.gz
eval_cuts=vox1_test_cuts.jsonl.gz
[ -n "$vox1_e_trials$vox1_h_trials" ] && eval_cuts=vox1_all_cuts.jsonl.gz
trial_lists=vox1_o
[ -n "$vox1_e_trials" ] && trial_lists="$trial_lists vox1_e"
[ -n "$vox1_h_trials" ] && trial_lists="$trial_lists vox1_h"

if [ "$supervised" = true ]; then
  overrides="$overrides rounds.round0_objective=supervised rounds.num_rounds=0"  # last: the reference has no rounds
fi
set_args=()
for o in $overrides; do set_args+=(--set "$o"); done
for name in $trial_lists; do set_args+=(--set "inputs.trials.$name=trials/$name.trials"); done
[ "$shar" = true ] && set_args+=(--set "inputs.train_shar=shar/train")
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
    --set "inputs.train_cuts=manifests/$train_cuts" \
    --set "inputs.embed_cuts=null" \
    --set "inputs.eval_cuts=manifests/${eval_cuts%.jsonl.gz}_fbank.jsonl.gz" \
    "${seed_args[@]}" \
    "${set_args[@]}"
done
seeds_dir=$exp_root/${tag}_seeds
[ "$supervised" = true ] && seeds_dir=$exp_root/${tag}_supervised_seeds
exp=${runs[0]}  # stages 0-3 read its config: data and features, the same for every seed

if stage_enabled 0; then
  log "Stage 0: checking corpora (no download: get VoxCeleb from its official site)"
  [ -d "$vox1_dir/wav" ] || die "VoxCeleb1 not found: $vox1_dir/wav"
  [ -d "$vox2_dir" ] || die "VoxCeleb2 not found: $vox2_dir"
  [ -f "$vox1_o_trials" ] || die "Vox1-O trial list not found: $vox1_o_trials"
fi

if stage_enabled 1 && ! stage_done "$data_dir" manifests; then
  log "Stage 1: Lhotse manifests for VoxCeleb1/2 and Kaldi-form trials"
  spkssl prepare voxceleb \
    "$data_dir/manifests" \
    --vox1 "$vox1_dir" \
    --vox2 "$vox2_dir" \
    --nj "$nj" \
    --config "$exp/config.yaml"
  if [ -n "$vox2_flac_dir" ]; then
    spkssl prepare convert-audio \
      "$data_dir/manifests/vox2_dev_cuts.jsonl.gz" \
      "$data_dir/manifests/vox2_dev_flac_cuts.jsonl.gz" \
      --audio-dir "$vox2_flac_dir" \
      --nj "$nj"
  fi
  for name in $trial_lists; do
    list_var=${name}_trials
    spkssl prepare trials \
      "${!list_var}" \
      "$data_dir/trials/$name.trials" \
      --cuts "$data_dir/manifests/$eval_cuts"
  done
  mark_stage_done "$data_dir" manifests
fi

if stage_enabled 2 && ! stage_done "$data_dir" aug_sources; then
  log "Stage 2: augmentation sources: MUSAN / RIRS_NOISES when given, simulated otherwise"
  spkssl prepare aug-sources \
    "$data_dir/manifests" \
    --musan "$musan_dir" \
    --rirs "$rirs_dir" \
    --train-cuts "$data_dir/manifests/$train_cuts" \
    --config "$exp/config.yaml"
  mark_stage_done "$data_dir" aug_sources
fi

if stage_enabled 3 && ! stage_done "$data_dir" fbank; then
  log "Stage 3: stored fbank of the evaluation cuts; Shar shards of the training cuts (--shar $shar)"
  spkssl compute-fbank \
    "$data_dir/manifests/$eval_cuts" \
    "$data_dir/manifests/${eval_cuts%.jsonl.gz}_fbank.jsonl.gz" \
    --storage-dir "$data_dir/fbank/eval" \
    --nj "$nj" \
    --config "$exp/config.yaml" \
    --force "$force"
  if [ "$shar" = true ]; then
    spkssl prepare shar \
      "$data_dir/manifests/$train_cuts" \
      "$data_dir/shar/train" \
      --shard-size "$shard_size" \
      --nj "$nj" \
      --force "$force"
  fi
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
