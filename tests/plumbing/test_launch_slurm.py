"""local/run_slurm.sh (spkssl.launch.slurm): submission text and the flow with a fake sbatch."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spkssl.launch import parse_launch_args
from spkssl.launch.slurm import EXTRA_OPTIONS, submission_script

REPO = Path(__file__).resolve().parents[2]
RUN_SLURM = str(REPO / "local" / "run_slurm.sh")

# A stand-in for sbatch: records its arguments, then runs every array task of the
# script locally with SLURM_ARRAY_TASK_ID set (Slurm's --output per task), except
# the tasks listed in FAKE_SBATCH_SKIP (as if killed before writing a status).
FAKE_SBATCH = f"""#!{sys.executable}
import json, os, re, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_SBATCH_RECORD"], "a") as f:
    f.write(json.dumps(args) + "\\n")
assert args[:2] == ["--parsable", "--wait"], args
script = args[-1]
text = open(script).read()
first, last = map(int, re.search(r"^#SBATCH --array=(\\d+)-(\\d+)", text, re.M).groups())
output = re.search(r"^#SBATCH --output=(\\S+)", text, re.M).group(1)
skip = {{int(x) for x in os.environ.get("FAKE_SBATCH_SKIP", "").split()}}
print("4242", flush=True)
worst = 0
for task in range(first, last + 1):
    if task in skip:
        worst = 1
        continue
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_JOB_ID="4242")
    with open(output.replace("%a", str(task)), "w") as out:
        code = subprocess.run(["bash", script], env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    worst = worst or code
sys.exit(1 if worst else 0)
"""


@pytest.fixture
def fake_slurm(tmp_path: Path) -> dict[str, str]:
    """Environment with the fake ``sbatch`` first on PATH; its calls go to ``record``."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sbatch = bindir / "sbatch"
    sbatch.write_text(FAKE_SBATCH)
    sbatch.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPKSSL_S")}
    env["PATH"] = f"{bindir}:{env['PATH']}"
    env["FAKE_SBATCH_RECORD"] = str(tmp_path / "record.jsonl")
    return env


def run_slurm(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([RUN_SLURM, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30)


def sbatch_lines(text: str) -> list[str]:
    return [line[len("#SBATCH "):] for line in text.splitlines() if line.startswith("#SBATCH ")]


def test_submission_text_has_resources(monkeypatch):
    monkeypatch.setenv("SPKSSL_SLURM_PARTITION", "cpu")
    monkeypatch.setenv("SPKSSL_SBATCH_OPTS", "--time=2:00:00")
    spec, opts = parse_launch_args(
        ["--gpu", "2", "--num-threads", "8", "--mem", "16G", "--max-jobs-run", "3", "--partition", "gpu",
         "TASK=1:10", "exp/log/train.TASK.log", "spkssl", "train", "--job", "TASK"],
        "run_slurm.sh", extra_options=EXTRA_OPTIONS,
    )
    text = submission_script(spec, opts)
    assert text.startswith("#!/usr/bin/env bash\n")
    lines = sbatch_lines(text)
    assert lines[:2] == ["--job-name=train", "--array=1-10%3"]
    assert re.fullmatch(r"--output=/.*/exp/log/q/train\.%a\.out", lines[2])
    assert lines[3:] == ["--cpus-per-task=8", "--mem=16G", "--gpus=2", "--partition=gpu", "--time=2:00:00"]
    assert "cmd='spkssl train --job TASK'" in text
    assert "cmd=${cmd//TASK/$task}" in text and "log=${log//TASK/$task}" in text
    assert "export OMP_NUM_THREADS=8" in text
    assert f"cd {os.getcwd()}" in text or f"cd '{os.getcwd()}'" in text
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)  # valid bash


def test_submission_text_defaults_and_env(monkeypatch):
    monkeypatch.setenv("SPKSSL_SLURM_PARTITION", "short")
    monkeypatch.setenv("SPKSSL_SBATCH_OPTS", "--account='my proj' --qos=low")
    spec, opts = parse_launch_args(["log/one.log", "echo", "JOB"], "x", extra_options=EXTRA_OPTIONS)
    text = submission_script(spec, opts)
    lines = sbatch_lines(text)
    assert lines == ["--job-name=one", "--array=1-1", lines[2], "--cpus-per-task=1",
                     "--partition=short", "'--account=my proj'", "--qos=low"]
    assert "//" not in text  # a single job substitutes nothing
    assert "OMP_NUM_THREADS" not in text
    spec, opts = parse_launch_args(["--sbatch-opts", "", "log/one.log", "true"], "x", extra_options=EXTRA_OPTIONS)
    assert sbatch_lines(submission_script(spec, opts))[-1] == "--partition=short"


def test_fake_sbatch_flow_success(tmp_path, fake_slurm):
    r = run_slurm("--mem", "1G", "JOB=1:3", "log/echo.JOB.log", "echo", "index", "JOB", ">", "out.JOB",
                  cwd=tmp_path, env=fake_slurm)
    assert r.returncode == 0, r.stderr
    calls = [json.loads(line) for line in (tmp_path / "record.jsonl").read_text().splitlines()]
    assert calls == [["--parsable", "--wait", str(tmp_path / "log" / "q" / "echo.sh")]]
    for i in (1, 2, 3):
        assert (tmp_path / f"out.{i}").read_text() == f"index {i}\n"
        log = (tmp_path / "log" / f"echo.{i}.log").read_text()
        assert log.startswith(f"# echo index {i} > out.{i}\n")
        assert f"(Slurm job 4242_{i})" in log and "# Ended (code 0)" in log
        assert (tmp_path / "log" / "q" / "echo.status" / str(i)).read_text() == "0\n"


def test_fake_sbatch_flow_failures(tmp_path, fake_slurm):
    env = dict(fake_slurm, FAKE_SBATCH_SKIP="4")
    r = run_slurm("JOB=1:4", "log/f.JOB.log", "bash", "-c", "[ JOB -ne 2 ] || exit 5", cwd=tmp_path, env=env)
    assert r.returncode == 1
    assert re.search(r"job 2 failed \(exit code 5\); see log/f\.2\.log", r.stderr)
    assert re.search(r"job 4 left no exit status .*; see log/f\.4\.log", r.stderr)
    assert "job 1 " not in r.stderr and "job 3 " not in r.stderr
    assert "2 / 4 jobs failed" in r.stderr
    assert "# Ended (code 5)" in (tmp_path / "log" / "f.2.log").read_text()
    # a rerun must not trust the status files of the first run
    env["FAKE_SBATCH_SKIP"] = "1 2 3 4"
    r = run_slurm("JOB=1:4", "log/f.JOB.log", "true", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "4 / 4 jobs failed" in r.stderr


def test_missing_sbatch_is_a_clear_error(tmp_path):
    bindir = tmp_path / "bin"  # only what the script needs, so an installed Slurm does not count
    bindir.mkdir()
    for tool in ("bash", "dirname"):
        (bindir / tool).symlink_to(shutil.which(tool))
    env = dict(os.environ, PATH=str(bindir), SPKSSL_PYTHON=sys.executable)
    r = subprocess.run(["bash", RUN_SLURM, "log/x.log", "true"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "sbatch not found" in r.stderr
