"""egs/speechocean762/local/backend_rows.py: RESULTS.md's 3-back-end rows from `spkssl report` files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "egs" / "speechocean762" / "local" / "backend_rows.py"
HEADER = ("| system | runs | EER % (Kaldi) | minDCF 0.01 | minDCF 0.05 | NMI of its pseudo labels | EER % of each run |\n"
          "|---|---|---|---|---|---|---|\n")


def _report(path: Path, eer: str, runs: str) -> None:
    path.write_text("# Results over 2 runs\n\n" + HEADER
                    + f"| round 1 | 2 | {eer} | 0.5000 ± 0.0100 | 0.4 | 0.860 ± 0.009 | {runs} |\n"
                    + "| supervised (true labels) | 0 | - | - | - | - | -, - |\n")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_rows_put_the_three_back_ends_side_by_side_and_skip_systems_without_runs(tmp_path: Path) -> None:
    _report(tmp_path / "RESULTS_test_xch.md", "30.00 ± 1.00", "29.00, 31.00")
    _report(tmp_path / "RESULTS_test_xch_plda.md", "28.00 ± 2.00", "26.00, 30.00")
    _report(tmp_path / "RESULTS_test_xch_whiten.md", "27.00 ± 0.50", "26.50, 27.50")
    out = _run(str(tmp_path), "test_xch")
    assert out.returncode == 0, out.stderr
    assert out.stdout == ("| round 1 | 30.00 ± 1.00 | 28.00 ± 2.00 | 27.00 ± 0.50 | 0.5000 ± 0.0100 / 0.5000 ± 0.0100 / "
                          "0.5000 ± 0.0100 | 0.860 ± 0.009 | 29.00, 31.00 / 26.00, 30.00 / 26.50, 27.50 |\n")


def test_a_missing_report_is_named(tmp_path: Path) -> None:
    out = _run(str(tmp_path), "test")
    assert out.returncode != 0 and f"{tmp_path / 'RESULTS.md'}: no report" in out.stderr
