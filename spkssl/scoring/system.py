"""Score every trial list of an experiment with one system (``spkssl score --exp E --system S``).

The evaluation lists (``inputs.trials``) are scored on the system's evaluation
embeddings, the validation lists (``inputs.val_trials``, training speakers whose
labels only measure) on its training embeddings.  Each back-end of
``score.backends`` writes ``scores/<list>.<backend>.{score,json,det.png}``.  The
training embeddings give the mean (``score.mean_sub``) and the AS-norm cohort;
PLDA trains on the round's pseudo speakers and is skipped, with a log line, for a
system without labels (round 0, the baseline).

Example:
    >>> # score_system(Experiment("exp/mini"), Experiment("exp/mini").system("round1"))
"""
from __future__ import annotations

from typing import Any, Sequence

from spkssl.embed.io import NPZ_NAME, read_embeddings
from spkssl.experiment import Experiment, System
from spkssl.scoring import run_scoring
from spkssl.scoring.io import read_utt2spk
from spkssl.scoring.trials import read_trials
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def score_system(exp: Experiment, system: System, backends: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Score every trial list of ``exp`` with ``system``; return the metrics of each (list, back-end)."""
    cfg = exp.cfg["score"]
    backends = list(backends or cfg["backends"])
    train_npz = system.train_embeddings / NPZ_NAME
    train_ids, train_emb = read_embeddings(train_npz)
    utt2spk = read_utt2spk(system.utt2spk) if system.utt2spk is not None else None
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
            if utt2spk is not None and backend in ("plda", "asnorm"):
                kwargs["utt2spk"] = utt2spk
                sources["train_utt2spk"] = str(system.utt2spk)
            log.info("scoring %s with %s (%s)", name, system.name, backend)
            results.append(run_scoring(trials, ids, emb, backend, system.scores, name, cfg, sources, **kwargs))
    return results
