"""The experiment report: RESULTS.md, eer_by_round.png and det_all_rounds.png over all rounds.

Example:
    >>> text = make_report("exp/mini", "test", "cosine",
    ...                    extra_rows=["untrained=exp/logmel/scores/test.cosine.json"])  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from spkssl.report.plots import plot_det_all_rounds, plot_eer_by_round
from spkssl.report.results import (
    ReportError, Row, gather_rounds, parse_extra_row, read_json, read_metrics, results_markdown,
)
from spkssl.scoring.io import read_scored_trials
from spkssl.scoring.metrics import det_curve
from spkssl.utils.io import write_text_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def _det_curves(rows: Sequence[Row], trials: str | None) -> tuple[dict, dict]:
    curves, eers = {}, {}
    for row in rows:
        if row.metrics is None or row.metrics_path is None:
            continue
        score_file = row.metrics_path.with_suffix(".score")
        trials_path = trials or row.metrics.get("trials")
        if not score_file.is_file() or not trials_path or not Path(trials_path).is_file():
            log.warning("%s: no score file %s or trial list %s; no DET curve", row.label,
                        score_file, trials_path)
            continue
        scores, labels = read_scored_trials(score_file, trials_path)
        curves[row.label] = det_curve(scores, labels)
        eers[row.label] = float(row.metrics["eer_roc"])
    return curves, eers


def make_report(
    exp_dir: str | Path, trials_name: str, backend: str = "cosine", *, out: str | Path | None = None,
    trials: str | Path | None = None, extra_rows: Sequence[str] = (),
) -> str:
    """Write RESULTS.md (``out``, default ``exp_dir/RESULTS.md``) and both figures; return the text.

    ``trials`` is the trial list used for the DET curves (default: the path
    recorded in each metrics JSON).  ``extra_rows`` are ``LABEL=metrics.json``
    reference systems, shown as table rows and horizontal lines in the EER plot.
    """
    exp = Path(exp_dir)
    rows = gather_rounds(exp, trials_name, backend)
    extra = [r for r in (parse_extra_row(s) for s in extra_rows) if r is not None]
    out_md = Path(out) if out else exp / "RESULTS.md"
    suffix = out_md.stem[len("RESULTS"):] if out_md.stem.startswith("RESULTS") else f"_{out_md.stem}"
    eer_png, det_png = f"eer_by_round{suffix}.png", f"det_all_rounds{suffix}.png"
    text = results_markdown(rows, extra, trials_name, backend, exp_dir=exp.name, figures=(eer_png, det_png))
    scored = [r for r in rows if r.metrics is not None]
    if scored:
        plot_eer_by_round(
            [r.round for r in scored], [r.metrics["eer_kaldi"] for r in scored],
            {r.label: float(r.metrics["eer_kaldi"]) for r in extra}, out_md.parent / eer_png,
            title=f"EER by round ({trials_name}, {backend})",
            eers_roc=[r.metrics["eer_roc"] for r in scored],
        )
        curves, eers = _det_curves(scored, str(trials) if trials else None)
        if curves:
            plot_det_all_rounds(curves, eers, out_md.parent / det_png,
                                title=f"DET, all rounds ({trials_name}, {backend})")
    else:
        log.warning("no scored round under %s: figures not written", exp)
    write_text_atomic(out_md, text)
    log.info("wrote %s (%d rounds, %d extra rows)", out_md, len(rows), len(extra))
    return text


__all__ = ["ReportError", "Row", "gather_rounds", "make_report", "read_json", "read_metrics",
           "results_markdown"]
