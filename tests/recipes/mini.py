"""egs/mini/run.sh, shortened: the corpus and schedule small enough for a test (2 CPU cores).

``run_mini`` runs the recipe; the session fixture ``mini_recipe`` (``tests/conftest.py``) runs it once
per test run, and every test that needs a trained mini experiment (the recipe's own test, the
documentation's commands) starts from that run.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "egs" / "mini" / "run.sh"

OVERRIDES = " ".join([
    "model.embed_dim=32",
    "model.kwargs.channels=32",
    "train.epochs=1",
    "train.round0_epochs=2",
    "train.batch_size=8",  # 2 workers (--nodes 2 below) each fill a batch of the 24-30 cuts
    "train.num_workers=0",
    "train.average_last=1",
    "cluster.num_clusters=6",
    "cluster.min_cluster_size=2",
    "rounds.num_rounds=2",
    "data.aug_sources.num_rirs=4",
    "data.aug_sources.num_noise=3",
    "data.aug_sources.num_music=2",
    "data.aug_sources.num_babble=3",
    "data.validation.num_speakers=3",
    "synth.num_train_speakers=6",
    "synth.num_test_speakers=4",
    "synth.utts_per_speaker=5",
])


def run_mini(tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        "bash", str(RUN_SH),
        "--corpus-dir", str(tmp / "synth"),
        "--data-dir", str(tmp / "data"),
        "--exp-root", str(tmp / "exp"),
        "--nj", "1",
        "--overrides", OVERRIDES,
        *extra,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
