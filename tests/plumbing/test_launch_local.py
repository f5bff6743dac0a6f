"""local/run_local.sh (spkssl.launch.local): parallel jobs, JOB substitution, failures, logs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spkssl.launch import LaunchError, join_command, parse_launch_args

REPO = Path(__file__).resolve().parents[2]
RUN_LOCAL = str(REPO / "local" / "run_local.sh")


def run_local(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([RUN_LOCAL, *args], cwd=cwd, capture_output=True, text=True, timeout=30)


def stamp(name: str) -> list[str]:
    """Arguments of a job that records start/end times in <name>.start/.end (0.6 s apart)."""
    py = (
        "import sys, time; n = sys.argv[1]; open(n + '.start', 'w').write(repr(time.time())); "
        "time.sleep(0.6); open(n + '.end', 'w').write(repr(time.time()))"
    )
    return [sys.executable, "-c", py, name]


def times(d: Path, name: str) -> tuple[float, float]:
    return float((d / f"{name}.start").read_text()), float((d / f"{name}.end").read_text())


def test_jobs_run_in_parallel_with_substitution(tmp_path):
    r = run_local("--max-jobs-run", "3", "JOB=1:3", "log/stamp.JOB.log", *stamp("t.JOB"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    spans = [times(tmp_path, f"t.{i}") for i in (1, 2, 3)]
    assert max(s for s, _ in spans) < min(e for _, e in spans), f"jobs did not overlap: {spans}"
    for i in (1, 2, 3):
        log = (tmp_path / "log" / f"stamp.{i}.log").read_text()
        assert log.startswith(f"# {sys.executable} -c ")
        assert f" t.{i}\n" in log.splitlines()[0] + "\n"
        assert "# Started at " in log and "# Ended (code 0) at " in log
        assert f"(local job {i})" in log


def test_max_jobs_run_one_serialises(tmp_path):
    r = run_local("--max-jobs-run", "1", "JOB=1:2", "log/s.JOB.log", *stamp("s.JOB"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (_, end1), (start2, _) = times(tmp_path, "s.1"), times(tmp_path, "s.2")
    assert start2 >= end1


def test_failing_job_is_named_and_others_finish(tmp_path):
    r = run_local(
        "JOB=1:4", "log/f.JOB.log", "bash", "-c", 'echo out JOB; [ JOB -ne 3 ] || exit 7; touch ok.JOB', cwd=tmp_path
    )
    assert r.returncode == 1
    assert re.search(r"job 3 failed \(exit code 7\); see log/f\.3\.log", r.stderr)
    assert "job 1 " not in r.stderr and "1 / 4 jobs failed" in r.stderr
    assert sorted(p.name for p in tmp_path.glob("ok.*")) == ["ok.1", "ok.2", "ok.4"]
    log3 = (tmp_path / "log" / "f.3.log").read_text()
    assert "out 3" in log3 and "# Ended (code 7)" in log3


def test_single_job_with_pipe_and_any_variable_name(tmp_path):
    r = run_local("log/one.log", "echo", "hello", "|", "tr", "h", "j", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "\njello\n" in (tmp_path / "log" / "one.log").read_text()
    r = run_local("TASK=2:3", "log/t.TASK.log", "echo", "task=TASK", ">", "o.TASK", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.2").read_text() == "task=2\n" and (tmp_path / "o.3").read_text() == "task=3\n"
    assert not (tmp_path / "o.1").exists()


def test_one_job_echoes_its_epoch_lines_to_the_console(tmp_path):
    """A training round is one job whose output goes to its log; its epoch summaries reach the console too."""
    job = ("echo '2026-01-01 10:00:00 INFO [trainer.py:1] epoch 1/2 done: mean loss 1.5'; echo noise; "
           "printf 'bar 50%%\\r2026-01-01 10:00:01 INFO [trainer.py:1] epoch 2/2 done: mean loss 1.1\\n'")
    r = run_local("log/train.log", "bash", "-c", job, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [line.split("] ", 1)[1] for line in r.stdout.splitlines()] == [
        "epoch 1/2 done: mean loss 1.5", "epoch 2/2 done: mean loss 1.1"]
    assert "noise" in (tmp_path / "log" / "train.log").read_text()  # the log keeps everything
    several = run_local("JOB=1:2", "log/x.JOB.log", "bash", "-c", job, cwd=tmp_path)
    assert several.returncode == 0 and "epoch" not in several.stdout  # parallel jobs: logs only


def test_pipefail_and_num_threads(tmp_path):
    r = run_local("log/p.log", "false", "|", "cat", cwd=tmp_path)
    assert r.returncode == 1 and "see log/p.log" in r.stderr
    r = run_local("--num-threads", "3", "log/n.log", "echo", "omp=$OMP_NUM_THREADS", cwd=tmp_path)
    assert r.returncode == 0
    log = (tmp_path / "log" / "n.log").read_text()
    assert "omp=3" in log and "threads=3" in log


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus", "1", "log/x.log", "true"], "unknown option '--bogus'"),
        (["--nj", "1", "log/x.log", "true"], "unknown option '--nj'"),
        (["--mem", "lots", "log/x.log", "true"], "--mem needs a size"),
        (["--max-jobs-run", "0", "log/x.log", "true"], "must be >= 1"),
        (["JOB=3:1", "log/x.JOB.log", "true"], "empty job range"),
        (["JOB=1-4", "log/x.JOB.log", "true"], "bad job range"),
        (["JOB=1:2", "log/x.log", "true"], "would share one log"),
        (["log/x.log"], "usage:"),
    ],
)
def test_bad_arguments(tmp_path, monkeypatch, capsys, args, message):
    from spkssl.launch import local

    monkeypatch.chdir(tmp_path)
    assert local.main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "log").exists()


def test_bad_arguments_through_wrapper(tmp_path):
    r = run_local("--bogus", "1", "log/x.log", "true", cwd=tmp_path)
    assert r.returncode == 2 and "run_local.sh: unknown option '--bogus'" in r.stderr


def test_parse_and_join_in_process():
    spec, opts = parse_launch_args(
        ["--gpu=1", "--mem", "4g", "--num-threads", "2", "JOB=1:2", "exp/log/train.JOB.log", "a", "ark:x JOB|"],
        prog="t",
    )
    assert (opts.gpu, opts.mem, opts.num_threads, opts.max_jobs_run) == (1, "4G", 2, None)
    assert spec.command(2) == "a 'ark:x 2|'" and spec.job_name() == "train"
    assert join_command(['say "hi"', "x"]) == "'say \"hi\"' x"
    with pytest.raises(LaunchError, match="needs a value"):
        parse_launch_args(["--gpu"], prog="t")


def test_default_parallelism_is_bounded_by_cpus(tmp_path, monkeypatch):
    from spkssl.launch import local

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    spec, opts = parse_launch_args(["JOB=1:2", str(tmp_path / "d.JOB.log"), *stamp(str(tmp_path / "d.JOB"))], "t")
    assert local.run_jobs(spec, opts) == []
    (_, end1), (start2, _) = times(tmp_path, "d.1"), times(tmp_path, "d.2")
    assert start2 >= end1
