"""Label-free whitening of embeddings before cosine scoring (back-end ``whiten``).

Length-normalise, subtract the mean of the (length-normalised) training embeddings
and rotate and scale by the inverse square root of their covariance (PCA whitening),
so that every direction of the training set has unit variance, except that directions
of very little variance are scaled no more than ``floor`` allows; then score by cosine.
It needs training embeddings but no speaker labels, so it also applies to the
untrained baseline and to an unlabelled round 0 — the same step as Kaldi's
``ivector-normalize-length`` + ``ivector-subtract-global-mean`` + a whitening
``transform-vec`` before cosine scoring.

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(500, 4)) * [1.0, 2.0, 4.0, 8.0]
    >>> w = Whitening.fit(x, floor=1e-6)
    >>> np.round(np.cov(w.apply(x, unit=False).T), 2).diagonal().tolist()
    [1.0, 1.0, 1.0, 1.0]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spkssl.scoring.base import Backend
from spkssl.scoring.cosine import l2_normalize, pair_dot


@dataclass(frozen=True)
class Whitening:
    """``apply(x) = l2norm((l2norm(x) - mean) @ transform)``, fitted on training embeddings."""

    mean: np.ndarray       # [E] mean of the length-normalised training embeddings
    transform: np.ndarray  # [E, E] eigenvectors of their covariance over the square roots of its eigenvalues

    @classmethod
    def fit(cls, train: np.ndarray, floor: float = 0.3) -> "Whitening":
        """Fit on ``train`` ``[N, E]``; covariance eigenvalues under ``floor`` x their mean are raised to that.

        The floor (``score.whiten.floor``) keeps directions of almost no training variance
        from being scaled up to dominate the cosine.

        Raises:
            ValueError: fewer than 2 training embeddings.
        """
        x = l2_normalize(train).astype(np.float64)
        if x.shape[0] < 2:
            raise ValueError(f"whitening needs at least 2 training embeddings, got {x.shape[0]}")
        mean = x.mean(axis=0)
        cov = np.cov((x - mean).T).reshape(x.shape[1], x.shape[1])
        vals, vecs = np.linalg.eigh(cov)
        least = floor * max(float(vals.mean()), np.finfo(np.float64).tiny)
        return cls(mean.astype(np.float32), (vecs / np.sqrt(np.maximum(vals, least))).astype(np.float32))

    def apply(self, x: np.ndarray, unit: bool = True) -> np.ndarray:
        """Whitened ``x`` ``[N, E]``, length-normalised again unless ``unit`` is False."""
        y = (l2_normalize(x) - self.mean) @ self.transform
        return l2_normalize(y) if unit else y


class WhitenBackend(Backend):
    """Back-end ``whiten``: cosine after :class:`Whitening` by the training embeddings (no labels)."""

    name = "whiten"

    def __init__(self, whitening: Whitening, num_train: int = 0, floor: float = 0.0):
        self.whitening, self.num_train, self.floor = whitening, num_train, floor

    @classmethod
    def fit(cls, train, cfg):
        if train is None:
            raise ValueError("back-end 'whiten' needs training embeddings (--train-embeddings)")
        floor = float(cfg["whiten"]["floor"])
        return cls(Whitening.fit(train.emb, floor), int(np.asarray(train.emb).shape[0]), floor)

    def score(self, enroll, test, e_idx, t_idx):
        a = self.whitening.apply(enroll)  # unit rows already: a dot product is their cosine
        return pair_dot(a, a if test is enroll else self.whitening.apply(test), e_idx, t_idx)

    def arrays(self):
        return {"mean": self.whitening.mean, "transform": self.whitening.transform,
                "num_train": np.asarray(self.num_train), "floor": np.asarray(self.floor)}

    @classmethod
    def from_arrays(cls, arrays):
        return cls(Whitening(arrays["mean"], arrays["transform"]), int(arrays.get("num_train", 0)),
                   float(arrays.get("floor", 0.0)))

    def describe(self):
        return {"mean_sub": False, "num_train": self.num_train, "floor": self.floor}
