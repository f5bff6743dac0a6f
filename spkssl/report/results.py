"""Gather per-round metrics and cluster statistics of an experiment into RESULTS.md.

Layout read (see docs/architecture.md)::

    exp/<tag>/round<r>/scores/<NAME>.<BACKEND>.json    written by spkssl score
    exp/<tag>/round<r>/pseudo/cluster_stats.json       written by spkssl cluster (r >= 1)

Missing rounds or files are tolerated (the row shows "-"); a file that exists
but is not valid JSON, or lacks a metric, is an error naming the file.

Example:
    >>> rows = gather_rounds("exp/mini", "test", "cosine")  # doctest: +SKIP
    >>> print(results_markdown(rows, [], "test", "cosine"))  # doctest: +SKIP
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from spkssl.utils.logging import get_logger

log = get_logger(__name__)

METRIC_KEYS = ("eer_kaldi", "eer_roc", "mindcf_0.01", "mindcf_0.05")
_ROUND_RE = re.compile(r"^round(\d+)$")


class ReportError(ValueError):
    """A results file is malformed."""


@dataclass
class Row:
    """One line of the results table (a round or an extra reference row)."""

    label: str
    round: int | None = None
    metrics: dict[str, Any] | None = None
    cluster: dict[str, Any] | None = None
    metrics_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object; malformed content is a :class:`ReportError` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: malformed JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_metrics(path: str | Path) -> dict[str, Any]:
    """Metrics JSON of ``spkssl score``; ``eer`` is accepted for ``eer_kaldi``; missing keys are errors."""
    m = read_json(path)
    if "eer_kaldi" not in m and "eer" in m:
        m["eer_kaldi"] = m["eer"]
    missing = [k for k in METRIC_KEYS if not isinstance(m.get(k), (int, float))]
    if missing:
        raise ReportError(f"{path}: missing or non-numeric metric(s) {missing}")
    return m


def find_rounds(exp_dir: str | Path) -> list[int]:
    """Sorted round numbers of the ``round<r>`` directories under ``exp_dir``."""
    exp = Path(exp_dir)
    if not exp.is_dir():
        raise ReportError(f"experiment directory not found: {exp}")
    return sorted(int(m.group(1)) for p in exp.iterdir() if p.is_dir() and (m := _ROUND_RE.match(p.name)))


def gather_rounds(exp_dir: str | Path, trials_name: str, backend: str) -> list[Row]:
    """One :class:`Row` per ``round<r>`` directory (metrics/cluster stats None where absent)."""
    rows = []
    for r in find_rounds(exp_dir):
        rdir = Path(exp_dir) / f"round{r}"
        mpath = rdir / "scores" / f"{trials_name}.{backend}.json"
        cpath = rdir / "pseudo" / "cluster_stats.json"
        row = Row(label=f"round {r}", round=r)
        if mpath.is_file():
            row.metrics, row.metrics_path = read_metrics(mpath), mpath
        else:
            log.warning("round %d: no %s (round not scored yet?)", r, mpath)
        if cpath.is_file():
            row.cluster = read_json(cpath)
        rows.append(row)
    return rows


def parse_extra_row(spec: str) -> Row | None:
    """``"LABEL=path/metrics.json"`` → a Row; None (with a warning) when the file is absent."""
    if "=" not in spec:
        raise ReportError(f"--extra-row '{spec}' must look like LABEL=path/to/metrics.json")
    label, path = spec.rsplit("=", 1)
    if not label.strip():
        raise ReportError(f"--extra-row '{spec}' has an empty label")
    if not Path(path).is_file():
        log.warning("extra row '%s': %s not found; left out", label, path)
        return None
    return Row(label=label.strip(), metrics=read_metrics(path), metrics_path=Path(path))


def _num(v: Any, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) else "-"


def cluster_nmi(c: dict[str, Any] | None) -> float | None:
    """NMI of a round's pseudo labels against the true speakers (all utterances, before purification), if recorded."""
    tm = (c or {}).get("true_label_metrics") or {}
    nmi = (tm.get("all_before_purification") or {}).get("nmi")
    return float(nmi) if isinstance(nmi, (int, float)) else None


def _cluster_cells(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return ["-", "-", "-"]
    return [_num(cluster_nmi(c), ".3f"), _num(c.get("num_clusters"), "d"), _num(c.get("kept_fraction"), ".3f")]


def results_markdown(
    rows: Sequence[Row], extra: Sequence[Row], trials_name: str, backend: str, exp_dir: str = "",
    figures: tuple[str, str] = ("eer_by_round.png", "det_all_rounds.png"),
) -> str:
    """The RESULTS.md text: a header naming trial list/backend, the table, notes and ``figures``."""
    head = ["system", "EER % (Kaldi)", "EER % (ROC)", "minDCF 0.01", "minDCF 0.05",
            "NMI (all utts)", "clusters", "kept fraction"]
    lines = [
        f"# Results{f' for {exp_dir}' if exp_dir else ''}", "",
        f"Trial list: **{trials_name}**; back-end: **{backend}**. "
        "EER in percent (Kaldi `compute-eer` and ROC crossing); minDCF at p_target 0.01 and 0.05, "
        "C_miss = C_fa = 1.", "",
        "| " + " | ".join(head) + " |", "|" + "---|" * len(head),
    ]
    for row in list(rows) + list(extra):
        m = row.metrics or {}
        cells = [row.label] + [_num(m.get(k), ".2f" if k.startswith("eer") else ".4f") for k in METRIC_KEYS]
        lines.append("| " + " | ".join(cells + _cluster_cells(row.cluster)) + " |")
    lines += [
        "",
        "Cluster columns describe the pseudo labels a round was *trained on* (clustering of the "
        "previous round's embeddings). NMI is measured against the true speakers over all training "
        "utterances before purification, for reporting only; true labels never reach training. "
        "`-` = not available (round not run yet, or round 0, which trains without labels).",
        "",
        f"![EER by round]({figures[0]})", "", f"![DET curves]({figures[1]})", "",
    ]
    return "\n".join(lines)
