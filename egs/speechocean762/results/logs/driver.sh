#!/usr/bin/env bash
set -uo pipefail
cd /work/main/egs/speechocean762
L=results/logs
echo "=== $(date) main seeds 0 1 2" >> $L/driver.log
( time ./run.sh --seeds "0 1 2" ) > $L/main_seeds.log 2>&1
echo "=== $(date) main done rc=$?" >> $L/driver.log
for s in 0 1 2; do
  mkdir -p exp/ref_seed$s
  ln -sfn ../cpu_seed$s/round0 exp/ref_seed$s/round0
  [ -e exp/cpu_seed$s/baseline ] && ln -sfn ../cpu_seed$s/baseline exp/ref_seed$s/baseline
done
( time ./run.sh --seeds "0 1 2" --tag ref --overrides "rounds.round_labels=true_speakers rounds.num_rounds=1" --stage 6 --stop-stage 7 ) > $L/ref_seeds.log 2>&1
echo "=== $(date) ref done rc=$?" >> $L/driver.log
