"""Jobs never outlive the recipe (spkssl.launch.lifetime): die-with-parent, the launcher's reaper, appended logs."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spkssl.launch.lifetime import ENV, Reaper
from tests.plumbing.conftest import proc_stat

REPO = Path(__file__).resolve().parents[2]
RUN_LOCAL = str(REPO / "local" / "run_local.sh")
WAIT_S = 30.0  # how long a test waits for processes to go (they go in well under a second)


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = proc_stat(pid)
    return fields is not None and fields[0] != "Z"


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def read_pid(path: Path) -> int:
    wait_for(lambda: path.is_file() and path.read_text().strip(), f"{path} was not written")
    return int(path.read_text())


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def job_that_records_its_pid(name: str) -> list[str]:
    """Launcher arguments of a job that writes its pid to ``<name>.JOB.pid`` and sleeps."""
    return ["JOB=1:2", f"log/{name}.JOB.log", "bash", "-c", f"echo $$ > {name}.JOB.pid; exec sleep 300"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process lifetime uses Linux prctl")
def test_kill_9_of_the_launcher_stops_its_jobs(tmp_path: Path) -> None:
    launcher = subprocess.Popen([RUN_LOCAL, *job_that_records_its_pid("j")], cwd=tmp_path, env=env(),
                                stderr=subprocess.PIPE, text=True)
    jobs = [read_pid(tmp_path / f"j.{i}.pid") for i in (1, 2)]
    launcher.kill()  # SIGKILL: no handler runs; the reaper notices
    launcher.wait()
    wait_for(lambda: not any(alive(p) for p in jobs), f"jobs {jobs} outlived their killed launcher")
    assert "died with jobs running: stopping process group(s)" in launcher.stderr.read()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process lifetime uses Linux prctl")
def test_kill_9_of_a_recipe_stops_the_launcher_and_its_jobs(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.sh"  # a recipe's shell: run.sh runs $cmd and waits
    recipe.write_text(shlex.join([RUN_LOCAL, *job_that_records_its_pid("r")]) + " &\necho $! > launcher.pid\nwait\n")
    recipe.write_text(f"export {ENV}=$$\n" + recipe.read_text())  # as recipe_lib.sh does
    shell = subprocess.Popen(["bash", str(recipe)], cwd=tmp_path, env=env(), stderr=subprocess.DEVNULL)
    jobs = [read_pid(tmp_path / f"r.{i}.pid") for i in (1, 2)]
    launcher = read_pid(tmp_path / "launcher.pid")
    shell.kill()  # kill -9 of run.sh alone
    shell.wait()
    wait_for(lambda: not any(alive(p) for p in [launcher, *jobs]), "the launcher or its jobs outlived the recipe")
    log = (tmp_path / "log" / "r.1.log").read_text()
    assert "# Ended (code 143)" in log  # stopped by the launcher's SIGTERM handling, footer written


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process lifetime uses Linux prctl")
def test_a_spkssl_command_dies_with_the_recipe_only_under_a_recipe(tmp_path: Path) -> None:
    code = "from spkssl.launch.lifetime import die_with_parent; import time; die_with_parent(); time.sleep(300)"
    for under_recipe in (True, False):
        export = f"export {ENV}=$$; " if under_recipe else f"unset {ENV}; "  # what recipe_lib.sh does
        parent = subprocess.Popen(["bash", "-c", f"{export}{sys.executable} -c '{code}' & echo $!; wait"],
                                  stdout=subprocess.PIPE, text=True, env=env())
        child = int(parent.stdout.readline())
        time.sleep(0.5)  # let the child reach die_with_parent (a later death is caught by it too)
        parent.kill()
        parent.wait()
        if under_recipe:
            wait_for(lambda: not alive(child), "the command outlived its recipe")
        else:
            assert alive(child), "outside a recipe a command keeps running (nohup-style use)"
            os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process lifetime uses Linux prctl")
def test_a_command_whose_recipe_died_while_it_started_stops_at_once() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs: the recipe was killed before the command got going
    code = "from spkssl.launch.lifetime import die_with_parent; import time; die_with_parent(); time.sleep(300)"
    late = subprocess.run([sys.executable, "-c", code], env=env(**{ENV: str(gone.pid)}), timeout=WAIT_S)
    assert late.returncode == -signal.SIGTERM


def test_a_reaper_that_is_closed_stops_nothing(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        reaper = Reaper()
        reaper.watch_group(sleeper.pid)
        reaper.close()
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_logs_are_appended_with_a_header_per_attempt(tmp_path: Path) -> None:
    for word in ("first", "second"):
        r = subprocess.run([RUN_LOCAL, "log/a.log", "echo", word], cwd=tmp_path, env=env(), capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    log = (tmp_path / "log" / "a.log").read_text()
    assert log.count("# Started at ") == 2 and log.index("first") < log.index("second")
    assert "\x00" not in log


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process lifetime uses Linux prctl")
def test_a_job_is_watched_before_its_command_runs(tmp_path: Path) -> None:
    """A launcher killed right after starting a job (before it could tell its reaper) still stops it."""
    argv = ["JOB=1:1", str(tmp_path / "log" / "j.JOB.log"), "bash", "-c", f"echo $$ > {tmp_path}/j.pid; exec sleep 300"]
    code = ("import os\n"
            "from spkssl.launch import parse_launch_args\n"
            "from spkssl.launch.lifetime import Reaper\n"
            "from spkssl.launch.local import _start\n"
            f"spec, opts = parse_launch_args({argv!r}, 'x')\n"
            "reaper = Reaper()\n"
            "_start(spec, opts, 1, reaper)\n"
            "os._exit(0)  # gone at once: nothing after _start ran\n")
    subprocess.run([sys.executable, "-c", code], env=env(), check=True, stderr=open(tmp_path / "err", "w"))
    wait_for(lambda: "stopping process group(s) [" in (tmp_path / "err").read_text(), "the reaper stopped nothing")
    group = int((tmp_path / "err").read_text().split("process group(s) [")[1].split("]")[0])

    def group_alive() -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return any(alive(int(p.name)) for p in Path("/proc").iterdir()
                   if p.name.isdigit() and (proc_stat(p.name) or ["", "", ""])[2] == str(group))

    wait_for(lambda: not group_alive(), f"job group {group} outlived a launcher that died right after starting it")
