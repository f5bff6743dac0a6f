"""Score every trial list of an experiment with one system (``spkssl score --exp E --system S``).

The evaluation lists (``inputs.trials``) are scored on the system's evaluation
embeddings, the validation lists (``inputs.val_trials``, training speakers whose
labels only measure) on its training embeddings.  Each back-end of
``score.backends`` writes ``scores/<list>.<backend>.{score,json,det.png}``.  The
training embeddings give the mean (``score.mean_sub``) and the AS-norm cohort.
PLDA trains on the speakers ``score.plda.labels`` names (:data:`PLDA_LABELS`):
``clusters`` of the system's own training embeddings (no labels, so every system
has a PLDA: the baseline and round 0 too), or the labels it ``trained`` on (skipped,
with a log line, for a system without them).  Purification leaves some training
utterances without a speaker: PLDA and AS-norm train on the labelled ones only
(:func:`labelled_subset`), cosine keeps every one for its mean.

Example:
    >>> # score_system(Experiment("exp/mini"), Experiment("exp/mini").system("round1"))
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from spkssl.embed.io import NPZ_NAME, read_embeddings
from spkssl.experiment import Experiment, System
from spkssl.scoring import run_scoring
from spkssl.scoring.io import read_utt2spk
from spkssl.scoring.trials import read_trials
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def labelled_subset(ids: Sequence[str], emb: np.ndarray, utt2spk: Mapping[str, str], utt2spk_path: Path,
                    emb_path: Path) -> tuple[list[str], np.ndarray]:
    """The training embeddings whose utterance has a (pseudo) speaker in ``utt2spk``, in their order.

    >>> ids, emb = labelled_subset(["a", "b", "c"], np.eye(3), {"a": "s1", "c": "s2"}, Path("utt2spk"), Path("e"))
    >>> ids, emb.shape
    (['a', 'c'], (2, 3))

    Raises:
        ValueError: ``utt2spk`` names an utterance that has no training embedding (both files named).
    """
    known = set(ids)
    stray = [u for u in utt2spk if u not in known]
    if stray:
        raise ValueError(f"{utt2spk_path}: {len(stray)} utterance(s) have no training embedding in {emb_path}, "
                         f"e.g. '{stray[0]}'")
    rows = [i for i, u in enumerate(ids) if u in utt2spk]
    if len(rows) < len(ids):
        log.info("%s labels %d of %d training utterances (purification dropped %d): PLDA and AS-norm train on those",
                 utt2spk_path, len(rows), len(ids), len(ids) - len(rows))
    return [ids[i] for i in rows], emb[rows]


def own_clusters(exp: Experiment, system: System) -> Path:
    """``utt2spk`` of k-means clusters of ``system``'s training embeddings (``<system>/backend_clusters/``).

    The clustering is the one that makes a round's pseudo labels (the ``cluster`` section,
    purification included), so it needs no labels; it is redone when the embeddings are newer.
    """
    from spkssl.cluster.pseudo import make_pseudo_labels

    out = system.dir / "backend_clusters"
    emb = system.train_embeddings / NPZ_NAME
    stats = out / "cluster_stats.json"
    stale = stats.is_file() and stats.stat().st_mtime < emb.stat().st_mtime
    make_pseudo_labels(emb, exp.inputs.train_cuts, out, exp.cfg["cluster"], force=stale)
    return out / "utt2spk"


#: ``score.plda.labels``: the ``utt2spk`` PLDA trains on, for an experiment's system (None: it has none)
PLDA_LABELS: dict[str, Callable[[Experiment, System], Path | None]] = {
    "clusters": own_clusters,
    "trained": lambda exp, system: exp.training_labels(system),
}


def score_system(exp: Experiment, system: System, backends: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Score every trial list of ``exp`` with ``system``; return the metrics of each (list, back-end)."""
    cfg = exp.cfg["score"]
    backends = list(backends or cfg["backends"])
    train_npz = system.train_embeddings / NPZ_NAME
    train_ids, train_emb = read_embeddings(train_npz)
    needs_labels = "plda" in backends or ("asnorm" in backends and cfg["asnorm"]["cohort"] == "speakers")
    labels = PLDA_LABELS[cfg["plda"]["labels"]](exp, system) if needs_labels else None
    utt2spk = read_utt2spk(labels) if labels is not None else None
    labelled = (labelled_subset(train_ids, train_emb, utt2spk, labels, train_npz)
                if utt2spk is not None else None)
    lists = [(name, path, system.eval_embeddings) for name, path in exp.inputs.trials.items()]
    lists += [(name, path, system.train_embeddings) for name, path in exp.inputs.val_trials.items()]
    if not lists:
        log.warning("%s: no trial lists in inputs.trials or inputs.val_trials; nothing to score", exp.config_path)
    results = []
    for name, path, emb_dir in lists:
        trials = read_trials(path)
        ids, emb = read_embeddings(emb_dir / NPZ_NAME)
        for backend in backends:
            if backend == "plda" and utt2spk is None:
                log.info("skipping plda for %s: it has no (pseudo) speaker labels to train on", system.name)
                continue
            kwargs: dict[str, Any] = {"train_ids": train_ids, "train_emb": train_emb}
            sources = {"embeddings": str(emb_dir / NPZ_NAME), "train_embeddings": str(train_npz)}
            if labelled is not None and backend in ("plda", "asnorm"):
                kwargs.update(train_ids=labelled[0], train_emb=labelled[1], utt2spk=utt2spk)
                sources.update(train_utt2spk=str(labels), labels=str(cfg["plda"]["labels"]))
            log.info("scoring %s with %s (%s)", name, system.name, backend)
            results.append(run_scoring(trials, ids, emb, backend, system.scores, name, cfg, sources, **kwargs))
    from spkssl.inference.sidecar import write_verify_sidecar  # the threshold and back-ends a model carries
    write_verify_sidecar(exp, system, results)
    return results
