#!/usr/bin/env bash
# spkssl recipe "mini": the whole method on a synthetic multi-speaker corpus.
#
# Needs nothing but the package: stage 0 synthesises speakers with stable voices
# (F0, vocal-tract length, tilt, breathiness) and varied content, channel and
# noise; then the stages of every Kaldi-format corpus run on it, in minutes on 2 CPU cores.
#   ./run.sh                              # every stage
#   ./run.sh --synth-opts "--num-train-speakers 80 --seed 1" --corpus-dir data/synth80 --tag mini80
#   ./run.sh --help                       # every option
# Stages: ../../local/kaldi_corpus_recipe.sh.
set -euo pipefail
cd "$(dirname "$0")"

exec ../../local/kaldi_corpus_recipe.sh \
  --corpus-dir data/synth \
  --synth true \
  --synth-opts "--num-train-speakers 40 --num-test-speakers 20 --utts-per-speaker 16 --seed 0" \
  --conf conf/mini.yaml \
  --tag mini \
  "$@"
