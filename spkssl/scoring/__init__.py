"""Scoring back-ends (cosine, whitened cosine, AS-norm, LDA+PLDA) and Kaldi-compatible EER/minDCF/DET metrics.

:func:`run_scoring` is what ``spkssl score`` does for one back-end: score a trial
list, write ``NAME.BACKEND.score`` / ``.json`` / ``.det.png`` (and ``.plda.npz``
for PLDA) atomically, and return the metrics.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from spkssl.scoring.trials import read_trials
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t").write_text("a b target\\na c nontarget\\nb c nontarget\\n")
    >>> emb = np.array([[1, 0.1], [1, 0], [0, 1]], dtype=np.float32)
    >>> m = run_scoring(read_trials(d / "t"), ["a", "b", "c"], emb, "cosine", d, "toy")
    >>> m["eer"], sorted(p.name for p in d.glob("toy.*"))
    (0.0, ['toy.cosine.det.png', 'toy.cosine.json', 'toy.cosine.score'])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.config import with_defaults
from spkssl.scoring.asnorm import asnorm_scores, speaker_cohort
from spkssl.scoring.cosine import cosine_scores, pair_dot
from spkssl.scoring.det import plot_det
from spkssl.scoring.io import write_scores
from spkssl.scoring.metrics import compute_metrics, det_curve, markdown_row
from spkssl.scoring.plda import PldaBackend
from spkssl.scoring.trials import Trials
from spkssl.scoring.whiten import Whitening
from spkssl.utils.io import write_json_atomic
from spkssl.utils.logging import get_logger

BACKENDS = ("cosine", "whiten", "asnorm", "plda")
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


def score_trials(
    trials: Trials, ids: Sequence[str], emb: np.ndarray, backend: str,
    cfg: Mapping[str, Any] | None = None, enroll_ids: Sequence[str] | None = None,
    enroll_emb: np.ndarray | None = None, train_ids: Sequence[str] | None = None,
    train_emb: np.ndarray | None = None, utt2spk: Mapping[str, str] | None = None,
    plda_out: str | Path | None = None, sources: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Score every trial with ``backend`` → ``(scores[T], info)``; ``info`` describes what was used.

    Test-side utterances are looked up in ``ids``/``emb``, enrolment-side ones in
    ``enroll_ids``/``enroll_emb`` (default: the same).  ``cfg`` is a (partial) ``score``
    section, completed with the package defaults.  ``train_*`` give the mean
    (``mean_sub``), the AS-norm cohort and the PLDA training data; ``utt2spk`` gives
    speaker labels (PLDA, speaker-mean cohorts); every training utterance needs one.
    ``sources`` names the files of ``embeddings``, ``enroll_embeddings`` and
    ``train_embeddings`` for the errors.

    Raises:
        DimensionError: the matrices differ in dimension (files named from ``sources``).
        ValueError: unknown back-end or missing training data it needs.
        spkssl.scoring.trials.TrialsError: a trial utterance without an embedding.
    """
    c = with_defaults("score", cfg)
    if backend not in BACKENDS:
        raise ValueError(f"unknown scoring back-end '{backend}'; known: {list(BACKENDS)}")
    check_dimensions({"embeddings": emb, "enroll_embeddings": enroll_emb, "train_embeddings": train_emb}, sources)
    e_idx, t_idx = trials.index(ids, enroll_ids)
    enroll = emb if enroll_emb is None else enroll_emb
    info: dict[str, Any] = {"backend": backend}
    mean = None
    if backend in ("cosine", "asnorm") and c["mean_sub"]:
        if train_emb is None:
            log.warning("mean_sub is on but no training embeddings were given: scoring without it")
        else:
            mean = train_emb.mean(axis=0)
    info["mean_sub"] = mean is not None
    if backend == "cosine":
        return cosine_scores(enroll, emb, e_idx, t_idx, mean), info
    if train_emb is None or train_ids is None:
        raise ValueError(f"back-end '{backend}' needs training embeddings (--train-embeddings)")
    if backend == "whiten":
        w = Whitening.fit(train_emb, float(c["whiten"]["floor"]))
        info.update(num_train=int(train_emb.shape[0]), floor=float(c["whiten"]["floor"]))
        a = w.apply(enroll)  # unit rows already: a dot product is their cosine
        return pair_dot(a, a if enroll is emb else w.apply(emb), e_idx, t_idx), info
    labels = None
    if utt2spk is not None:
        missing = [u for u in train_ids if u not in utt2spk]
        if missing:
            src = dict(sources or {})
            raise ValueError(f"{len(missing)} training utterance(s) of {src.get('train_embeddings', 'the training set')} "
                             f"have no speaker in {src.get('train_utt2spk', 'utt2spk')}, e.g. '{missing[0]}'")
        labels = np.asarray([utt2spk[u] for u in train_ids])
    if backend == "asnorm":
        a = c["asnorm"]
        if a["cohort"] == "speakers":
            if utt2spk is None:
                raise ValueError("asnorm.cohort=speakers needs --train-utt2spk")
            cohort = speaker_cohort(train_emb, train_ids, dict(utt2spk))
        elif a["cohort"] == "utterances":
            cohort = train_emb
        else:
            raise ValueError(f"asnorm.cohort must be 'utterances' or 'speakers', got {a['cohort']!r}")
        info.update(cohort=a["cohort"], cohort_size=int(cohort.shape[0]), top_n=int(a["top_n"]))
        return asnorm_scores(enroll, emb, e_idx, t_idx, cohort, int(a["top_n"]), mean), info
    if labels is None:
        raise ValueError("back-end 'plda' needs speaker labels for the training set (--train-utt2spk)")
    p = c["plda"]
    plda = PldaBackend.train(train_emb, labels, int(p["lda_dim"]), int(p["iterations"]))
    if plda_out is not None:
        plda.save(plda_out)
        info["model"] = str(plda_out)
    info.update(lda_dim=int(plda.lda.shape[1]), iterations=int(p["iterations"]),
                num_train=int(train_emb.shape[0]), num_speakers=int(np.unique(labels).size))
    return plda.score(enroll, emb, e_idx, t_idx), info


def run_scoring(
    trials: Trials, ids: Sequence[str], emb: np.ndarray, backend: str, out_dir: str | Path,
    name: str, cfg: Mapping[str, Any] | None = None, sources: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Score, then write ``NAME.BACKEND.{score,json,det.png}`` under ``out_dir``; return the JSON dict.

    ``kwargs`` go to :func:`score_trials`; ``sources`` (e.g. embedding paths) are
    recorded in the JSON.  The JSON (the completion marker) is written last.
    """
    if trials.labels is None:
        raise ValueError(f"{trials.path}: trial list has no target/nontarget labels")
    c = with_defaults("score", cfg)
    out_dir = Path(out_dir)
    stem = out_dir / f"{name}.{backend}"
    Path(f"{stem}.json").unlink(missing_ok=True)  # an old marker must not outlive a failed rerun
    scores, info = score_trials(trials, ids, emb, backend, c, plda_out=Path(f"{stem}.plda.npz"), sources=sources,
                                **kwargs)
    metrics = compute_metrics(scores, trials.labels, p_targets=c["p_targets"])
    write_scores(f"{stem}.score", trials, scores)
    plot_det({f"{name} {backend}": det_curve(scores, trials.labels)}, f"{stem}.det.png",
             title=f"{name} ({backend})", eer_points={f"{name} {backend}": metrics["eer_roc"]})
    result = {**metrics, **info, "name": name, "trials": str(trials.path),
              "num_embeddings": len(ids), **({"sources": dict(sources)} if sources else {})}
    write_json_atomic(f"{stem}.json", result)
    log.info("%s %s: EER %.2f%% minDCF(0.01) %.4f", name, backend, metrics["eer"],
             metrics.get("mindcf_0.01", float("nan")))
    return result


__all__ = ["BACKENDS", "DimensionError", "check_dimensions", "run_scoring", "score_trials", "markdown_row"]
