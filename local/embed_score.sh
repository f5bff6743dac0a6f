#!/usr/bin/env bash
# Embed the training and evaluation cut sets with a round's model, then score every trial list.
#
# Usage: local/embed_score.sh [options] <config.yaml> <round-dir>
#   --train-cuts <cuts>       cut set to embed for clustering / backends (required)
#   --eval-cuts <cuts>        cut set the trials refer to (required)
#   --trials "<name>=<path> ..."   one or more Kaldi trial lists over --eval-cuts
#   --train-trials "<name>=<path> ..."  validation trial lists over --train-cuts (labels measure only)
#   --backends "cosine ..."   scoring backends (cosine, asnorm, plda)
#   --utt2spk <file>          labels for PLDA / speaker cohorts (the round's pseudo labels)
#   --nj N --cmd "<launcher>" split extraction over N jobs (Kaldi launcher convention)
#   --method model|logmel-stats  logmel-stats embeds without a network (the untrained baseline)
# Writes <round-dir>/embeddings/{train,eval}/ and <round-dir>/scores/<name>.<backend>.{score,json,det.png}.
set -euo pipefail

train_cuts=
eval_cuts=
trials=
train_trials=
backends=cosine
utt2spk=
nj=1
cmd=
device=auto
method=model
help_message="Usage: $0 --train-cuts C --eval-cuts C --trials 'name=path ...' [--backends 'cosine plda'] [--utt2spk F] [--nj N] <config> <round-dir>"
. "$SPKSSL_ROOT/local/parse_options.sh"
. "$SPKSSL_ROOT/local/recipe_lib.sh"

if [ $# -ne 2 ] || [ -z "$train_cuts" ] || [ -z "$eval_cuts" ] || [ -z "$trials" ]; then
  echo "$help_message" >&2
  exit 1
fi
config=$1
round_dir=$2

model_args=(--model "$round_dir/final.pt")
[ "$method" = logmel-stats ] && model_args=(--method logmel-stats --config "$config")

for set in train eval; do
  cuts=$train_cuts
  [ "$set" = eval ] && cuts=$eval_cuts
  log "embedding $set cuts ($cuts) with $method"
  spkssl extract \
    "${model_args[@]}" \
    --cuts "$cuts" \
    --out-dir "$round_dir/embeddings/$set" \
    --nj "$nj" \
    --cmd "$cmd" \
    --device "$device"
done

for item in $trials $train_trials; do
  name=${item%%=*}
  path=${item#*=}
  emb_set=eval
  case " $train_trials " in *" $item "*) emb_set=train ;; esac
  for backend in $backends; do
    label_args=()
    if [ "$backend" = plda ]; then
      if [ -z "$utt2spk" ]; then
        log "skipping plda for $round_dir: no (pseudo) labels to train it"
        continue
      fi
      label_args=(--train-utt2spk "$utt2spk")
    fi
    [ "$backend" = asnorm ] && [ -n "$utt2spk" ] && label_args=(--train-utt2spk "$utt2spk")
    log "scoring $name with $backend"
    spkssl score \
      --config "$config" \
      --trials "$path" \
      --embeddings "$round_dir/embeddings/$emb_set/embeddings.npz" \
      --train-embeddings "$round_dir/embeddings/train/embeddings.npz" \
      "${label_args[@]}" \
      --backend "$backend" \
      --out-dir "$round_dir/scores" \
      --name "$name"
  done
done
