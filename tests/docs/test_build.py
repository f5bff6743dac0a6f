"""The manual builds with warnings as errors, its CLI and API references generated from the code."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_manual_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("sphinx_click", reason="the docs extra: pip install -e '.[docs]'")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-b", "html", "-q",
                           "-d", str(tmp_path / "doctrees"), str(REPO / "docs"), str(tmp_path / "html")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    cli = (tmp_path / "html" / "reference" / "cli.html").read_text(encoding="utf-8")
    assert "spkssl-embed" in cli and "--threads" in cli and "--nodes" in cli  # from the click definitions
    api = tmp_path / "html" / "reference" / "_api"
    assert (api / "spkssl.scoring.backends.html").is_file() and (api / "spkssl.steps.score.html").is_file()
