"""Adaptive symmetric score normalisation (AS-norm; Matejka et al. 2017, as in wespeaker).

For each side of a trial, the ``top_n`` highest cosine scores against a cohort
give a mean and standard deviation; the normalised score is

    0.5 * ((s - mu_e) / sd_e + (s - mu_t) / sd_t).

The cohort is the training embeddings, or one mean per
speaker from an ``utt2spk`` (true or pseudo labels).  Cohort statistics are
computed once per utterance (in chunks of matrix products with ``torch.topk``),
then gathered per trial.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> emb, cohort = rng.normal(size=(4, 8)), rng.normal(size=(50, 8))
    >>> asnorm_scores(emb, emb, np.array([0, 1]), np.array([2, 3]), cohort, top_n=10).shape
    (2,)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from spkssl.scoring.base import Backend, array_or_none, optional_array
from spkssl.scoring.cosine import pair_dot, prepare, training_mean

CHUNK = 4096  # utterances per cohort matrix product


def speaker_cohort(emb: np.ndarray, ids: Sequence[str], utt2spk: dict[str, str]) -> np.ndarray:
    """The mean embedding of each speaker (rows sorted by speaker id), used as a cohort.

    :func:`asnorm_scores` subtracts the global mean (if any) and length-normalises it.

    Raises:
        ValueError: an embedding id missing from ``utt2spk`` (named).
    """
    emb = np.asarray(emb, dtype=np.float32)
    speakers = []
    for u in ids:
        if u not in utt2spk:
            raise ValueError(f"utterance '{u}' has an embedding but no speaker in utt2spk")
        speakers.append(utt2spk[u])
    _, inv = np.unique(np.asarray(speakers), return_inverse=True)
    sums = np.zeros((inv.max() + 1, emb.shape[1]), dtype=np.float64)
    np.add.at(sums, inv, emb)
    return (sums / np.bincount(inv)[:, None]).astype(np.float32)


def cohort_stats(emb: np.ndarray, cohort: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of each row's ``top_n`` best cosine scores against ``cohort`` (both prepared)."""
    k = min(int(top_n), cohort.shape[0])
    if k < 2:
        raise ValueError(f"AS-norm needs a cohort of at least 2 embeddings, got {cohort.shape[0]}")
    coh = torch.from_numpy(np.ascontiguousarray(cohort, dtype=np.float32))
    mu = np.empty(emb.shape[0], dtype=np.float64)
    sd = np.empty(emb.shape[0], dtype=np.float64)
    for s in range(0, emb.shape[0], CHUNK):
        x = torch.from_numpy(np.ascontiguousarray(emb[s:s + CHUNK], dtype=np.float32))
        top = torch.topk(x @ coh.T, k, dim=1).values.double()
        mu[s:s + CHUNK] = top.mean(dim=1).numpy()
        sd[s:s + CHUNK] = top.std(dim=1).clamp_min(1e-6).numpy()
    return mu, sd


def asnorm_scores(
    enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray,
    cohort: np.ndarray, top_n: int = 300, mean: np.ndarray | None = None,
) -> np.ndarray:
    """AS-norm'ed cosine scores for trials ``(enroll[e_idx[i]], test[t_idx[i]])``.

    Args:
        cohort: ``[C, E]`` cohort embeddings (training utterances or speaker means).
        top_n: cohort scores kept per utterance (the adaptive part).
        mean: optional vector subtracted from every embedding, cohort included.
    """
    a = prepare(enroll, mean)
    b = a if test is enroll else prepare(test, mean)
    coh = prepare(cohort, mean)
    raw = pair_dot(a, b, e_idx, t_idx)
    # statistics only for utterances that occur in a trial
    ue, e_inv = np.unique(e_idx, return_inverse=True)
    ut, t_inv = np.unique(t_idx, return_inverse=True)
    mu_e, sd_e = cohort_stats(a[ue], coh, top_n)
    mu_t, sd_t = cohort_stats(b[ut], coh, top_n)
    return 0.5 * ((raw - mu_e[e_inv]) / sd_e[e_inv] + (raw - mu_t[t_inv]) / sd_t[t_inv])


class AsnormBackend(Backend):
    """Back-end ``asnorm``: AS-norm'ed cosine against a cohort of training embeddings or speaker means."""

    name = "asnorm"

    def __init__(self, cohort: np.ndarray, top_n: int, mean: np.ndarray | None, kind: str = "utterances"):
        self.cohort, self.top_n, self.mean, self.kind = cohort, top_n, mean, kind

    @staticmethod
    def uses_labels(cfg):
        return cfg["asnorm"]["cohort"] == "speakers"

    @classmethod
    def fit(cls, train, cfg):
        if train is None:
            raise ValueError("back-end 'asnorm' needs training embeddings (--train-embeddings)")
        a = cfg["asnorm"]
        if train.utt2spk is not None:
            train.labels_of("asnorm")  # every cohort utterance has a speaker
        if a["cohort"] == "speakers":
            if train.utt2spk is None:
                raise ValueError("asnorm.cohort=speakers needs --train-utt2spk")
            cohort = speaker_cohort(train.emb, train.ids, dict(train.utt2spk))
        elif a["cohort"] == "utterances":
            cohort = np.asarray(train.emb)
        else:
            raise ValueError(f"asnorm.cohort must be 'utterances' or 'speakers', got {a['cohort']!r}")
        return cls(cohort.astype(np.float32), int(a["top_n"]), training_mean(train, cfg), a["cohort"])

    def score(self, enroll, test, e_idx, t_idx):
        return asnorm_scores(enroll, test, e_idx, t_idx, self.cohort, self.top_n, self.mean)

    def arrays(self):
        return {"cohort": self.cohort, "top_n": np.asarray(self.top_n), "mean": optional_array(self.mean),
                "kind": np.asarray(self.kind)}

    @classmethod
    def from_arrays(cls, arrays):
        kind = str(arrays["kind"]) if "kind" in arrays else "utterances"
        return cls(arrays["cohort"], int(arrays["top_n"]), array_or_none(arrays["mean"]), kind)

    def describe(self):
        return {"mean_sub": self.mean is not None, "cohort": self.kind, "cohort_size": int(self.cohort.shape[0]),
                "top_n": self.top_n}
