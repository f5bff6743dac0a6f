"""The report over repeated runs: mean ± std per round and reference, NMI, each run's EER, the error-bar figure."""
from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import load_config, save_config, with_repetition_seed
from spkssl.experiment import Experiment
from spkssl.report.results import ReportError
from spkssl.steps.report_seeds import check_repetitions, gather_spread, spread

EERS = {0: [10.0, 12.0, 11.0], 1: [9.0, 9.5, 7.0], 2: [8.0, 6.0, 7.0]}  # round -> EER of seeds 0, 1, 2
NMI = {1: [0.80, 0.84, 0.82], 2: [0.88, 0.90, 0.86]}
SUPERVISED = [6.0, 6.5, 7.0]


def _metrics(path: Path, eer: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"eer_kaldi": eer, "eer_roc": eer + 0.01, "mindcf_0.01": eer / 20,
                                "mindcf_0.05": eer / 40}))


def _runs(tmp_path: Path, *extra: str) -> list[Path]:
    cfg = load_config(None, ["inputs.trials.test=trials/test.trials", "inputs.val_trials.val=trials/val.trials",
                             "rounds.num_rounds=2", *extra])
    runs = []
    for seed in range(3):
        run = tmp_path / "exp" / f"cpu_seed{seed}"
        save_config(with_repetition_seed(cfg, seed), run / "config.yaml")
        for name in ("test", "val"):
            _metrics(run / "baseline" / "scores" / f"{name}.cosine.json", 15.0)
            for r, eers in EERS.items():
                _metrics(run / f"round{r}" / "scores" / f"{name}.cosine.json", eers[seed] + (name == "val"))
        for r, nmis in NMI.items():
            (run / f"round{r}" / "pseudo").mkdir(parents=True, exist_ok=True)
            (run / f"round{r}" / "pseudo" / "cluster_stats.json").write_text(json.dumps(
                {"true_label_metrics": {"all_before_purification": {"nmi": nmis[seed]}}}))
        sup = tmp_path / "exp" / f"cpu_seed{seed}_supervised"
        _metrics(sup / "round0" / "scores" / "test.cosine.json", SUPERVISED[seed])
        runs.append(run)
    return runs


def _report(runs: list[Path], out: Path, *extra: str):
    args = ["report", *[a for r in runs for a in ("--exp", str(r), "--reference",
                                                  f"supervised (true labels)={r}_supervised")],
            "--out-dir", str(out), *extra]
    return CliRunner().invoke(cli, args)


def test_mean_and_sample_std_per_round_reference_and_nmi(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    out = tmp_path / "exp" / "cpu_seeds"
    result = _report(runs, out)
    assert result.exit_code == 0, result.output
    text = (out / "RESULTS.md").read_text()
    for r, eers in EERS.items():
        mean, std = statistics.mean(eers), statistics.stdev(eers)
        nmi = f"{statistics.mean(NMI[r]):.3f} ± {statistics.stdev(NMI[r]):.3f}" if r in NMI else "-"
        dcf = f"{statistics.mean(eers) / 20:.4f} ± {statistics.stdev(eers) / 20:.4f}"
        each = ", ".join(f"{e:.2f}" for e in eers)
        assert f"| round {r} | 3 | {mean:.2f} ± {std:.2f} | {dcf} |" in text and f"| {nmi} | {each} |" in text
    assert "| untrained log-mel stats | 3 | 15.00 ± 0.00 |" in text
    sup = f"{statistics.mean(SUPERVISED):.2f} ± {statistics.stdev(SUPERVISED):.2f}"
    assert f"| supervised (true labels) | 3 | {sup} |" in text
    assert "Trial list: **test**" in text and "eer_by_round.png" in text
    val = (out / "RESULTS_val.md").read_text()
    assert f"| round 2 | 3 | {statistics.mean(EERS[2]) + 1:.2f} ±" in val
    assert "| supervised (true labels) | 0 | - |" in val  # its folder has no val scores
    for png in ("eer_by_round.png", "eer_by_round_val.png"):
        assert (out / png).stat().st_size > 1000
    again = _report(runs, out)
    assert again.exit_code == 0 and "round 0" not in again.output  # up to date: nothing rewritten


def test_a_missing_round_counts_fewer_runs(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    (runs[2] / "round2" / "scores" / "test.cosine.json").unlink()
    rows = gather_spread([Experiment(r) for r in runs], [], "test", "cosine")
    row = next(r for r in rows if r.round == 2)
    assert row.values("eer_kaldi") == EERS[2][:2] and row.metrics[2] is None
    assert spread([1.0]) == (1.0, 0.0, 1)


def test_runs_of_different_settings_and_bad_usage_are_refused(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    other = tmp_path / "other"
    save_config(load_config(None, ["inputs.trials.test=trials/test.trials", "rounds.num_rounds=2",
                                   "loss.classification.gate=lgl"]), other / "config.yaml")
    with pytest.raises(ReportError, match=r"is not a repetition of .*differ in inputs.val_trials.val, "
                                          r"loss.classification.gate"):
        check_repetitions([Experiment(runs[0]), Experiment(other)])
    mixed = _report([runs[0], other], tmp_path / "x")
    assert mixed.exit_code != 0 and "is not a repetition" in mixed.output
    alone = CliRunner().invoke(cli, ["report", "--exp", str(runs[0]), "--out-dir", str(tmp_path / "y")])
    assert alone.exit_code != 0 and "--out-dir goes with several --exp" in alone.output


def test_every_backend_gets_its_own_files(tmp_path: Path) -> None:
    runs = _runs(tmp_path, "score.backends=[cosine,plda]")
    for seed, run in enumerate(runs):  # PLDA needs (pseudo) speakers: rounds >= 1 and the supervised reference
        for r in (1, 2):
            _metrics(run / f"round{r}" / "scores" / "test.plda.json", EERS[r][seed] - 3)
        _metrics(Path(f"{run}_supervised") / "round0" / "scores" / "test.plda.json", SUPERVISED[seed] - 3)
    out = tmp_path / "exp" / "cpu_seeds"
    result = _report(runs, out)
    assert result.exit_code == 0, result.output
    plda = (out / "RESULTS_plda.md").read_text()
    assert "back-end: **plda**" in plda and "eer_by_round_plda.png" in plda
    assert f"| round 2 | 3 | {statistics.mean(EERS[2]) - 3:.2f} ± {statistics.stdev(EERS[2]):.2f} |" in plda
    assert "| round 0 | 0 | - |" in plda and "| untrained log-mel stats | 0 | - |" in plda
    assert f"| supervised (true labels) | 3 | {statistics.mean(SUPERVISED) - 3:.2f} ±" in plda
    assert (out / "eer_by_round_plda.png").stat().st_size > 1000
    assert "| round 1 | 0 | - |" in (out / "RESULTS_val_plda.md").read_text()  # no val PLDA scores written
    cosine = (out / "RESULTS.md").read_text()
    assert "back-end: **cosine**" in cosine and f"| round 2 | 3 | {statistics.mean(EERS[2]):.2f} ±" in cosine


def test_a_report_over_other_runs_is_not_up_to_date(tmp_path: Path) -> None:
    runs = _runs(tmp_path)
    out = tmp_path / "exp" / "cpu_seeds"
    assert _report(runs[1:], out).exit_code == 0
    assert "Results over 2 runs" in (out / "RESULTS.md").read_text()
    again = _report(runs, out)  # seed 0 joins: its scores are older than the report, the run list is not
    assert again.exit_code == 0, again.output
    assert "Results over 3 runs" in (out / "RESULTS.md").read_text()
    assert "round 0" not in _report(runs, out).output  # now up to date
