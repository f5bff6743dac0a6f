"""Step: score every trial list of an experiment with one system (``spkssl score --exp E --system S``).

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

Usage (what ``run.sh`` does through the command)::

    score_system(Experiment("exp/mini"), Experiment("exp/mini").system("round1"))
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from lhotse import CutSet

from spkssl.cluster.pseudo import make_pseudo_labels
from spkssl.embed.io import NPZ_NAME, read_embeddings
from spkssl.embed.provenance import Provenance, check_provenance
from spkssl.experiment import Experiment, System
from spkssl.inference.sidecar import write_verify_sidecar
from spkssl.scoring import Backend, TrainingSet, check_dimensions, fit_backend, run_scoring
from spkssl.scoring.backends import backend_class
from spkssl.scoring.io import read_utt2spk
from spkssl.scoring.trials import read_trials
from spkssl.utils.io import write_text_atomic
from spkssl.utils.logging import get_logger
from spkssl.utils.registry import Registry

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
    out = system.dir / "backend_clusters"
    emb = system.train_embeddings / NPZ_NAME
    stats = out / "cluster_stats.json"
    stale = stats.is_file() and stats.stat().st_mtime < emb.stat().st_mtime
    make_pseudo_labels(emb, exp.inputs.train_cuts, out, exp.cfg["cluster"], force=stale)
    return out / "utt2spk"


def trained_labels(exp: Experiment, system: System) -> Path | None:
    """The ``utt2spk`` of the labels ``system`` trained on (None without labels).

    For the supervised round 0 these are the training cuts' true speakers, written
    once as ``round0/utt2spk``, so its PLDA and AS-norm back-ends train on them as a
    round's train on its pseudo labels.
    """
    out = system.utt2spk
    if out is not None and system.name == "round0" and not out.is_file():
        pairs = sorted((c.id, c.supervisions[0].speaker) for c in CutSet.from_file(exp.inputs.train_cuts)
                       if c.supervisions and c.supervisions[0].speaker is not None)
        write_text_atomic(out, "".join(f"{u} {s}\n" for u, s in pairs))
    return out


#: ``score.plda.labels``: the ``utt2spk`` PLDA trains on, for an experiment's system (None: it has none)
PLDA_LABELS: Registry[Callable[[Experiment, System], Path | None]] = Registry(
    "score.plda.labels", {"clusters": own_clusters, "trained": trained_labels})


def labels_for_plda(exp: Experiment, system: System) -> Path | None:
    """The ``utt2spk`` PLDA (and an AS-norm speaker cohort) trains on, by ``score.plda.labels``."""
    return PLDA_LABELS[exp.cfg["score"]["plda"]["labels"]](exp, system)


#: back-ends that fit on the labelled training utterances when a system has labels
LABELLED_BACKENDS = ("plda", "asnorm")


def fit_system_backends(exp: Experiment, system: System,
                        backends: Sequence[str]) -> dict[str, tuple[Backend, TrainingSet]]:
    """Fit each of ``backends`` once on ``system``'s training embeddings → name → (back-end, its training set).

    PLDA and AS-norm fit on the utterances that have a (pseudo) speaker when the
    system's labels are read (:func:`labelled_subset`), cosine and ``whiten`` on every
    one; PLDA is left out, with a log line, for a system without labels.
    """
    cfg = exp.cfg["score"]
    train_npz = system.train_embeddings / NPZ_NAME
    train_ids, train_emb = read_embeddings(train_npz)
    everyone = TrainingSet(train_ids, train_emb, None, {"train_embeddings": str(train_npz)})
    labelled = None
    if any(backend_class(b).uses_labels(cfg) for b in backends):
        labels = labels_for_plda(exp, system)
        if labels is not None:
            utt2spk = read_utt2spk(labels)
            ids, emb = labelled_subset(train_ids, train_emb, utt2spk, labels, train_npz)
            labelled = TrainingSet(ids, emb, utt2spk, {**everyone.sources, "train_utt2spk": str(labels),
                                                       "labels": str(cfg["plda"]["labels"])})
    fitted: dict[str, tuple[Backend, TrainingSet]] = {}
    for name in backends:
        train = labelled if name in LABELLED_BACKENDS and labelled is not None else everyone
        if name == "plda" and train.utt2spk is None:
            log.info("skipping plda for %s: it has no (pseudo) speaker labels to train on", system.name)
            continue
        fitted[name] = (fit_backend(name, train, cfg), train)
    return fitted


def score_system(exp: Experiment, system: System, backends: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Score every trial list of ``exp`` with ``system``; return the metrics of each (list, back-end).

    Each back-end is fitted once (:func:`fit_system_backends`) and scores every list; the
    fitted back-ends and the validation thresholds become the model's ``verify`` sidecar.
    """
    cfg = exp.cfg["score"]
    fitted = fit_system_backends(exp, system, list(backends or cfg["backends"]))
    lists = [(name, path, system.eval_embeddings) for name, path in exp.inputs.trials.items()]
    lists += [(name, path, system.train_embeddings) for name, path in exp.inputs.val_trials.items()]
    if not lists:
        log.warning("%s: no trial lists in inputs.trials or inputs.val_trials; nothing to score", exp.config_path)
    results = []
    made_by = Provenance.of(system.model, []) if system.model is None or system.model.is_file() else None
    for name, path, emb_dir in lists:
        trials = read_trials(path)
        if made_by is not None:
            check_provenance(emb_dir, made_by, model_only=True)  # embeddings of this system's model, or refused
        ids, emb = read_embeddings(emb_dir / NPZ_NAME)
        for backend, train in fitted.values():
            check_dimensions({"embeddings": emb, "train_embeddings": train.emb},
                             {"embeddings": str(emb_dir / NPZ_NAME), **train.sources})
            sources = {"embeddings": str(emb_dir / NPZ_NAME), **train.sources}
            log.info("scoring %s with %s (%s)", name, system.name, backend.name)
            results.append(run_scoring(trials, ids, emb, backend, system.scores, name, cfg["p_targets"], sources))
    if system.model is not None:
        val = list(exp.inputs.val_trials)[:1]
        write_verify_sidecar(system.dir, system.name, system.model.name,
                             [r for r in results if r["name"] in val],
                             {name: b for name, (b, _) in fitted.items()}, cfg, system.train_embeddings / NPZ_NAME)
    return results
