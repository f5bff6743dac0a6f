"""local/run_slurm.sh on a real one-node Slurm (slurm_cluster.py): egs/mini's round 0 and extraction as array jobs.

The fake-sbatch tests (test_launch_slurm.py) check the submission text; these check what
only a real Slurm shows: array tasks run and log, a failing task fails the recipe stage
with its log named, ``scancel`` is reported as such, and a killed launcher leaves no job.
They skip, saying why, only where Slurm cannot be installed or started.
"""
from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import torch
from lhotse import CutSet

from spkssl.embed.extract import split_indices
from tests.plumbing.slurm_cluster import SlurmUnavailable, start_cluster
from tests.plumbing.test_launch_lifetime import alive
from tests.recipes.mini import OVERRIDES

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "egs" / "mini" / "run.sh"
RUN_SLURM = str(REPO / "local" / "run_slurm.sh")
WAIT_S = 120.0  # give-up point for Slurm state changes (they take seconds)
SHORT = OVERRIDES.replace("train.round0_epochs=2", "train.round0_epochs=1")


pytestmark = pytest.mark.xdist_group("slurm")  # one Slurm cluster (slurm_env) for the module


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    try:
        env, stop = start_cluster(tmp_path_factory.mktemp("slurm"))
    except SlurmUnavailable as exc:
        pytest.skip(f"no real Slurm here: {exc}")
    yield {**env, "SPKSSL_LAUNCHER": "slurm", "SPKSSL_SLURM_GPUS": "0", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    stop()


def run_mini(tmp: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(RUN_SH), "--corpus-dir", str(tmp / "synth"), "--data-dir", str(tmp / "data"),
           "--exp-root", str(tmp / "exp"), "--nj", "2", "--stop-stage", "5", "--overrides", SHORT, *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def mini_on_slurm(slurm_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("mini_slurm")
    done = run_mini(tmp, slurm_env)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return tmp / "exp" / "mini", done.stdout + done.stderr


def slurm_job(log: Path) -> tuple[str, str]:
    """``(job, task)`` of the Slurm array task that wrote ``log`` (its header names it)."""
    match = re.search(r"\(Slurm job (\d+)_(\d+)\)", log.read_text())
    assert match, f"{log} was not written by a Slurm array task"
    return match.group(1), match.group(2)


def test_round0_and_extraction_run_as_slurm_array_jobs(mini_on_slurm: tuple[Path, str]) -> None:
    exp, log = mini_on_slurm
    assert slurm_job(exp / "round0" / "log" / "train.log")[1] == "1"
    assert (exp / "round0" / "final.pt").is_file()
    for system in ("baseline", "round0"):
        for part in ("train", "eval"):
            logs = exp / system / "embeddings" / part / "log"
            (job1, task1), (job2, task2) = slurm_job(logs / "extract.1.log"), slurm_job(logs / "extract.2.log")
            assert job1 == job2 and (task1, task2) == ("1", "2")  # one array job, two tasks
            assert "#SBATCH --array=1-2" in (logs / "q" / "extract.sh").read_text()
            assert (exp / system / "embeddings" / part / "embeddings.npz").is_file()
        assert (exp / system / "scores" / "test.cosine.json").is_file()
    assert "Slurm job" in log and "submitted" in log


def test_a_failing_task_fails_the_stage_and_names_its_log(mini_on_slurm: tuple[Path, str],
                                                         slurm_env: dict[str, str]) -> None:
    exp, _ = mini_on_slurm
    tmp = exp.parents[1]
    cuts = CutSet.from_file(tmp / "data" / "manifests" / "test_cuts_fbank.jsonl.gz").to_eager()
    victim = cuts[split_indices(len(cuts), 2, 2)[0]]  # a cut of part 2
    Path(victim.features.storage_path, victim.features.storage_key).write_bytes(b"not a matrix")
    (exp / "round0" / ".scored.done").unlink()  # stage 5 again: its first extraction to do meets the bad cut
    for name in ("embeddings.npz", "xvector.scp", "xvector.ark"):
        (exp / "baseline" / "embeddings" / "eval" / name).unlink()
    done = run_mini(tmp, slurm_env, "--stage", "5")
    assert done.returncode != 0
    part_log = exp / "baseline" / "embeddings" / "eval" / "log" / "extract.2.log"
    assert f"run_slurm.sh: job 2 failed (exit code 1); see {part_log}" in done.stderr
    assert f"cut '{victim.id}'" in part_log.read_text()
    assert "job 1 failed" not in done.stderr and "Stage 6" not in done.stderr


def start_sleeping_job(tmp: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """A launcher waiting on a two-task array job that sleeps; returns it and the Slurm job id."""
    launcher = subprocess.Popen([RUN_SLURM, "JOB=1:2", "log/sleep.JOB.log", "sleep", "300"], cwd=tmp, env=env,
                                stderr=subprocess.PIPE, text=True)
    line = launcher.stderr.readline()
    match = re.search(r"Slurm job (\d+) submitted", line)
    assert match, line
    return launcher, match.group(1)


def states(job: str, env: dict[str, str]) -> set[str]:
    out = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True, env=env).stdout
    return set(re.findall(r"JobState=(\w+)", out))


def wait_for(predicate, what) -> None:
    """Wait until ``predicate()``; ``what()`` (or ``what``) says what did not happen."""
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, what() if callable(what) else what
        time.sleep(0.2)


def test_scancel_of_the_job_is_reported(slurm_env: dict[str, str], tmp_path: Path) -> None:
    launcher, job = start_sleeping_job(tmp_path, slurm_env)
    wait_for(lambda: states(job, slurm_env) == {"RUNNING"}, lambda: f"job {job}: {states(job, slurm_env)}")
    subprocess.run(["scancel", job], check=True, env=slurm_env)
    _, err = launcher.communicate(timeout=WAIT_S)
    assert launcher.returncode == 1
    for task in (1, 2):
        assert re.search(rf"job {task} was cancelled \(Slurm job {job}_{task} CANCELLED: scancel\) "
                         rf"\(slurmstepd\S*: error: \*\*\* JOB \d+ ON \S+ CANCELLED AT .*\*\*\*\); "
                         rf"see log/sleep\.{task}\.log", err), err


def test_a_killed_launcher_leaves_no_job_behind(slurm_env: dict[str, str], tmp_path: Path) -> None:
    launcher, job = start_sleeping_job(tmp_path, slurm_env)
    wait_for(lambda: states(job, slurm_env) == {"RUNNING"}, lambda: f"job {job}: {states(job, slurm_env)}")
    waiter = int(subprocess.run(["pgrep", "-P", str(launcher.pid), "sbatch"], capture_output=True,
                                text=True).stdout.split()[0])
    launcher.kill()  # kill -9: the launcher's reaper cancels the job
    launcher.wait()
    wait_for(lambda: states(job, slurm_env) <= {"CANCELLED"},
             lambda: f"job {job} outlived its killed launcher: {states(job, slurm_env)}; {launcher.stderr.read()}")
    wait_for(lambda: not alive(waiter), f"the launcher's sbatch --wait ({waiter}) outlived it")
    assert os.path.exists(tmp_path / "log" / "sleep.1.log")


def test_a_two_task_allocation_trains_as_two_nodes(mini_on_slurm: tuple[Path, str], slurm_env: dict[str, str]) -> None:
    """run_slurm.sh with two tasks (two "nodes" of this one-node cluster): spkssl train --nodes 2 starts one
    torchrun agent per task with srun, meeting through the c10d rendezvous."""
    exp, _ = mini_on_slurm
    tmp = exp.parents[1]
    out = tmp / "two_nodes"
    done = subprocess.run(
        [RUN_SLURM, "--sbatch-opts", "--ntasks=2", str(out / "log" / "train.log"),
         "spkssl", "train", "--config", str(exp / "config.yaml"), "--cuts",
         str(tmp / "data" / "manifests" / "train_cuts.jsonl.gz"), "--out-dir", str(out), "--objective",
         "contrastive", "--set", "train.epochs=1", "--nodes", "2", "--ngpu", "0"],
        cwd=tmp, env=slurm_env, capture_output=True, text=True, timeout=600)
    log = (out / "log" / "train.log").read_text()
    assert done.returncode == 0, done.stderr[-2000:] + log[-4000:]
    assert "starting 2 x 1 workers through Slurm: srun --ntasks=2" in log and "--rdzv_backend=c10d" in log
    summary = torch.load(out / "final.pt", weights_only=False)["extra"]
    assert summary["world_size"] == 2 and summary["epochs"] == 1


def test_scancel_usr1_saves_a_checkpoint_and_a_rerun_continues(mini_on_slurm: tuple[Path, str],
                                                                slurm_env: dict[str, str]) -> None:
    """``scancel --batch --signal=USR1`` (what ``sbatch --signal=B:USR1@T`` sends before a time limit) reaches
    the batch shell, which passes it on: the trainer saves a checkpoint and exits 4; a rerun continues from it."""
    exp, _ = mini_on_slurm
    tmp = exp.parents[1]
    out = tmp / "preempted"
    cmd = [RUN_SLURM, str(out / "log" / "train.log"), "spkssl", "train", "--config", str(exp / "config.yaml"),
           "--cuts", str(tmp / "data" / "manifests" / "train_cuts.jsonl.gz"), "--out-dir", str(out), "--objective",
           "contrastive", "--set", "train.epochs=20", "--set", "train.batch_size=4"]
    launcher = subprocess.Popen(cmd, cwd=tmp, env=slurm_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    job = re.search(r"Slurm job (\d+) submitted", launcher.stderr.readline())
    assert job, "no Slurm job submitted"
    wait_for(lambda: list((out / "checkpoints").glob("ckpt-*.pt")) or launcher.poll() is not None,
             "no checkpoint written")
    subprocess.run(["scancel", "--batch", "--signal=USR1", job.group(1)], check=True, env=slurm_env)
    launcher.communicate(timeout=WAIT_S)
    log = (out / "log" / "train.log").read_text()
    assert launcher.returncode == 1 and "# Ended (code 4)" in log, log[-3000:]
    assert "stopped by SIGUSR1" in log and not (out / "final.pt").exists()
    saved = max(int(p.stem.split("-")[-1]) for p in (out / "checkpoints").glob("ckpt-*.pt"))
    again = subprocess.run(cmd, cwd=tmp, env=slurm_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:] + (out / "log" / "train.log").read_text()[-3000:]
    summary = torch.load(out / "final.pt", weights_only=False)["extra"]
    assert summary["resumed_from"].endswith(f"-{saved}.pt") and summary["epochs"] == 20, summary
