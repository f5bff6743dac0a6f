#!/usr/bin/env bash
# Train one round: contrastive (round 0) or classification on (pseudo) labels.
#
# Usage: local/train.sh [options] <config.yaml> <cuts.jsonl.gz> <aug-dir> <round-dir>
#   --mode contrastive|classification   (default contrastive)
#   --init-from <final.pt>              initialise the network from a previous round
#   --epochs N                          train N epochs instead of train.epochs (0: train.epochs)
#   --ngpu N                            N > 1 trains with torchrun (DDP) on this node
#   --cmd "<launcher>"                  e.g. "$cuda_cmd" from cmd.sh (default: run here)
# The log goes to <round-dir>/log/train.log; resuming after a kill is automatic.
set -euo pipefail

mode=contrastive
init_from=
epochs=0
ngpu=0
cmd=
help_message="Usage: $0 [--mode contrastive|classification] [--init-from final.pt] [--epochs N] [--ngpu N] [--cmd launcher] <config> <cuts> <aug-dir> <round-dir>"
. "$SPKSSL_ROOT/local/parse_options.sh"
. "$SPKSSL_ROOT/local/recipe_lib.sh"

if [ $# -ne 4 ]; then
  echo "$help_message" >&2
  exit 1
fi
config=$1
cuts=$2
aug_dir=$3
round_dir=$4

args=(--config "$config" --cuts "$cuts" --aug-dir "$aug_dir" --out-dir "$round_dir" --mode "$mode")
[ -n "$init_from" ] && args+=(--init-from "$init_from")
[[ $epochs =~ ^[0-9]+$ ]] || die "--epochs (train.round0_epochs in the recipes) must be a whole number >= 0, got '$epochs'"
[ "$epochs" -gt 0 ] && args+=(--set "train.epochs=$epochs")

if [ "$ngpu" -gt 1 ]; then
  program=(torchrun --standalone --nnodes=1 --nproc_per_node="$ngpu" -m spkssl.training.ddp_main)
else
  program=(spkssl train)
  [ "$ngpu" -eq 0 ] && args+=(--device cpu)
fi

mkdir -p "$round_dir/log"
if [ -n "$cmd" ]; then
  $cmd "$round_dir/log/train.log" "${program[@]}" "${args[@]}"
else
  "${program[@]}" "${args[@]}" 2>&1 | tee "$round_dir/log/train.log"
fi
