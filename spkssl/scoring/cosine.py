"""Cosine scoring of trials, optionally after subtracting a training-set mean.

Everything is vectorised: trials are integer index pairs into the embedding
matrices, scored in chunks of row-wise dot products (no per-trial Python loop).

Example:
    >>> import numpy as np
    >>> emb = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    >>> cosine_scores(emb, emb, np.array([0, 0]), np.array([1, 2])).round(3).tolist()
    [0.707, 0.0]
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from spkssl.scoring.base import Backend, TrainingSet, array_or_none, optional_array
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

CHUNK = 65536  # trials per chunk: bounds the memory of the gathered rows


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), eps)


def pair_dot(a: np.ndarray, b: np.ndarray, a_idx: np.ndarray, b_idx: np.ndarray) -> np.ndarray:
    """``sum(a[a_idx] * b[b_idx], axis=1)`` in chunks → float64 ``[T]``."""
    out = np.empty(len(a_idx), dtype=np.float64)
    for s in range(0, len(a_idx), CHUNK):
        ea = a[a_idx[s:s + CHUNK]]
        eb = b[b_idx[s:s + CHUNK]]
        out[s:s + CHUNK] = np.einsum("ij,ij->i", ea, eb)
    return out


def prepare(emb: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Subtract ``mean`` (if given) and length-normalise: the form every cosine backend scores."""
    emb = np.asarray(emb, dtype=np.float32)
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        if mean.shape[0] != emb.shape[1]:
            raise ValueError(f"mean has dimension {mean.shape[0]}, embeddings {emb.shape[1]}")
        emb = emb - mean
    return l2_normalize(emb)


def cosine_scores(
    enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray,
    mean: np.ndarray | None = None,
) -> np.ndarray:
    """Cosine similarity of ``enroll[e_idx[i]]`` and ``test[t_idx[i]]`` for every trial ``i``.

    Args:
        enroll, test: ``[N, E]`` embedding matrices (may be the same array).
        e_idx, t_idx: ``[T]`` row indices of each trial's two sides.
        mean: optional ``[E]`` vector subtracted from both sides first (e.g. training mean).
    """
    a = prepare(enroll, mean)
    b = a if test is enroll else prepare(test, mean)
    return pair_dot(a, b, e_idx, t_idx)


def training_mean(train: TrainingSet | None, cfg: Mapping[str, Any]) -> np.ndarray | None:
    """The mean that cosine-like back-ends subtract: the training embeddings' with ``score.mean_sub``, else None."""
    if not cfg["mean_sub"]:
        return None
    if train is None:
        log.warning("mean_sub is on but no training embeddings were given: scoring without it")
        return None
    return np.asarray(train.emb).mean(axis=0)


class CosineBackend(Backend):
    """Back-end ``cosine``: cosine of length-normalised embeddings after subtracting the training mean.

    >>> import numpy as np
    >>> b = CosineBackend.fit(TrainingSet(["a", "b"], np.array([[1.0, 0.0], [3.0, 0.0]])), {"mean_sub": True})
    >>> b.mean.tolist(), b.describe()
    ([2.0, 0.0], {'mean_sub': True})
    """

    name = "cosine"
    needs_training = False

    def __init__(self, mean: np.ndarray | None):
        self.mean = mean

    @classmethod
    def fit(cls, train, cfg):
        return cls(training_mean(train, cfg))

    def score(self, enroll, test, e_idx, t_idx):
        return cosine_scores(enroll, test, e_idx, t_idx, self.mean)

    def arrays(self):
        return {"mean": optional_array(self.mean)}

    @classmethod
    def from_arrays(cls, arrays):
        return cls(array_or_none(arrays["mean"]))

    def describe(self):
        return {"mean_sub": self.mean is not None}
