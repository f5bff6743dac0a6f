"""spkssl.utils.lock: a held lock names its holder, a dead holder's lock is taken over, a clean end leaves no name."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spkssl.utils.lock import LockHeld, hold

REPO = Path(__file__).resolve().parents[2]
HOLDER = "from spkssl.utils.lock import hold; import sys, time\nwith hold(sys.argv[1], 'x'):\n    print('held', flush=True)\n    time.sleep(60)\n"


def start_holder(path: Path) -> subprocess.Popen:
    """Another process holding ``path`` (returns once it holds it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_lock_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "r0" / ".train.lock"
    holder = start_holder(path)
    try:
        with pytest.raises(LockHeld, match=rf"round 0 is in use: {path} is held by pid {holder.pid} on \S+ since "
                                           r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: \S*python\S* -c from spkssl"):
            with hold(path, "round 0"):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / ".train.lock"
    holder = start_holder(path)
    holder.kill()
    holder.wait()
    with hold(path, "round 0") as stale:
        assert stale.startswith(f"pid {holder.pid} on ")
        assert f"pid {os.getpid()} on " in path.read_text()
    assert f"round 0: taking over {path} from pid {holder.pid}" in caplog.text
    assert path.read_text() == ""
    with hold(path, "round 0") as stale:
        assert stale == ""
