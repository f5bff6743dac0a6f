"""Fixtures for the recipe plumbing tests: run bash snippets against the repo's scripts."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bash(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run a bash script (text) with ``args``; returns the completed process (text output).

    ``$REPO`` is set to the repository root; the working directory is ``tmp_path``
    unless ``cwd`` is given; ``env`` entries are added to the environment.
    """

    def run(
        script: str,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 20,
    ) -> subprocess.CompletedProcess:
        path = tmp_path / f"script_{abs(hash(script))}.sh"
        path.write_text(script)
        full_env = dict(os.environ, REPO=str(REPO), **(env or {}))
        return subprocess.run(
            ["bash", str(path), *args],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


def proc_stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, pgrp, ...); None when gone."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
