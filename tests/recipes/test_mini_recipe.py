"""End to end: egs/mini/run.sh, shortened, runs every stage on a tiny synthetic corpus.

This is the CI version of the README's quick start: the same run.sh and stages,
with a corpus and schedule small enough for a test (2 CPU cores, ~2 minutes).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.recipes.mini import OVERRIDES, run_mini as _run


pytestmark = pytest.mark.xdist_group("mini")  # shares the one mini run (mini_recipe) with the other mini tests


def test_mini_recipe_runs_every_stage_and_is_idempotent(mini_recipe: tuple[Path, str]) -> None:
    tmp_path, log = mini_recipe
    for stage in range(8):
        assert f"Stage {stage}:" in log, f"stage {stage} did not run"
    assert "] epoch 2/2 done: mean loss" in log  # training's epoch lines reach the console, not only train.log
    assert "\r" not in log and "it/s]" not in log  # no progress bar drawn into a pipe
    exp = tmp_path / "exp" / "mini"
    assert (exp / "config.yaml").is_file()
    for r in range(3):
        rd = exp / f"round{r}"
        assert (rd / "final.pt").is_file()
        assert any((rd / "tensorboard").iterdir())
        for part in ("train", "eval"):
            for name in ("xvector.ark", "xvector.scp", "embeddings.npz"):
                assert (rd / "embeddings" / part / name).is_file()
        summary = json.loads((rd / "train_summary.json").read_text())
        assert summary["epochs"] == (2 if r == 0 else 1)  # train.round0_epochs applies to round 0 only
        metrics = json.loads((rd / "scores" / "test.cosine.json").read_text())
        assert 0.0 <= metrics["eer_kaldi"] <= 100.0
        assert (rd / "scores" / "val.cosine.json").is_file()
        if r >= 1:
            stats = json.loads((rd / "pseudo" / "cluster_stats.json").read_text())
            assert stats["num_clusters"] >= 2
            assert (rd / "pseudo" / "utt2spk").is_file()
    results = (exp / "RESULTS.md").read_text()
    assert "round 0" in results and "round 2" in results
    assert "untrained log-mel stats" in results
    for png in ("eer_by_round.png", "det_all_rounds.png", "eer_by_round_val.png"):
        assert (exp / png).stat().st_size > 1000

    second = _run(tmp_path)
    assert second.returncode == 0, (second.stdout + second.stderr)[-3000:]
    log2 = second.stdout + second.stderr
    assert "Stage 4:" not in log2 and "Stage 1:" not in log2  # finished stages are skipped
    assert "round 1 already finished" in log2

    # --force true reaches every command of the stages it runs: they recompute, the others stay.
    redone = [exp / "baseline" / "embeddings" / "eval" / "embeddings.npz",
              exp / "round0" / "embeddings" / "train" / "embeddings.npz",
              exp / "round0" / "scores" / "test.cosine.json",
              exp / "round2" / "pseudo" / "cluster_stats.json",
              exp / "round2" / "final.pt",
              exp / "round2" / "embeddings" / "eval" / "embeddings.npz",
              exp / "round2" / "scores" / "val.cosine.json"]
    kept = [exp / "round0" / "final.pt", exp / "round1" / "final.pt",
            exp / "round1" / "embeddings" / "train" / "embeddings.npz"]
    mtimes = {p: p.stat().st_mtime_ns for p in redone + kept}
    old_r0 = np.load(redone[1])
    old_r2 = json.loads((exp / "round2" / "train_summary.json").read_text())
    # ... and round 2 is retrained on 2 nodes of one worker: torchrun agents meeting through a c10d rendezvous
    forced = _run(tmp_path, "--stage", "5", "--stop-stage", "6", "--start-round", "2", "--force", "true", "--nodes", "2")
    log3 = forced.stdout + forced.stderr
    assert forced.returncode == 0, log3[-3000:]
    assert "Stage 5:" in log3 and "Stage 6: round 2:" in log3 and "Stage 6: round 1" not in log3
    assert [p for p in redone if p.stat().st_mtime_ns <= mtimes[p]] == []
    assert [p for p in kept if p.stat().st_mtime_ns != mtimes[p]] == []
    new_r0 = np.load(redone[1])
    assert all(np.array_equal(old_r0[k], new_r0[k]) for k in old_r0.files)  # extraction is deterministic
    new_r2 = json.loads((exp / "round2" / "train_summary.json").read_text())
    assert new_r2["resumed_from"] is None and new_r2["world_size"] == 2 and old_r2["world_size"] == 1  # afresh, 2 workers
    assert "starting 2 torchrun agents" in (exp / "round2" / "log" / "train.log").read_text()
    assert (exp / "round2" / ".round.done").is_file() and not (exp / "round2" / ".train.lock").read_text().strip()
    assert "--force: removing" in (exp / "round2" / "log" / "train.log").read_text()

    # Repeated runs of another setting on the same data (DINO round 0 only: the rounds are as above).
    seeds = _run(tmp_path, "--seeds", "0 1", "--stage", "4", "--tag", "dino", "--overrides", " ".join([
        OVERRIDES, "rounds.num_rounds=0", "train.round0_epochs=1", "rounds.round0_objective=dino",
        "loss.dino.out_dim=64", "loss.dino.hidden_dim=32", "loss.dino.bottleneck_dim=16",
        "loss.dino.local_crops=2", "loss.dino.local_seconds=1.0"]))
    log4 = seeds.stdout + seeds.stderr
    assert seeds.returncode == 0, log4[-3000:]
    runs = [tmp_path / "exp" / f"dino_seed{s}" for s in (0, 1)]
    cfgs = [yaml.safe_load((r / "config.yaml").read_text()) for r in runs]
    assert cfgs[1]["train"]["seed"] == cfgs[0]["train"]["seed"] + 1
    assert cfgs[1]["cluster"]["seed"] == cfgs[0]["cluster"]["seed"] + 1
    for run in runs:
        r0 = json.loads((run / "round0" / "train_summary.json").read_text())
        assert r0["objective"] == "dino" and len(r0["dino_epochs"]) == 1
        assert (run / "RESULTS.md").is_file()
    summary = (tmp_path / "exp" / "dino_seeds" / "RESULTS.md").read_text()
    assert "# Results over 2 runs" in summary and "| round 0 | 2 |" in summary
    assert (tmp_path / "exp" / "dino_seeds" / "eer_by_round_val.png").stat().st_size > 1000
    assert log4.count("Stage 4: round 0") == 2 and "Stage 7: mean ± std over" in log4
