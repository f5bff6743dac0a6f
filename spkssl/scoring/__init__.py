"""Scoring back-ends (cosine, whitened cosine, AS-norm, LDA+PLDA) and Kaldi-compatible EER/minDCF/DET metrics.

A back-end (:data:`~spkssl.scoring.backends.BACKENDS`) is fitted once per system on
its training embeddings (:func:`fit_backend`) and then scores any trial list;
:func:`run_scoring` is what ``spkssl score`` does with one fitted back-end and one
list: write ``NAME.BACKEND.score`` / ``.json`` / ``.det.png`` (and ``.plda.npz`` for
PLDA) atomically, and return the metrics.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from spkssl.scoring.trials import read_trials
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t").write_text("a b target\\na c nontarget\\nb c nontarget\\n")
    >>> emb = np.array([[1, 0.1], [1, 0], [0, 1]], dtype=np.float32)
    >>> from spkssl.config import with_defaults
    >>> cosine = fit_backend("cosine", None, with_defaults("score", {"mean_sub": False}))
    >>> m = run_scoring(read_trials(d / "t"), ["a", "b", "c"], emb, cosine, d, "toy")
    >>> m["eer"], sorted(p.name for p in d.glob("toy.*"))
    (0.0, ['toy.cosine.det.png', 'toy.cosine.json', 'toy.cosine.score'])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.scoring.backends import BACKENDS, fit_backend, load_backend
from spkssl.scoring.base import Backend, TrainingSet
from spkssl.scoring.det import plot_det
from spkssl.scoring.io import write_scores
from spkssl.scoring.metrics import compute_metrics, det_curve, markdown_row
from spkssl.scoring.trials import Trials
from spkssl.utils.io import write_json_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


class DimensionError(ValueError):
    """Embeddings that are scored together have different dimensions (the message names their files)."""


def check_dimensions(matrices: Mapping[str, np.ndarray | None], sources: Mapping[str, str] | None = None) -> None:
    """Refuse embedding matrices of different dimensions, naming each one's role and file.

    ``matrices`` maps a role (``embeddings``, ``enroll_embeddings``, ``train_embeddings``) to
    its ``[N, E]`` matrix (None: not given); ``sources`` maps the same roles to file names.

    >>> check_dimensions({"embeddings": np.zeros((2, 4)), "train_embeddings": np.zeros((3, 8))},
    ...                  {"embeddings": "eval.npz", "train_embeddings": "train.npz"})
    Traceback (most recent call last):
    ...
    spkssl.scoring.DimensionError: embedding dimensions differ: embeddings (eval.npz) have 4, train_embeddings (train.npz) have 8
    """
    given = {role: m for role, m in matrices.items() if m is not None}
    dims = {role: (int(m.shape[1]) if np.ndim(m) == 2 else None) for role, m in given.items()}
    for role, dim in dims.items():
        if dim is None:
            where = f" ({sources[role]})" if sources and role in sources else ""
            raise DimensionError(f"{role}{where} must be an [N, E] matrix, got shape {np.shape(given[role])}")
    if len(set(dims.values())) > 1:
        named = [f"{role}{f' ({sources[role]})' if sources and role in sources else ''} have {dim}"
                 for role, dim in dims.items()]
        raise DimensionError(f"embedding dimensions differ: {', '.join(named)}")


def score_trials(trials: Trials, backend: Backend, ids: Sequence[str], emb: np.ndarray,
                 enroll_ids: Sequence[str] | None = None, enroll_emb: np.ndarray | None = None) -> np.ndarray:
    """Score every trial with a fitted ``backend`` → ``scores[T]``.

    Test-side utterances are looked up in ``ids``/``emb``, enrolment-side ones in
    ``enroll_ids``/``enroll_emb`` (default: the same).

    Raises:
        spkssl.scoring.trials.TrialsError: a trial utterance without an embedding.
    """
    e_idx, t_idx = trials.index(ids, enroll_ids)
    return backend.score(emb if enroll_emb is None else enroll_emb, emb, e_idx, t_idx)


def run_scoring(
    trials: Trials, ids: Sequence[str], emb: np.ndarray, backend: Backend, out_dir: str | Path,
    name: str, p_targets: Sequence[float] = (0.01, 0.05), sources: Mapping[str, str] | None = None,
    enroll_ids: Sequence[str] | None = None, enroll_emb: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score with a fitted back-end, then write ``NAME.BACKEND.{score,json,det.png}`` under ``out_dir``.

    A back-end that ``writes_model`` (PLDA) is also saved as ``NAME.BACKEND.plda.npz``.
    ``sources`` (e.g. embedding paths) are recorded in the JSON, which is written last
    (the completion marker).  Returns the JSON dict.
    """
    if trials.labels is None:
        raise ValueError(f"{trials.path}: trial list has no target/nontarget labels")
    out_dir = Path(out_dir)
    stem = out_dir / f"{name}.{backend.name}"
    Path(f"{stem}.json").unlink(missing_ok=True)  # an old marker must not outlive a failed rerun
    scores = score_trials(trials, backend, ids, emb, enroll_ids, enroll_emb)
    info = backend_info(backend, write_backend_model(backend, stem))
    metrics = compute_metrics(scores, trials.labels, p_targets=p_targets)
    write_scores(f"{stem}.score", trials, scores)
    plot_det({f"{name} {backend.name}": det_curve(scores, trials.labels)}, f"{stem}.det.png",
             title=f"{name} ({backend.name})", eer_points={f"{name} {backend.name}": metrics["eer_roc"]})
    result = {**metrics, **info, "name": name, "trials": str(trials.path),
              "num_embeddings": len(ids), **({"sources": dict(sources)} if sources else {})}
    write_json_atomic(f"{stem}.json", result)
    log.info("%s %s: EER %.2f%% minDCF(0.01) %.4f", name, backend.name, metrics["eer"],
             metrics.get("mindcf_0.01", float("nan")))
    return result


def write_backend_model(backend: Backend, stem: str | Path) -> Path | None:
    """Save a back-end that ``writes_model`` (PLDA) as ``STEM.plda.npz``; its path, or None for the others."""
    if not backend.writes_model:
        return None
    path = Path(f"{stem}.plda.npz")
    backend.save(path)
    return path


def backend_info(backend: Backend, model_path: Path | None = None) -> dict[str, Any]:
    """What a score file's JSON says about its back-end (``model_path``: where it was saved, if it was)."""
    desc = backend.describe()
    info: dict[str, Any] = {"backend": backend.name, "mean_sub": desc.pop("mean_sub", False)}
    if model_path is not None:
        info["model"] = str(model_path)
    return {**info, **desc}


__all__ = ["BACKENDS", "Backend", "DimensionError", "TrainingSet", "backend_info", "check_dimensions",
           "fit_backend", "load_backend", "markdown_row", "run_scoring", "score_trials", "write_backend_model"]
