#!/usr/bin/env bash
# spkssl flagship recipe: iterative self-supervised speaker embeddings on VoxCeleb.
#
# Trains on VoxCeleb2 dev WITHOUT speaker labels (contrastive round 0, then k-means
# pseudo labels and AAM classification rounds), tests on VoxCeleb1-O (and -E/-H when
# their lists are given).  Set the corpus paths below or pass them as options:
#   ./run.sh --vox1-dir /data/voxceleb1 --vox2-dir /data/voxceleb2 \
#            --musan-dir /data/musan --rirs-dir /data/RIRS_NOISES
#   ./run.sh --ngpu 8 --stage 4             # round 0 on 8 GPUs of one node (torchrun)
#   ./run.sh --stage 6 --start-round 3      # redo from round 3
# Stages: 0 check corpora, 1 manifests+trials (+ m4a->flac), 2 augmentation sources,
# 3 fbank (eval set), 4 round 0, 5 embed+score, 6 rounds 1..R, 7 RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")"
. ../../path.sh
. ../../cmd.sh

# ---- defaults (every one can be given as --name value) ----
stage=0
stop_stage=7
vox1_dir=/data/voxceleb1       # wav/idNNNNN/<video>/NNNNN.wav + vox1_meta.csv
vox2_dir=/data/voxceleb2       # dev/aac/idNNNNN/<video>/NNNNN.m4a + vox2_meta.csv
vox1_o_trials=$vox1_dir/veri_test2.txt      # official cleaned Vox1-O list
vox1_e_trials=                               # e.g. $vox1_dir/list_test_all2.txt (needs all of VoxCeleb1)
vox1_h_trials=                               # e.g. $vox1_dir/list_test_hard2.txt
musan_dir=                     # MUSAN root; empty: simulated noise, music and babble
rirs_dir=                      # RIRS_NOISES root; empty: simulated room impulse responses
vox2_flac_dir=                 # if set: convert VoxCeleb2 m4a to FLAC here once (stage 1)
conf=conf/resnet34.yaml
overrides=                     # space-separated section.key=value config overrides
tag=resnet34
backends="cosine"
nj=16
ngpu=1
device=auto
start_round=1
force=false
data_dir=data                  # manifests, trials, fbank (relative to this recipe directory)
exp_root=exp                   # experiments go to <exp-root>/<tag>
help_message="Usage: $0 [--vox1-dir D] [--vox2-dir D] [--vox1-o-trials F] [--vox1-e-trials F] [--vox1-h-trials F] [--musan-dir D] [--rirs-dir D] [--vox2-flac-dir D] [--conf F] [--tag T] [--overrides 'a.b=v'] [--ngpu N] [--nj N] [--data-dir D] [--exp-root D] [--stage N] [--stop-stage M] [--start-round R]"
. "$SPKSSL_ROOT/local/parse_options.sh"
. "$SPKSSL_ROOT/local/recipe_lib.sh"

data=$data_dir
manifests=$data/manifests
exp=$exp_root/$tag
train_cuts=$manifests/vox2_dev_cuts.jsonl.gz
eval_cuts=$manifests/vox1_test_cuts.jsonl.gz
[ -n "$vox1_e_trials$vox1_h_trials" ] && eval_cuts=$manifests/vox1_all_cuts.jsonl.gz
trials="vox1_o=$data/trials/vox1_o.trials"
[ -n "$vox1_e_trials" ] && trials="$trials vox1_e=$data/trials/vox1_e.trials"
[ -n "$vox1_h_trials" ] && trials="$trials vox1_h=$data/trials/vox1_h.trials"
eval_fbank=${eval_cuts%_cuts.jsonl.gz}_cuts_fbank.jsonl.gz

mkdir -p "$exp"
override_args=()
for o in $overrides; do override_args+=(--set "$o"); done
spkssl config resolve "$conf" "$exp/config.yaml" "${override_args[@]}"

if stage_enabled 0; then
  log "Stage 0: checking corpora (no download: get VoxCeleb from its official site)"
  [ -d "$vox1_dir/wav" ] || die "VoxCeleb1 not found: $vox1_dir/wav"
  [ -d "$vox2_dir" ] || die "VoxCeleb2 not found: $vox2_dir"
  [ -f "$vox1_o_trials" ] || die "Vox1-O trial list not found: $vox1_o_trials"
fi

if stage_enabled 1 && ! stage_done "$data" manifests; then
  log "Stage 1: Lhotse manifests for VoxCeleb1/2 and Kaldi-form trials"
  spkssl prepare voxceleb \
    "$manifests" \
    --vox1 "$vox1_dir" \
    --vox2 "$vox2_dir" \
    --num-jobs "$nj" \
    --config "$exp/config.yaml"
  if [ -n "$vox2_flac_dir" ]; then
    spkssl prepare convert-audio \
      "$train_cuts" \
      "$manifests/vox2_dev_flac_cuts.jsonl.gz" \
      --audio-dir "$vox2_flac_dir" \
      --nj "$nj"
  fi
  for item in $trials; do
    name=${item%%=*}
    list_var=${name}_trials
    spkssl prepare trials \
      "${!list_var}" \
      "$data/trials/$name.trials" \
      --cuts "$eval_cuts"
  done
  mark_stage_done "$data" manifests
fi
[ -n "$vox2_flac_dir" ] && train_cuts=$manifests/vox2_dev_flac_cuts.jsonl.gz

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
  log "Stage 3: stored fbank for the evaluation set (training computes fbank on the fly)"
  spkssl compute-fbank \
    "$eval_cuts" \
    "$eval_fbank" \
    --storage-dir "$data/fbank/eval" \
    --config "$exp/config.yaml" \
    --nj "$nj"
  mark_stage_done "$data" fbank
fi

if stage_enabled 4 && ! stage_done "$exp/round0" train; then
  log "Stage 4: round 0 contrastive training on $ngpu GPU(s) in $exp/round0"
  "$SPKSSL_ROOT/local/train.sh" \
    --epochs "$(spkssl config get "$exp/config.yaml" train.round0_epochs)" \
    --mode contrastive \
    --ngpu "$ngpu" \
    --cmd "$cuda_cmd" \
    "$exp/config.yaml" "$train_cuts" "$manifests" "$exp/round0"
  mark_stage_done "$exp/round0" train
fi

if stage_enabled 5 && ! stage_done "$exp/round0" scored; then
  log "Stage 5: embed VoxCeleb2 dev and the evaluation set with round 0; score"
  "$SPKSSL_ROOT/local/embed_score.sh" \
    --train-cuts "$train_cuts" \
    --eval-cuts "$eval_fbank" \
    --trials "$trials" \
    --backends "$backends" \
    --nj "$nj" \
    --cmd "$extract_cmd" \
    --device "$device" \
    "$exp/config.yaml" "$exp/round0"
  mark_stage_done "$exp/round0" scored
fi

if stage_enabled 6; then
  num_rounds=$(spkssl config get "$exp/config.yaml" rounds.num_rounds)
  log "Stage 6: rounds $start_round..$num_rounds (cluster → train → embed → score)"
  for r in $(seq "$start_round" "$num_rounds"); do
    "$SPKSSL_ROOT/local/run_round.sh" \
      --train-cuts "$train_cuts" \
      --eval-cuts "$eval_fbank" \
      --aug-dir "$manifests" \
      --trials "$trials" \
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

if stage_enabled 7 && [ "$force" = false ] && [ -f "$exp/RESULTS.md" ] \
    && [ -z "$(find "$exp" -path '*/scores/*.json' -newer "$exp/RESULTS.md")" ]; then
  log "Stage 7: $exp/RESULTS.md is newer than every score; skipping"
elif stage_enabled 7; then
  log "Stage 7: $exp/RESULTS.md and plots"
  spkssl report \
    --exp-dir "$exp" \
    --trials-name vox1_o \
    --trials "$data/trials/vox1_o.trials" \
    --backend "${backends%% *}"
fi
