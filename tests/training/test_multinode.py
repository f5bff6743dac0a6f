"""``spkssl train --nodes N``: N torchrun agents meet through a c10d rendezvous (gloo on CPU here).

Two nodes of one worker train exactly as one node of two workers with the same global batch.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from spkssl.config import save_config
from tests.training.conftest import tiny_cfg

pytestmark = pytest.mark.skipif(shutil.which("spkssl") is None or shutil.which("spkssl-torchrun") is None,
                                reason="needs the installed spkssl and spkssl-torchrun commands")


def _train(cfg_path: Path, cuts: Path, out: Path, *launch: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    return subprocess.run(["spkssl", "train", "--config", str(cfg_path), "--cuts", str(cuts), "--out-dir", str(out),
                           "--objective", "contrastive", *launch], capture_output=True, text=True, timeout=300,
                          env=env)


def _wait_for_a_checkpoint(proc: subprocess.Popen, out: Path) -> None:
    """Until the first checkpoint is written (training is under way), the run ends or 2 minutes pass."""
    deadline = time.time() + 120
    while not list((out / "checkpoints").glob("ckpt-*.pt")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)


def _stopped_by_sigusr1(cmd: list[str], out: Path, env: dict[str, str], cwd: Path | None = None) -> int:
    """Run ``cmd``, send it SIGUSR1 once it has a checkpoint, check it stopped so; return its newest checkpoint's step."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    _wait_for_a_checkpoint(proc, out)
    proc.send_signal(signal.SIGUSR1)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 4, output[-3000:]
    assert "by SIGUSR1 with a checkpoint; rerun to continue" in output
    return max(int(p.stem.split("-")[-1]) for p in (out / "checkpoints").glob("ckpt-*.pt"))


def test_two_nodes_of_one_worker_train_as_one_node_of_two(cuts_path: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.yaml"
    save_config(tiny_cfg(epochs=2, average_last=1, batch_size=1), cfg_path)
    one_node = _train(cfg_path, cuts_path, tmp_path / "1x2", "--ngpu", "2")  # reruns itself under torchrun
    assert one_node.returncode == 0, one_node.stderr[-3000:]
    assert ("starting DDP: spkssl-torchrun --standalone --nnodes=1 --nproc_per_node=2 --max_restarts=0 --no-python "
            "spkssl train") in one_node.stderr
    two_nodes = _train(cfg_path, cuts_path, tmp_path / "2x1", "--nodes", "2", "--ngpu", "0")
    assert two_nodes.returncode == 0, two_nodes.stderr[-3000:]
    assert "starting 2 torchrun agents of 1 worker(s) on this machine" in two_nodes.stderr
    assert "--rdzv_backend=c10d" in two_nodes.stderr and "--standalone" not in two_nodes.stderr
    a = json.loads((tmp_path / "1x2" / "train_summary.json").read_text())
    b = json.loads((tmp_path / "2x1" / "train_summary.json").read_text())
    assert a["world_size"] == b["world_size"] == 2 and a["steps"] == b["steps"] == 6
    # the same global batch on the same ranks: the loss curve agrees (tolerance for the all-reduce order)
    assert b["epoch_losses"] == pytest.approx(a["epoch_losses"], rel=1e-6, abs=1e-7)
    assert sorted(p.name for p in (tmp_path / "2x1").iterdir()) == sorted(p.name for p in (tmp_path / "1x2").iterdir())


def test_a_killed_worker_is_restarted_and_the_run_resumes_to_the_same_end(cuts_path: Path, tmp_path: Path) -> None:
    """torchrun --max-restarts: SIGKILL of one of two workers mid-run; both restart from the newest checkpoint."""
    cfg_path = tmp_path / "config.yaml"
    save_config(tiny_cfg(epochs=30, average_last=1, batch_size=1, save_every_steps=2), cfg_path)
    out = tmp_path / "r"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(["spkssl", "train", "--config", str(cfg_path), "--cuts", str(cuts_path), "--out-dir",
                             str(out), "--objective", "contrastive", "--ngpu", "2", "--max-restarts", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    _wait_for_a_checkpoint(proc, out)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2 and proc.poll() is None, workers  # torchrun (exec'd in place) runs two workers
    os.kill(int(workers[1]), signal.SIGKILL)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 90 and summary["epochs"] == 30 and summary["resumed_from"], summary
    assert "restart" in output.lower()


def test_sigusr1_stops_every_worker_of_two_nodes_with_a_checkpoint_and_a_rerun_continues(cuts_path: Path,
                                                                                        tmp_path: Path) -> None:
    """Slurm's warning before a time limit, sent to the launcher of 2 agents x 1 worker: it reaches the workers
    through spkssl-torchrun (torchrun alone would not pass it on), which stop after the same step with a
    checkpoint; the launch exits 4, not restarted despite --max-restarts, and a rerun finishes the run."""
    cfg_path = tmp_path / "config.yaml"
    save_config(tiny_cfg(epochs=16, average_last=1, batch_size=1, save_every_steps=0), cfg_path)
    out = tmp_path / "r"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    cmd = ["spkssl", "train", "--config", str(cfg_path), "--cuts", str(cuts_path), "--out-dir", str(out),
           "--objective", "contrastive", "--nodes", "2", "--ngpu", "0", "--max-restarts", "1"]
    saved = _stopped_by_sigusr1(cmd, out, env, cwd=tmp_path)
    assert not (out / "final.pt").exists()
    assert not list(tmp_path.glob(".spkssl-preempted-*"))  # the marker is the launcher's to remove
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["epochs"] == 16 and summary["resumed_from"].endswith(f"-{saved}.pt")


def test_sigusr1_saves_a_checkpoint_exits_4_and_a_rerun_continues(cuts_path: Path, tmp_path: Path) -> None:
    """What Slurm sends before a time limit (--signal=B:USR1@T) or scancel --signal=USR1 does."""
    cfg_path = tmp_path / "config.yaml"
    save_config(tiny_cfg(epochs=12, average_last=1, batch_size=1, save_every_steps=0), cfg_path)
    out = tmp_path / "r"
    cmd = ["spkssl", "train", "--config", str(cfg_path), "--cuts", str(cuts_path), "--out-dir", str(out),
           "--objective", "contrastive", "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    saved = _stopped_by_sigusr1(cmd, out, env)
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 72 and summary["resumed_from"].endswith(f"-{saved}.pt"), (summary, saved)
