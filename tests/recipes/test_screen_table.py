"""egs/speechocean762/local/screen_table.py: the RESULTS.md screen tables from score files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "egs" / "speechocean762" / "local" / "screen_table.py"


def _scores(exp: Path, eers: dict[str, float]) -> None:
    scores = exp / "round1" / "scores"
    scores.mkdir(parents=True)
    for trials in ("val", "val_xch", "test", "test_xch"):
        for backend in ("cosine", "plda", "whiten"):
            value = eers.get(f"{trials}.{backend}", 1.0)
            (scores / f"{trials}.{backend}.json").write_text(json.dumps({"eer": value}))


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True)


def test_criterion_is_the_mean_of_the_two_validation_cosine_eers_and_seeds_give_mean_and_std(tmp_path):
    _scores(tmp_path / "exp" / "t_seed0", {"val.cosine": 4.0, "val_xch.cosine": 30.0})
    _scores(tmp_path / "exp" / "t_seed1", {"val.cosine": 6.0, "val_xch.cosine": 34.0})
    one = _run(tmp_path, "exp/t_seed0")
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip().endswith("| 17.00 |")
    over = _run(tmp_path, "--seeds", "0 1", "t")
    assert over.returncode == 0, over.stderr
    assert "| 5.00 ± 1.41 / 1.00 ± 0.00 | 32.00 ± 2.83 / 1.00 ± 0.00 |" in over.stdout
    assert over.stdout.strip().endswith("| 18.50 ± 2.12 (17.00, 20.00) |")


def test_a_missing_score_names_the_file(tmp_path):
    _scores(tmp_path / "exp" / "t_seed0", {})
    (tmp_path / "exp" / "t_seed0" / "round1" / "scores" / "val_xch.cosine.json").unlink()
    out = _run(tmp_path, "exp/t_seed0")
    assert out.returncode != 0
    assert "val_xch.cosine.json: no score" in out.stderr
