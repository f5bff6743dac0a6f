"""Mean ± standard deviation over repeated runs of one setting (``spkssl report --exp E0 --exp E1 --out-dir D``).

``run.sh --seeds "0 1 2"`` makes one experiment per repetition seed, ``exp/<tag>_seed<S>``;
they differ only in the seeds of :data:`spkssl.config.REPETITION_SEED_KEYS`, and runs
whose configs differ in anything else are refused, so a mean never mixes two settings.
For every trial list of the runs, ``D/RESULTS.md`` (first evaluation list) and
``D/RESULTS_<list>.md`` show, per system (the untrained baseline, every round, every
reference), the mean ± sample standard deviation of EER and minDCF over the runs, the
NMI of each round's pseudo labels, the number of runs with a result, and each run's
EER; ``D/eer_by_round[_<list>].png`` plots the mean EER by round with ±1 std error
bars.  Those use the first back-end of ``score.backends``; every further back-end B
gets the same files with ``_B`` added (``D/RESULTS_plda.md``, ``D/eer_by_round_val_plda.png``).
References (``LABEL=DIR``) that share a label are the runs of one reference (e.g. the
supervised reference of each seed) and are aggregated alike.

Example:
    >>> spread([10.0, 12.0, 11.0])
    (11.0, 1.0, 3)
    >>> cell([7.5, 8.5], ".2f"), cell([], ".2f")
    ('8.00 ± 0.71', '-')
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from spkssl.config import REPETITION_SEED_KEYS, diff_configs
from spkssl.experiment import Experiment
from spkssl.steps.report import (
    BASELINE_LABEL, parse_reference, record_inputs, report_inputs, report_outputs, up_to_date,
)
from spkssl.report.plots import plot_eer_spread_by_round
from spkssl.report.results import ReportError, cluster_nmi, find_rounds, read_json, read_metrics
from spkssl.utils.io import write_text_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)
#: the metrics of the table, in column order (EER first)
COLUMNS = ("eer_kaldi", "mindcf_0.01", "mindcf_0.05")


def spread(values: Sequence[float]) -> tuple[float, float, int]:
    """``(mean, sample standard deviation, n)``; the deviation of one value is 0, of none NaN."""
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std, n


def cell(values: Sequence[float], fmt: str) -> str:
    """``mean ± std`` of ``values`` in format ``fmt``; ``-`` for none."""
    mean, std, n = spread(values)
    return "-" if n == 0 else f"{format(mean, fmt)} ± {format(std, fmt)}"


@dataclass
class SpreadRow:
    """One system over the runs: its metrics per run (None where a run has no result) and pseudo-label NMIs."""

    label: str
    round: int | None = None
    metrics: list[dict | None] = field(default_factory=list)
    nmi: list[float | None] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        return [float(m[key]) for m in self.metrics if m is not None]


def _metrics(path: Path) -> dict | None:
    return read_metrics(path) if path.is_file() else None


def check_repetitions(runs: Sequence[Experiment]) -> None:
    """Refuse runs whose configs differ in more than their repetition seeds (naming the keys)."""
    first = runs[0]
    for run in runs[1:]:
        diff = [k for k in diff_configs(first.cfg, run.cfg) if k not in REPETITION_SEED_KEYS]
        if diff:
            raise ReportError(f"{run.root} is not a repetition of {first.root}: their configs differ in "
                              f"{', '.join(diff)} (only {', '.join(REPETITION_SEED_KEYS)} may)")


def gather_spread(runs: Sequence[Experiment], references: Sequence[tuple[str, Path]], name: str,
                  backend: str) -> list[SpreadRow]:
    """The rows of one trial list: the baseline, every round any run has, then each reference label."""
    score = f"{name}.{backend}.json"
    rows = [SpreadRow(BASELINE_LABEL, None, [_metrics(r.root / "baseline" / "scores" / score) for r in runs])]
    for rnd in sorted({r for run in runs for r in find_rounds(run.root)}):
        row = SpreadRow(f"round {rnd}", rnd)
        for run in runs:
            rdir = run.round_dir(rnd)
            row.metrics.append(_metrics(rdir / "scores" / score))
            stats = rdir / "pseudo" / "cluster_stats.json"
            row.nmi.append(cluster_nmi(read_json(stats)) if stats.is_file() else None)
        rows.append(row)
    labels = list(dict.fromkeys(label for label, _ in references))
    for label in labels:
        dirs = [path for lab, path in references if lab == label]
        rows.append(SpreadRow(label, None, [_metrics(d / "round0" / "scores" / score) for d in dirs]))
    return rows


def spread_markdown(rows: Sequence[SpreadRow], runs: Sequence[Experiment], name: str, backend: str,
                    figure: str) -> str:
    """The text of one aggregated RESULTS file."""
    head = ["system", "runs", "EER % (Kaldi)", "minDCF 0.01", "minDCF 0.05", "NMI of its pseudo labels",
            "EER % of each run"]
    lines = [
        f"# Results over {len(runs)} runs", "",
        "Runs: " + ", ".join(f"`{r.root}`" for r in runs) + ".", "",
        f"Trial list: **{name}**; back-end: **{backend}**. Mean ± sample standard deviation over the runs that "
        "have the result (`runs`); EER in percent (Kaldi `compute-eer`), minDCF at p_target 0.01 and 0.05, "
        "C_miss = C_fa = 1. NMI compares a round's pseudo labels (before purification) with the true speakers, "
        "for reporting only.", "",
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
    ]
    for row in rows:
        eers = row.values("eer_kaldi")
        cells = [row.label, str(len(eers))]
        cells += [cell(row.values(k), ".2f" if k.startswith("eer") else ".4f") for k in COLUMNS]
        cells.append(cell([v for v in row.nmi if v is not None], ".3f"))
        cells.append(", ".join("-" if m is None else f"{m['eer_kaldi']:.2f}" for m in row.metrics))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![EER by round, mean ± std]({figure})", ""]
    return "\n".join(lines)


def report_runs(runs: Sequence[Experiment], references: Sequence[str], out_dir: str | Path,
                force: bool = False) -> list[str]:
    """Write the aggregated RESULTS files and figures of ``runs`` into ``out_dir``; return their texts.

    ``references``: ``LABEL=EXP_DIR`` strings (their ``round0``), repeated labels aggregated.
    Nothing is rewritten while every output is newer than every score it reads and was made from
    the same runs and references, unless ``force``.

    Raises:
        spkssl.report.results.ReportError: fewer than 2 runs, runs that are not repetitions, or a malformed score file.
    """
    if len(runs) < 2:
        raise ReportError(f"a report over runs needs at least 2 runs, got {len(runs)}")
    check_repetitions(runs)
    refs = [parse_reference(s) for s in references]
    out_dir = Path(out_dir)
    outputs = report_outputs(runs[0], out_dir)
    roots = [r.root for r in runs]
    inputs = report_inputs(roots, refs, outputs)
    if not force and up_to_date([o.out for o in outputs], roots + [p for _, p in refs], inputs):
        log.info("%s: every RESULTS file is newer than every score; skipping (force to rewrite)", out_dir)
        return []
    texts = []
    for name, backend, _, out in outputs:
        rows = gather_spread(runs, refs, name, backend)
        suffix = out.stem[len("RESULTS"):]
        figure = f"eer_by_round{suffix}.png"
        rounds = [r for r in rows if r.round is not None and r.values("eer_kaldi")]
        lines = {r.label: spread(r.values("eer_kaldi"))[:2] for r in rows if r.round is None and r.values("eer_kaldi")}
        if rounds:
            plot_eer_spread_by_round([r.round for r in rounds], [spread(r.values("eer_kaldi"))[0] for r in rounds],
                                     [spread(r.values("eer_kaldi"))[1] for r in rounds], lines, out_dir / figure,
                                     title=f"EER by round over {len(runs)} runs ({name}, {backend})")
        else:
            log.warning("no scored round in %s for %s: figure not written", [str(r.root) for r in runs], name)
        text = spread_markdown(rows, runs, name, backend, figure)
        write_text_atomic(out, text)
        log.info("wrote %s (%d runs, %d systems)", out, len(runs), len(rows))
        texts.append(text)
    record_inputs(out_dir, inputs)
    return texts
