#!/usr/bin/env bash
# One iteration of the method: cluster round r-1 embeddings → pseudo labels → train round r → embed → score.
#
# Usage: local/run_round.sh [options] <exp-dir> <r>
#   --train-cuts <cuts> --eval-cuts <cuts> --aug-dir <dir> --trials "<name>=<path> ..."
#   --embed-train-cuts <cuts>  the training cuts to embed (e.g. with stored fbank; default --train-cuts)
#   --train-trials "<name>=<path> ..."  validation trials over training speakers (measure only)
#   --backends "cosine ..." --nj N --ngpu N --train-cmd "<launcher>" --extract-cmd "<launcher>" --force true|false
# Reads <exp-dir>/config.yaml (rounds.init_from_previous picks warm start vs. from scratch).
# A finished round leaves <exp-dir>/round<r>/.done and is skipped on rerun.
set -euo pipefail

train_cuts=
embed_train_cuts=
eval_cuts=
aug_dir=
trials=
train_trials=
backends=cosine
nj=1
ngpu=0
device=auto
train_cmd=
extract_cmd=
force=false       # true: redo the round even if it is marked finished
help_message="Usage: $0 --train-cuts C --eval-cuts C --aug-dir D --trials 'name=path' [--backends B] [--nj N] [--ngpu N] <exp-dir> <round>"
. "$SPKSSL_ROOT/local/parse_options.sh"
. "$SPKSSL_ROOT/local/recipe_lib.sh"

if [ $# -ne 2 ]; then
  echo "$help_message" >&2
  exit 1
fi
exp=$1
r=$2
[ -n "$embed_train_cuts" ] || embed_train_cuts=$train_cuts
config=$exp/config.yaml
prev=$exp/round$((r - 1))
cur=$exp/round$r

if stage_done "$cur" round; then
  log "round $r already finished ($cur/.round.done); skipping"
  exit 0
fi
[ -f "$prev/embeddings/train/embeddings.npz" ] || die "round $((r - 1)) has no training embeddings: $prev/embeddings/train/embeddings.npz"

log "round $r: clustering round $((r - 1)) embeddings into pseudo speakers"
spkssl cluster \
  --config "$config" \
  --embeddings "$prev/embeddings/train/embeddings.npz" \
  --cuts "$train_cuts" \
  --out-dir "$cur/pseudo"

init_args=()
if [ "$(spkssl config get "$config" rounds.init_from_previous)" = true ]; then
  init_args=(--init-from "$prev/final.pt")
fi
log "round $r: training on pseudo labels ($cur/pseudo/cuts.jsonl.gz)"
"$SPKSSL_ROOT/local/train.sh" \
  --mode classification \
  "${init_args[@]}" \
  --ngpu "$ngpu" \
  --cmd "$train_cmd" \
  "$config" "$cur/pseudo/cuts.jsonl.gz" "$aug_dir" "$cur"

log "round $r: embedding and scoring"
"$SPKSSL_ROOT/local/embed_score.sh" \
  --train-cuts "$embed_train_cuts" \
  --eval-cuts "$eval_cuts" \
  --trials "$trials" \
  --train-trials "$train_trials" \
  --backends "$backends" \
  --utt2spk "$cur/pseudo/utt2spk" \
  --nj "$nj" \
  --cmd "$extract_cmd" \
  --device "$device" \
  "$config" "$cur"

mark_stage_done "$cur" round
log "round $r finished"
