#!/usr/bin/env bash
# One-shot GPU check (run on a CUDA machine from the repo root):
#   1. benchmarks/train_throughput.py: forward+backward segments/s and peak memory per model,
#      fp32 and bf16 autocast, on random fbank;
#   2. real round-0 training steps through `spkssl train` with the thin ResNet-34 at the
#      VoxCeleb recipe's batch size (256 cuts = 512 two-second segments), on real speech
#      in Kaldi data-dir form at $1 (default .gpudata/so), reporting segments/s and peak
#      GPU memory from the trainer's own log and TensorBoard scalars.
# Usage: bash benchmarks/gpu_check.sh [kaldi-corpus-dir] [out-dir] [max-steps]
set -euo pipefail
corpus=${1:-.gpudata/so}
out=${2:-/tmp/gpu_check}
steps=${3:-30}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
spkssl() { python -m spkssl.cli "$@"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

echo "== 1. model throughput (fp32, then bf16 autocast)"
python benchmarks/train_throughput.py --device cuda --batch 128 --frames 200 --steps 10
python benchmarks/train_throughput.py --device cuda --batch 128 --frames 200 --steps 10 --amp

echo "== 2. spkssl train: thin ResNet-34, round 0, batch 256 cuts x 2 segments"
spkssl prepare kaldi-dir "$corpus/train" "$out/manifests" --prefix train --audio-root "$corpus"
spkssl prepare aug-sources "$out/manifests" --train-cuts "$out/manifests/train_cuts.jsonl.gz"
spkssl config resolve egs/voxceleb/conf/resnet34.yaml "$out/config.yaml" \
  --set train.num_workers=14 --set train.epochs=100 --set train.log_every_steps=5 \
  --set train.save_every_steps=0
start=$(date +%s)
spkssl train --config "$out/config.yaml" --cuts "$out/manifests/train_cuts.jsonl.gz" \
  --aug-dir "$out/manifests" --out-dir "$out/round0" --objective contrastive --device cuda \
  --max-steps "$steps" 2>&1 | grep -v "it/s\]$" | tail -40
echo "wall seconds for $steps steps incl. start-up: $(( $(date +%s) - start ))"
python - "$out/round0/tensorboard" <<'PY'
import sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1]); acc.Reload()
for tag in ("train/segments_per_second", "train/gpu_memory_gb", "train/loss"):
    if tag in acc.Tags()["scalars"]:
        vals = [e.value for e in acc.Scalars(tag)]
        print(f"{tag}: last={vals[-1]:.3f} max={max(vals):.3f} (n={len(vals)})")
PY
