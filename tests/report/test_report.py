import json

import numpy as np
import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.report import ReportError, make_report
from spkssl.report.results import gather_rounds, parse_extra_row
from spkssl.scoring.metrics import compute_metrics


def _fake_exp(tmp_path, rounds=(0, 1, 2)):
    rng = np.random.default_rng(0)
    trials = tmp_path / "test.trials"
    pairs = [(f"e{i}", f"t{i}", "target" if i % 4 == 0 else "nontarget") for i in range(200)]
    trials.write_text("".join(f"{a} {b} {c}\n" for a, b, c in pairs))
    labels = np.array([c == "target" for *_, c in pairs])
    exp = tmp_path / "exp" / "tag"
    for r in rounds:
        scores = rng.normal(size=len(pairs)) + (1.0 + r) * labels
        sdir = exp / f"round{r}" / "scores"
        sdir.mkdir(parents=True)
        (sdir / "test.cosine.score").write_text("".join(f"{a} {b} {s:.6f}\n" for (a, b, _), s in zip(pairs, scores)))
        m = compute_metrics(scores, labels)
        (sdir / "test.cosine.json").write_text(json.dumps({**m, "trials": str(trials)}))
        if r >= 1:
            (exp / f"round{r}" / "pseudo").mkdir()
            (exp / f"round{r}" / "pseudo" / "cluster_stats.json").write_text(json.dumps({
                "num_clusters": 100 + r, "kept_fraction": 0.9,
                "true_label_metrics": {"all_before_purification": {"nmi": 0.5 + 0.1 * r}}}))
    ref = tmp_path / "sup.json"
    ref.write_text(json.dumps({"eer": 1.5, "eer_roc": 1.6, "mindcf_0.01": 0.2, "mindcf_0.05": 0.1}))
    return exp, trials, ref


def test_report_table_and_figures(tmp_path):
    exp, trials, ref = _fake_exp(tmp_path)
    text = make_report(exp, "test", "cosine", trials=trials,
                       extra_rows=[f"supervised={ref}", f"absent={tmp_path / 'nope.json'}"])
    assert (exp / "RESULTS.md").read_text() == text
    rows = [l for l in text.splitlines() if l.startswith("| round") or l.startswith("| supervised")]
    assert len(rows) == 4 and "absent" not in text
    assert "| supervised | 1.50 | 1.60 | 0.2000 | 0.1000 | - | - | - |" in text
    r2 = next(l for l in rows if l.startswith("| round 2"))
    assert "| 0.700 | 102 | 0.900 |" in r2
    assert "**test**" in text and "**cosine**" in text
    for png in ("eer_by_round.png", "det_all_rounds.png"):
        data = (exp / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_missing_round_tolerated_malformed_json_not(tmp_path):
    exp, _, _ = _fake_exp(tmp_path)
    (exp / "round3").mkdir()  # started, not scored
    rows = gather_rounds(exp, "test", "cosine")
    assert [r.round for r in rows] == [0, 1, 2, 3] and rows[3].metrics is None
    (exp / "round1" / "scores" / "test.cosine.json").write_text("{not json")
    with pytest.raises(ReportError, match=r"round1/scores/test.cosine.json: malformed JSON"):
        gather_rounds(exp, "test", "cosine")
    (exp / "round1" / "scores" / "test.cosine.json").write_text('{"eer": 3}')
    with pytest.raises(ReportError, match="missing or non-numeric"):
        gather_rounds(exp, "test", "cosine")
    with pytest.raises(ReportError, match="LABEL=path"):
        parse_extra_row("no-equals-sign")


def test_cli_prints_table_to_custom_out(tmp_path):
    exp, trials, _ = _fake_exp(tmp_path, rounds=(0, 1))
    out = tmp_path / "rep" / "R.md"
    r = CliRunner().invoke(cli, ["report", "--exp", str(exp), "--trials-name", "test",
                                 "--backend", "cosine", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "| round 1 |" in r.output and out.is_file()
    assert (out.parent / "det_all_rounds_R.png").is_file()  # named after R.md; trials from the metrics JSON
    r = CliRunner().invoke(cli, ["report", "--exp", str(tmp_path / "nope")])
    assert r.exit_code != 0


def test_experiment_report_has_files_per_backend(tmp_path):
    from spkssl.config import load_config, save_config

    exp, trials, _ = _fake_exp(tmp_path, rounds=(0, 1))
    save_config(load_config(None, [f"inputs.trials.test={trials}", "score.backends=[cosine,plda]"]),
                exp / "config.yaml")
    (exp / "baseline" / "scores").mkdir(parents=True)
    base = json.loads((exp / "round0" / "scores" / "test.cosine.json").read_text())
    (exp / "baseline" / "scores" / "test.cosine.json").write_text(json.dumps(base))
    plda = {"eer_kaldi": 4.25, "eer_roc": 4.3, "mindcf_0.01": 0.5, "mindcf_0.05": 0.3, "trials": str(trials)}
    (exp / "round1" / "scores" / "test.plda.json").write_text(json.dumps(plda))  # PLDA: round 1 only
    r = CliRunner().invoke(cli, ["report", "--exp", str(exp)])
    assert r.exit_code == 0, r.output
    cosine, plda_md = (exp / "RESULTS.md").read_text(), (exp / "RESULTS_plda.md").read_text()
    assert "**cosine**" in cosine and "| untrained log-mel stats |" in cosine
    assert "**plda**" in plda_md and "untrained" not in plda_md  # the baseline has no PLDA: no row
    assert "| round 1 | 4.25 | 4.30 | 0.5000 | 0.3000 |" in plda_md and "| round 0 | - |" in plda_md
    assert (exp / "eer_by_round_plda.png").is_file()


def test_the_report_plots_every_rounds_loss_by_epoch(tmp_path):
    from spkssl.config import load_config, save_config

    exp, trials, _ = _fake_exp(tmp_path, rounds=(0, 1))
    save_config(load_config(None, [f"inputs.trials.test={trials}", "rounds.num_rounds=1"]), exp / "config.yaml")
    (exp / "round0" / "train_summary.json").write_text(json.dumps({"objective": "dino", "epoch_losses": [8.0, 6.5]}))
    (exp / "round1" / "train_summary.json").write_text(
        json.dumps({"objective": "classification", "epoch_losses": [12.0, 7.0, 5.5, 5.4]}))
    r = CliRunner().invoke(cli, ["report", "--exp", str(exp)])
    assert r.exit_code == 0, r.output
    png = exp / "loss_by_epoch.png"
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"


def test_a_joint_rounds_parts_are_drawn_in_panels_of_their_own(tmp_path, monkeypatch):
    from spkssl.config import load_config, save_config
    from spkssl.steps import report as report_step

    exp, trials, _ = _fake_exp(tmp_path, rounds=(0, 1))
    save_config(load_config(None, [f"inputs.trials.test={trials}", "rounds.num_rounds=1"]), exp / "config.yaml")
    (exp / "round0" / "train_summary.json").write_text(json.dumps({"objective": "dino", "epoch_losses": [8.0, 6.5],
                                                                   "dino_epochs": [{"teacher_entropy": 3.0}] * 2}))
    (exp / "round1" / "train_summary.json").write_text(json.dumps({
        "objective": "dino_classification", "epoch_losses": [12.0, 9.0],
        "dino_epochs": [{"classification_loss": 8.0, "dino_loss": 4.0}, {"classification_loss": 5.5, "dino_loss": 3.5}]}))
    drawn = {}
    monkeypatch.setattr(report_step, "plot_loss_curves", lambda curves, out, title: drawn.update(curves))
    r = CliRunner().invoke(cli, ["report", "--exp", str(exp)])
    assert r.exit_code == 0, r.output
    assert drawn == {"round 0": ("dino", [8.0, 6.5]), "round 1": ("dino_classification", [12.0, 9.0]),
                     "round 1: classification part": ("dino_classification: classification part", [8.0, 5.5]),
                     "round 1: dino part": ("dino_classification: dino part", [4.0, 3.5])}
