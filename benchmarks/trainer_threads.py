#!/usr/bin/env python3
"""Benchmark: seconds per training step of ``spkssl train`` at different ``train.threads``.

Runs the real trainer (its DataLoader workers, augmentation, fbank and the network of the
given config) stand-alone for ``--steps`` steps once per thread count, in one run, and
prints the steady seconds per step (from the TensorBoard wall times of steps 3 .. N, so
start-up, audio preloading and the first batches do not count) and the ratio against the
first thread count, the peer.  On a 2-core machine with 2 workers, ``train.threads: 0``
gives the network one thread (the cores left after the workers); this measures what the
second core buys when the workers only crop, augment and fbank audio held in RAM.

Example (from ``egs/speechocean762/`` after stage 3)::

    python ../../benchmarks/trainer_threads.py --config conf/cpu.yaml \\
        --cuts data/manifests/train_cuts.jsonl.gz --aug-dir data/manifests --threads 1,2
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def step_seconds(tb_dir: Path, skip: int = 2) -> tuple[float, int]:
    """Mean wall seconds per step between step ``skip + 1`` and the last logged step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    acc.Reload()
    events = [e for e in acc.Scalars("train/loss") if e.step > skip]
    if len(events) < 2:
        raise RuntimeError(f"{tb_dir}: fewer than 2 logged steps after step {skip}")
    return (events[-1].wall_time - events[0].wall_time) / (events[-1].step - events[0].step), len(events)


def run_one(threads: int, args: argparse.Namespace, work: Path) -> float:
    """Train ``args.steps`` steps with ``train.threads=threads``; return seconds per step."""
    out = work / f"threads{threads}"
    cmd = [
        sys.executable, "-c", "from spkssl.cli import cli; cli()", "train",
        "--cuts", args.cuts, "--out-dir", str(out), "--objective", args.objective,
        "--aug-dir", args.aug_dir, "--config", args.config, "--device", "cpu",
        "--max-steps", str(args.steps),
        "--set", f"train.threads={threads}", "--set", "train.log_every_steps=1",
    ]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"threads={threads}: spkssl train failed:\n{proc.stderr[-3000:]}")
    sec, n = step_seconds(out / "tensorboard")
    print(f"  threads {threads}: {sec:.2f} s/step over {n} steps ({time.time() - start:.0f} s with start-up)", flush=True)
    return sec


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="recipe config, e.g. conf/cpu.yaml")
    p.add_argument("--cuts", required=True, help="training cut set")
    p.add_argument("--aug-dir", required=True, help="folder of aug_*_recordings.jsonl.gz")
    p.add_argument("--objective", default="dino", help="dino, contrastive or classification (needs labels)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts; the first is the peer")
    p.add_argument("--steps", type=int, default=12, help="training steps per thread count")
    args = p.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    print(f"# python benchmarks/trainer_threads.py --threads {args.threads} --steps {args.steps} "
          f"--objective {args.objective} ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        secs = [run_one(t, args, Path(tmp)) for t in counts]
    print("train.threads   s/step   speed vs threads " + str(counts[0]))
    for t, s in zip(counts, secs):
        print(f"{t:>13}   {s:6.2f}   {secs[0] / s:5.2f}x")


if __name__ == "__main__":
    main()
