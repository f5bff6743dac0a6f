#!/usr/bin/env bash
# The stages of every recipe whose corpus is in Kaldi data-directory form:
#   <corpus>/train/{wav.scp,utt2spk,...}  <corpus>/test/{...}  <corpus>/trials/test.trials
# Run from a recipe directory (egs/<corpus>/), which holds conf/, data/ and exp/:
#   ../../local/kaldi_corpus_recipe.sh --corpus-dir /path/to/corpus --conf conf/cpu.yaml --tag cpu
# egs/speechocean762/run.sh and egs/mini/run.sh call it with their defaults; any option
# given to them (--stage 6, --overrides "...", --supervised true, ...) is passed on.
# Stages: 0 corpus (check, or synthesise with --synth true), 1 manifests + trials +
# validation trials, 2 augmentation sources, 3 fbank, 4 round 0 (contrastive),
# 5 embed + score (+ untrained log-mel baseline), 6 rounds 1..R, 7 RESULTS.md + plots.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/path.sh"
. "$SPKSSL_ROOT/cmd.sh"

# ---- defaults (every one can be given as --name value; the calling run.sh sets the corpus) ----
stage=0
stop_stage=7
corpus_dir=        # Kaldi data dirs <corpus>/train, <corpus>/test and <corpus>/trials/test.trials
synth=false       # true: stage 0 writes a synthetic corpus into corpus_dir (spkssl synth)
synth_opts=       # options for spkssl synth, e.g. "--num-train-speakers 40 --seed 0"
musan_dir=        # MUSAN root; empty: simulated noise, music and babble
rirs_dir=         # RIRS_NOISES root; empty: simulated room impulse responses
conf=conf/cpu.yaml
overrides=        # space-separated section.key=value config overrides
tag=cpu
supervised=false  # true: train on the true labels (the ceiling pseudo labels aim for)
backends="cosine"
nj=2
ngpu=0
device=auto
val_speakers=25   # training speakers whose labels MEASURE (never train) validation EER
start_round=1
force=false
data_dir=data     # manifests, trials, fbank (relative to this recipe directory)
exp_root=exp      # experiments go to <exp-root>/<tag>
help_message="Usage: $0 --corpus-dir DIR [--synth true --synth-opts '...'] [--stage N] [--stop-stage M] [--conf FILE] [--tag TAG] [--overrides 'a.b=v ...'] [--supervised true] [--nj N] [--ngpu N] [--start-round R] [--data-dir D] [--exp-root D]"
. "$SPKSSL_ROOT/local/parse_options.sh"
. "$SPKSSL_ROOT/local/recipe_lib.sh"

data=$data_dir
manifests=$data/manifests
trials="test=$data/trials/test.trials"
val_trials="val=$data/trials/val.trials"  # over training speakers: choose settings here, not on test
exp=$exp_root/$tag
[ "$supervised" = true ] && exp=$exp_root/${tag}_supervised
train_cuts=$manifests/train_cuts.jsonl.gz

mkdir -p "$exp"
override_args=()
for o in $overrides; do override_args+=(--set "$o"); done
spkssl config resolve "$conf" "$exp/config.yaml" "${override_args[@]}"

[ -n "$corpus_dir" ] || die "--corpus-dir is required"
if stage_enabled 0; then
  if [ "$synth" = true ] && stage_done "$corpus_dir" synth; then
    log "Stage 0: synthetic corpus already in $corpus_dir"
  elif [ "$synth" = true ]; then
    log "Stage 0: synthesising the corpus into $corpus_dir"
    # shellcheck disable=SC2086  # synth_opts holds several options
    spkssl synth \
      "$corpus_dir" \
      $synth_opts
    mark_stage_done "$corpus_dir" synth
  else
    log "Stage 0: corpus is local at $corpus_dir (nothing to download)"
  fi
  [ -f "$corpus_dir/train/wav.scp" ] || die "corpus not found: $corpus_dir/train/wav.scp"
fi

if stage_enabled 1 && ! stage_done "$data" manifests; then
  log "Stage 1: Lhotse manifests and Kaldi-form trials from $corpus_dir"
  for part in train test; do
    spkssl prepare kaldi-dir \
      "$corpus_dir/$part" \
      "$manifests" \
      --prefix "$part" \
      --audio-root "$corpus_dir" \
      --config "$exp/config.yaml"
  done
  spkssl prepare trials \
    "$corpus_dir/trials/test.trials" \
    "$data/trials/test.trials" \
    --cuts "$manifests/test_cuts.jsonl.gz"
  spkssl prepare val-trials \
    "$train_cuts" \
    "$data/trials/val.trials" \
    --num-speakers "$val_speakers"
  mark_stage_done "$data" manifests
fi

if stage_enabled 2 && ! stage_done "$data" aug_sources; then
  log "Stage 2: augmentation sources (MUSAN/RIRS when given, simulated otherwise)"
  source_args=()
  [ -n "$musan_dir" ] && source_args+=(--musan "$musan_dir")
  [ -n "$rirs_dir" ] && source_args+=(--rirs "$rirs_dir")
  spkssl prepare aug-sources \
    "$manifests" \
    "${source_args[@]}" \
    --train-cuts "$train_cuts" \
    --config "$exp/config.yaml"
  mark_stage_done "$data" aug_sources
fi

if stage_enabled 3 && ! stage_done "$data" fbank; then
  log "Stage 3: kaldi-native-fbank features for train and test"
  for part in train test; do
    spkssl compute-fbank \
      "$manifests/${part}_cuts.jsonl.gz" \
      "$manifests/${part}_cuts_fbank.jsonl.gz" \
      --storage-dir "$data/fbank/$part" \
      --config "$exp/config.yaml" \
      --nj "$nj"
  done
  mark_stage_done "$data" fbank
fi

if stage_enabled 4 && ! stage_done "$exp/round0" train; then
  mode=contrastive
  epochs=$(spkssl config get "$exp/config.yaml" train.round0_epochs)
  # the supervised reference is a round whose labels are the true ones: the rounds' budget
  [ "$supervised" = true ] && mode=classification && epochs=0
  log "Stage 4: round 0 ($mode) training in $exp/round0"
  "$SPKSSL_ROOT/local/train.sh" \
    --epochs "$epochs" \
    --mode "$mode" \
    --ngpu "$ngpu" \
    --cmd "$cuda_cmd" \
    "$exp/config.yaml" "$train_cuts" "$manifests" "$exp/round0"
  mark_stage_done "$exp/round0" train
fi

if stage_enabled 5 && ! stage_done "$exp/round0" scored; then
  log "Stage 5: embed train/test with round 0 and score; untrained log-mel baseline"
  for method in logmel-stats model; do
    out=$exp/round0
    [ "$method" = logmel-stats ] && out=$exp_root/logmel_stats
    "$SPKSSL_ROOT/local/embed_score.sh" \
      --method "$method" \
      --train-cuts "$manifests/train_cuts_fbank.jsonl.gz" \
      --eval-cuts "$manifests/test_cuts_fbank.jsonl.gz" \
      --trials "$trials" \
      --train-trials "$val_trials" \
      --backends "$backends" \
      --nj "$nj" \
      --cmd "$extract_cmd" \
      --device "$device" \
      "$exp/config.yaml" "$out"
  done
  mark_stage_done "$exp/round0" scored
fi

if stage_enabled 6 && [ "$supervised" != true ]; then
  num_rounds=$(spkssl config get "$exp/config.yaml" rounds.num_rounds)
  log "Stage 6: rounds $start_round..$num_rounds (cluster → train → embed → score)"
  for r in $(seq "$start_round" "$num_rounds"); do
    "$SPKSSL_ROOT/local/run_round.sh" \
      --train-cuts "$train_cuts" \
      --embed-train-cuts "$manifests/train_cuts_fbank.jsonl.gz" \
      --eval-cuts "$manifests/test_cuts_fbank.jsonl.gz" \
      --aug-dir "$manifests" \
      --trials "$trials" \
      --train-trials "$val_trials" \
      --backends "$backends" \
      --nj "$nj" \
      --ngpu "$ngpu" \
      --device "$device" \
      --train-cmd "$cuda_cmd" \
      --extract-cmd "$extract_cmd" \
      --force "$force" \
      "$exp" "$r"
  done
fi

if stage_enabled 7; then
  log "Stage 7: $exp/RESULTS.md (test) and RESULTS_val.md (validation speakers), with plots"
  for name in test val; do
    out=$exp/RESULTS.md
    [ "$name" = val ] && out=$exp/RESULTS_val.md
    spkssl report \
      --exp-dir "$exp" \
      --trials-name "$name" \
      --trials "$data/trials/$name.trials" \
      --backend "${backends%% *}" \
      --out "$out" \
      --extra-row "untrained log-mel stats=$exp_root/logmel_stats/scores/$name.cosine.json" \
      --extra-row "supervised (true labels)=$exp_root/${tag}_supervised/round0/scores/$name.cosine.json"
  done
fi
