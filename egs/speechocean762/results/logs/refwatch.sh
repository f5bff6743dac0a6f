#!/usr/bin/env bash
# the true-speaker reference round of seed S, as soon as seed S's rounds have finished
cd /work/main/egs/speechocean762
s=$1
until [ -e exp/cpu_seed$s/round2/.round.done ]; do sleep 30; done
mkdir -p exp/ref_seed$s
ln -sfn ../cpu_seed$s/round0 exp/ref_seed$s/round0
ln -sfn ../cpu_seed$s/baseline exp/ref_seed$s/baseline
echo "=== $(date) ref seed $s" >> results/logs/driver.log
( time ./run.sh --seeds $s --tag ref --overrides "rounds.round_labels=true_speakers rounds.num_rounds=1" --stage 6 --stop-stage 7 ) > results/logs/ref_seed$s.log 2>&1
echo "=== $(date) ref seed $s done rc=$?" >> results/logs/driver.log
