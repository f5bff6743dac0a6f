"""The report of a whole experiment (``spkssl report --exp E``): one RESULTS file per trial list and back-end.

The first evaluation list (``inputs.trials``) gives ``RESULTS.md``; every other list,
validation lists included, gives ``RESULTS_<name>.md`` with its own figures.  Those
use the first back-end of ``score.backends``; every further back-end B gives the same
files with ``_B`` added (``RESULTS_plda.md``, ``RESULTS_val_plda.md``).  Each table
shows the rounds, the untrained log-mel baseline of the same experiment
(``baseline/``) and any reference experiment (``LABEL=exp/<other>``, e.g. the
supervised reference, read from its ``round0``).  A system without a score of that
back-end (with ``score.plda.labels=trained``, the baseline and an unlabelled round 0 have
no PLDA) shows ``-``.  A report
newer than every score it reads, and made from the same experiments and references, is
not rewritten unless forced.  ``loss_by_epoch.png`` shows every round's training loss by
epoch (from ``train_summary.json``): a converged round's curve has flattened.

Usage (what ``run.sh`` does through the command)::

    report_experiment(Experiment("exp/mini"), ["supervised (true labels)=exp/mini_supervised"])
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple, Sequence

from spkssl.experiment import Experiment
from spkssl.report import make_report
from spkssl.report.plots import plot_loss_curves
from spkssl.report.results import ReportError
from spkssl.utils.io import write_json_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)
BASELINE_LABEL = "untrained log-mel stats"


def parse_reference(spec: str) -> tuple[str, Path]:
    label, sep, path = spec.partition("=")
    if not sep or not label.strip() or not path.strip():
        raise ReportError(f"reference '{spec}' must look like LABEL=exp/<other-tag>")
    return label.strip(), Path(path.strip())


class ReportOutput(NamedTuple):
    """One RESULTS file: the trial list ``name`` (file ``trials``) scored by ``backend``."""

    name: str
    backend: str
    trials: Path
    out: Path


def report_outputs(exp: Experiment, out_dir: Path | None = None) -> list[ReportOutput]:
    """Every RESULTS file the report writes (in ``out_dir``, default the experiment): lists x back-ends.

    Example:
        >>> import tempfile
        >>> from spkssl.config import load_config, save_config
        >>> root = Path(tempfile.mkdtemp())
        >>> save_config(load_config(None, ["inputs.trials.test=trials/test.trials", "inputs.val_trials.val=trials/val.trials",
        ...                                "score.backends=[cosine,plda]"]), root / "config.yaml")
        >>> [o.out.name for o in report_outputs(Experiment(root))]
        ['RESULTS.md', 'RESULTS_val.md', 'RESULTS_plda.md', 'RESULTS_val_plda.md']
    """
    lists = list(exp.inputs.trials.items()) + list(exp.inputs.val_trials.items())
    root = exp.root if out_dir is None else Path(out_dir)
    outputs = []
    for j, backend in enumerate(exp.cfg["score"]["backends"]):
        for i, (name, path) in enumerate(lists):
            stem = "RESULTS" + ("" if i == 0 else f"_{name}") + ("" if j == 0 else f"_{backend}")
            outputs.append(ReportOutput(name, backend, path, root / f"{stem}.md"))
    return outputs


INPUTS_NAME = ".report_inputs.json"  # beside the RESULTS files: what they were made from


def report_inputs(roots: Sequence[Path], references: Sequence[tuple[str, Path]],
                  outputs: Sequence[ReportOutput]) -> dict[str, Any]:
    """What a report is made from, beyond the scores' contents: its experiments, references and files."""
    return {"experiments": [str(r) for r in roots], "references": [[label, str(p)] for label, p in references],
            "outputs": [[o.name, o.backend, o.out.name] for o in outputs]}


def up_to_date(outputs: Sequence[Path], roots: Sequence[Path], inputs: dict[str, Any]) -> bool:
    """True when every output exists and is newer than every score under the experiment folders ``roots``.

    The outputs must also have been made from the same ``inputs`` (:func:`report_inputs`,
    recorded in ``.report_inputs.json`` beside them by :func:`record_inputs`): a report over
    runs 1 and 2 is not up to date for runs 0, 1 and 2.
    """
    if not outputs or not all(p.is_file() for p in outputs):
        return False
    try:
        if json.loads((Path(outputs[0]).parent / INPUTS_NAME).read_text()) != inputs:
            return False
    except (OSError, ValueError):
        return False
    oldest = min(p.stat().st_mtime for p in outputs)
    scores = [p for root in roots for p in Path(root).glob("*/scores/*.json")]
    return all(p.stat().st_mtime < oldest for p in scores)


def record_inputs(out_dir: Path, inputs: dict[str, Any]) -> None:
    """Write ``inputs`` to ``out_dir/.report_inputs.json`` once the report is written."""
    write_json_atomic(Path(out_dir) / INPUTS_NAME, inputs)


def report_experiment(exp: Experiment, references: Sequence[str] = (), force: bool = False) -> list[str]:
    """Write every RESULTS file of ``exp`` (see the module doc); return their texts (empty when up to date)."""
    refs = [parse_reference(s) for s in references]
    outputs = report_outputs(exp)
    roots = [exp.root, *(p for _, p in refs)]
    inputs = report_inputs([exp.root], refs, outputs)
    if not force and up_to_date([o.out for o in outputs], roots, inputs):
        log.info("%s: every RESULTS file is newer than every score; skipping (force to rewrite)", exp.root)
        return []
    texts = []
    for name, backend, trials, out in outputs:
        score = f"{name}.{backend}.json"
        baseline = exp.root / "baseline" / "scores" / score  # no PLDA of it with score.plda.labels=trained
        extra = [f"{BASELINE_LABEL}={baseline}"] if baseline.is_file() or backend == outputs[0].backend else []
        extra += [f"{label}={path / 'round0' / 'scores' / score}" for label, path in refs]
        texts.append(make_report(exp.root, name, backend, out=out, trials=trials if trials.is_file() else None,
                                 extra_rows=extra))
    write_loss_curves(exp)
    record_inputs(exp.root, inputs)
    return texts


def write_loss_curves(exp: Experiment) -> Path | None:
    """``loss_by_epoch.png``: the epoch losses of every trained round (``train_summary.json``); None if none.

    A ``dino_classification`` round also shows its two parts (classification, DINO), a panel each.
    """
    curves = {}
    for r in range(exp.num_rounds + 1):
        summary = exp.round_dir(r) / "train_summary.json"
        if summary.is_file():
            s = json.loads(summary.read_text())
            if s.get("epoch_losses"):
                objective = str(s.get("objective", "?"))
                curves[f"round {r}"] = (objective, [float(v) for v in s["epoch_losses"]])
                for part in ("classification", "dino"):  # a joint round's parts, a panel each (their scales differ)
                    values = [e.get(f"{part}_loss") for e in s.get("dino_epochs", [])]
                    if values and None not in values:
                        curves[f"round {r}: {part} part"] = (f"{objective}: {part} part", [float(v) for v in values])
    if not curves:
        return None
    out = exp.root / "loss_by_epoch.png"
    plot_loss_curves(curves, out, title=f"{exp.root.name}: training loss by epoch")
    return out
