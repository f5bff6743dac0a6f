#!/usr/bin/env bash
# spkssl recipe: iterative self-supervised speaker embeddings on LibriSpeech, through lhotse's recipe.
#
# Trains on LibriSpeech train parts WITHOUT their speaker labels (they only measure the
# pseudo labels and score the validation trials) and tests on test-clean and test-other,
# whose trial lists stage 1 makes (LibriSpeech ships none).  Stages 0-3 prepare the
# corpus with lhotse.recipes.prepare_librispeech; stages 4-7 are the method, the same
# calls in every recipe (docs/architecture.md maps each to its code).
#   ./run.sh --corpus-dir /data/LibriSpeech --musan-dir /data/musan --rirs-dir /data/RIRS_NOISES
#   ./run.sh --corpus-dir /data/LibriSpeech --train-parts train-clean-100 \
#            --overrides "cluster.num_clusters=251" --tag resnet34_100h   # the 100 h part alone
#   ./run.sh --ngpu 8 --stage 4 --stop-stage 4   # round 0 on 8 GPUs of one node (torchrun)
#   ./run.sh --seeds "0 1 2"                     # three repetitions and their mean ± std (exp/<tag>_seeds)
#   ./run.sh --help                              # every option
set -euo pipefail
cd "$(dirname "$0")"
. ../../path.sh
. ../../cmd.sh

# ---- options: each one can be given as --name value ----
stage=0             # first stage to run
stop_stage=7        # last stage to run
corpus_dir=/data/LibriSpeech   # <part>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac + *.trans.txt (openslr.org/12)
train_parts="train-clean-100 train-clean-360 train-other-500"  # trained on without labels, merged into one set
test_parts="test-clean test-other"                             # one trial list each, data/trials/<part>.trials (- as _)
targets_per_speaker=           # test trials: target pairs per speaker; empty: every pair
nontargets_per_target=4        # test trials: random nontarget pairs per target pair
trials_seed=0                  # test trials: seeds the draws
musan_dir=                     # MUSAN root; empty: simulated noise, music and babble
rirs_dir=                      # RIRS_NOISES root; empty: simulated room impulse responses
shar=true                      # stage 3 also writes the training cuts with FLAC audio as Shar shards; training reads them in sequence
shard_size=1000                # cuts per Shar shard
conf=conf/resnet34.yaml  # the recipe's config: package defaults <- this file <- --overrides / --set
overrides=                     # config overrides, e.g. "train.epochs=5 cluster.num_clusters=251"
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
test_sets=
for part in $test_parts; do test_sets="$test_sets ${part//-/_}"; done

if [ "$supervised" = true ]; then
  overrides="$overrides rounds.round0_objective=supervised rounds.num_rounds=0"  # last: the reference has no rounds
fi
set_args=()
for o in $overrides; do set_args+=(--set "$o"); done
for name in $test_sets; do set_args+=(--set "inputs.trials.$name=trials/$name.trials"); done
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
    --set "inputs.embed_cuts=null" \
    --set "inputs.val_trials.val=trials/val.trials" \
    "${seed_args[@]}" \
    "${set_args[@]}"
done
seeds_dir=$exp_root/${tag}_seeds
[ "$supervised" = true ] && seeds_dir=$exp_root/${tag}_supervised_seeds
exp=${runs[0]}  # stages 0-3 read its config: data and features, the same for every seed

if stage_enabled 0; then
  log "Stage 0: checking the corpus at $corpus_dir (no download: get LibriSpeech from openslr.org/12)"
  for part in $train_parts $test_parts; do
    [ -d "$corpus_dir/$part" ] || die "LibriSpeech part not found: $corpus_dir/$part"
  done
fi

if stage_enabled 1 && ! stage_done "$data_dir" manifests; then
  log "Stage 1: Lhotse manifests through lhotse's LibriSpeech recipe; trials over each test part; validation trials over training speakers"
  part_args=()
  for part in $train_parts; do part_args+=(--part "$part"); done
  spkssl prepare lhotse \
    "$data_dir/manifests" \
    --prefix train \
    --recipe librispeech \
    --corpus-dir "$corpus_dir" \
    "${part_args[@]}" \
    --nj "$nj" \
    --config "$exp/config.yaml"
  trial_args=(--nontargets-per-target "$nontargets_per_target" --seed "$trials_seed")
  [ -n "$targets_per_speaker" ] && trial_args+=(--targets-per-speaker "$targets_per_speaker")
  test_cuts=()
  for part in $test_parts; do
    name=${part//-/_}
    spkssl prepare lhotse \
      "$data_dir/manifests" \
      --prefix "$name" \
      --recipe librispeech \
      --corpus-dir "$corpus_dir" \
      --part "$part" \
      --require-speakers true \
      --nj "$nj" \
      --config "$exp/config.yaml"
    spkssl prepare trials \
      --make "$data_dir/trials/$name.trials" \
      --cuts "$data_dir/manifests/${name}_cuts.jsonl.gz" \
      "${trial_args[@]}"
    test_cuts+=(--cuts "$data_dir/manifests/${name}_cuts.jsonl.gz")
  done
  spkssl prepare lhotse \
    "$data_dir/manifests" \
    --prefix test \
    "${test_cuts[@]}" \
    --require-speakers true \
    --config "$exp/config.yaml"
  spkssl prepare val-trials \
    "$data_dir/manifests/train_cuts.jsonl.gz" \
    "$data_dir/trials/val.trials" \
    --config "$exp/config.yaml"
  mark_stage_done "$data_dir" manifests
fi

if stage_enabled 2 && ! stage_done "$data_dir" aug_sources; then
  log "Stage 2: augmentation sources: MUSAN / RIRS_NOISES when given, simulated otherwise"
  spkssl prepare aug-sources \
    "$data_dir/manifests" \
    --musan "$musan_dir" \
    --rirs "$rirs_dir" \
    --train-cuts "$data_dir/manifests/train_cuts.jsonl.gz" \
    --config "$exp/config.yaml"
  mark_stage_done "$data_dir" aug_sources
fi

if stage_enabled 3 && ! stage_done "$data_dir" fbank; then
  log "Stage 3: stored fbank of the test cuts; Shar shards of the training cuts (--shar $shar)"
  spkssl compute-fbank \
    "$data_dir/manifests/test_cuts.jsonl.gz" \
    "$data_dir/manifests/test_cuts_fbank.jsonl.gz" \
    --storage-dir "$data_dir/fbank/test" \
    --nj "$nj" \
    --config "$exp/config.yaml" \
    --force "$force"
  if [ "$shar" = true ]; then
    spkssl prepare shar \
      "$data_dir/manifests/train_cuts.jsonl.gz" \
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
