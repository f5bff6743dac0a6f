"""local/recipe_lib.sh: log/die format, stage selection, .done markers and force."""
from __future__ import annotations

import re
from pathlib import Path

from tests.plumbing.conftest import proc_stat

HEAD = """#!/usr/bin/env bash
set -euo pipefail
stage=2
stop_stage=4
force=false
. "$REPO/local/parse_options.sh"
. "$REPO/local/recipe_lib.sh"
"""

LOG_RE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(recipe\.sh:(\d+):(\w+)\) (.*)$"


def test_log_format_names_file_line_function(bash, tmp_path):
    script = HEAD + 'prep() {\n  log "inside prep"\n}\nlog "Stage 1: hello"\nprep\n'
    (tmp_path / "recipe.sh").write_text(script)
    r = bash('bash recipe.sh')
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    m1, m2 = re.match(LOG_RE, lines[0]), re.match(LOG_RE, lines[1])
    assert m1 and m2, lines
    assert m1.groups() == ("11", "main", "Stage 1: hello")
    assert m2.groups() == ("9", "prep", "inside prep")


def test_die_exits_nonzero_with_message(bash, tmp_path):
    (tmp_path / "recipe.sh").write_text(HEAD + 'die "no data in x"\necho unreachable\n')
    r = bash("bash recipe.sh")
    assert r.returncode == 1
    assert "unreachable" not in r.stdout
    assert re.search(r"\(recipe\.sh:8:main\) ERROR: no data in x", r.stderr)


def test_stage_enabled_range(bash):
    script = HEAD + 'for n in 0 1 2 3 4 5 10; do if stage_enabled $n; then echo "on $n"; fi; done\n'
    assert bash(script).stdout.split("\n")[:-1] == ["on 2", "on 3", "on 4"]
    r = bash(script, "--stage", "0", "--stop-stage", "0")
    assert r.stdout.strip() == "on 0"


def test_stage_enabled_rejects_bad_numbers(bash):
    r = bash(HEAD + "stage_enabled x && echo yes\necho after\n")
    assert r.returncode == 1 and "stage number must be an integer" in r.stderr
    assert "after" not in r.stdout
    r = bash(HEAD + "stage_enabled 3 && echo yes\n", "--stop-stage", "five")
    assert r.returncode == 1 and "stop_stage" in r.stderr


def test_stage_markers_and_force(bash, tmp_path):
    script = HEAD + """d=$1
if stage_done "$d" fbank; then echo skip; else echo run; mark_stage_done "$d" fbank; fi
"""
    out = tmp_path / "exp" / "fbank"
    assert bash(script, str(out)).stdout.strip() == "run"
    marker = out / ".fbank.done"
    assert marker.is_file() and re.match(r"\d{4}-\d\d-\d\d", marker.read_text())
    assert bash(script, str(out)).stdout.strip() == "skip"
    assert bash(script, "--force", "true", str(out)).stdout.strip() == "run"
    assert bash(script, str(out)).stdout.strip() == "skip"
    assert not list(out.glob("*.tmp.*"))


def test_marker_arguments_are_checked(bash, tmp_path):
    r = bash(HEAD + 'mark_stage_done "$1" a/b\n', str(tmp_path))
    assert r.returncode == 1 and "must not contain '/'" in r.stderr
    r = bash(HEAD + "stage_done onlyone\n")
    assert r.returncode == 1 and "usage: stage_done DIR NAME" in r.stderr
    r = bash(HEAD + 'force=maybe\nstage_done "$1" x\n', str(tmp_path))
    assert r.returncode == 1 and "force must be true or false" in r.stderr


LOCKED = HEAD + 'lock_experiment "$1"\necho "locked $1"\nsleep "${2:-0}"\n'


def _popen_locked(tmp_path, exp: str, seconds: str):
    import os
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "locked.sh").write_text(LOCKED)
    env = dict(os.environ, REPO=str(repo), PYTHONPATH=str(repo))
    proc = subprocess.Popen(["bash", str(tmp_path / "locked.sh"), exp, seconds], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group, as a recipe run from a terminal
    assert proc.stdout.readline().strip() == f"locked {exp}"  # it holds the lock now
    return proc, env


def test_lock_experiment_refuses_a_second_run_naming_the_holder(bash, tmp_path):
    first, env = _popen_locked(tmp_path, "exp/a", "30")
    try:
        r = bash(LOCKED, "exp/a", env={"PYTHONPATH": env["PYTHONPATH"]})
        assert r.returncode == 1 and "locked" not in r.stdout
        assert re.search(rf"ERROR: experiment exp/a is in use: exp/a/\.lock is held by pid {first.pid} on \S+ "
                         r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d: bash .*locked\.sh exp/a 30", r.stderr), r.stderr
        other = bash(LOCKED, "exp/b", env={"PYTHONPATH": env["PYTHONPATH"]})  # another experiment is free
        assert other.returncode == 0, other.stderr
    finally:
        first.kill()
        first.wait()


def test_lock_experiment_takes_over_after_a_kill_and_is_clean_after_a_normal_exit(bash, tmp_path):
    import os
    import signal

    first, env = _popen_locked(tmp_path, "exp/a", "30")
    os.killpg(first.pid, signal.SIGKILL)  # kill -9 of the recipe's group (its `sleep` too): no trap runs
    first.wait()
    assert f"pid {first.pid}" in (tmp_path / "exp" / "a" / ".lock").read_text()
    r = bash(LOCKED, "exp/a", env={"PYTHONPATH": env["PYTHONPATH"]})
    assert r.returncode == 0, r.stderr
    assert f"taking over exp/a/.lock from pid {first.pid}" in r.stderr and "ended without releasing it" in r.stderr
    assert (tmp_path / "exp" / "a" / ".lock").read_text() == ""  # a clean exit leaves no name
    r = bash(LOCKED, "exp/a", env={"PYTHONPATH": env["PYTHONPATH"]})
    assert r.returncode == 0 and "taking over" not in r.stderr


def test_a_child_left_running_by_a_killed_recipe_is_named_as_the_holder(bash, tmp_path):
    """kill -9 of run.sh alone: its `sleep` keeps the lock open; the refusal says so and how to find it."""
    import os
    import signal

    first, env = _popen_locked(tmp_path, "exp/a", "30")
    try:
        import time

        deadline = time.monotonic() + 30
        while not any(p.name.isdigit() and (proc_stat(p.name) or ["", ""])[1] == str(first.pid)
                      for p in Path("/proc").iterdir()):  # its `sleep` has started
            assert time.monotonic() < deadline
            time.sleep(0.05)
        first.kill()  # the shell only
        first.wait()
        r = bash(LOCKED, "exp/a", env={"PYTHONPATH": env["PYTHONPATH"]})
        assert r.returncode == 1
        assert f"was taken by pid {first.pid}" in r.stderr and "which has ended" in r.stderr
        assert "fuser -v exp/a/.lock" in r.stderr
    finally:
        try:
            os.killpg(first.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
