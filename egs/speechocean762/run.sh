#!/usr/bin/env bash
# spkssl recipe: iterative self-supervised speaker embeddings on speechocean762.
#
# Trains on speechocean762 train/ WITHOUT its speaker labels and tests on the
# speaker-disjoint test/ trials.  Runs with no options on the shared corpus:
#   ./run.sh                              # every stage, CPU configuration
#   ./run.sh --stage 6 --stop-stage 7     # resume at the rounds
#   ./run.sh --supervised true            # reference: same recipe on the TRUE labels
#   ./run.sh --overrides "train.epochs=2 rounds.num_rounds=1" --tag quick
#   ./run.sh --help                       # every option
# The stages (0 corpus, 1 manifests+trials, 2 augmentation sources, 3 fbank, 4 round 0,
# 5 embed+score, 6 rounds 1..R, 7 RESULTS.md) are those of every Kaldi-format corpus:
# ../../local/kaldi_corpus_recipe.sh.
set -euo pipefail
cd "$(dirname "$0")"

exec ../../local/kaldi_corpus_recipe.sh \
  --corpus-dir "$(cd ../../.. && pwd)/shared/data/speechocean762" \
  --conf conf/cpu.yaml \
  --tag cpu \
  "$@"
