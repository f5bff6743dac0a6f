"""LDA + length normalisation + two-covariance PLDA (Kaldi's x-vector back-end).

Training follows Kaldi's recipe (``ivector-subtract-global-mean``,
``ivector-compute-lda``, ``ivector-normalize-length``, ``ivector-compute-plda``):

1. subtract the training mean;
2. LDA to ``lda_dim`` (generalised eigenvectors of between- vs within-class scatter);
3. length-normalise to norm ``sqrt(dim)``;
4. the two-covariance model ``x = y_spk + e`` with ``y ~ N(mu, B)``, ``e ~ N(0, W)``
   (Sizov et al. 2014), fitted by EM.  The EM runs in the basis that
   simultaneously diagonalises ``W`` (→ I) and ``B`` (→ diag(psi)), so every E-step
   is elementwise.

Scores are log-likelihood ratios of "same speaker" vs "different speakers" for one
enrolment and one test vector; in the diagonal basis the LLR is a quadratic form
``q(a) + q(b) + sum(beta * a * b)``, so trials are scored by gathered dot products.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> spk = np.repeat(np.arange(20), 5)
    >>> x = rng.normal(size=(20, 6))[spk] + 0.3 * rng.normal(size=(100, 6))
    >>> plda = PldaBackend.train(x, spk, lda_dim=4)
    >>> plda.score(x, x, np.array([0, 0]), np.array([1, 99])).round(1).tolist()  # doctest: +SKIP
    [6.1, -9.3]
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.linalg

from spkssl.scoring.base import Backend
from spkssl.scoring.cosine import pair_dot
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def _class_stats(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class counts, means and the pooled within-class scatter ``sum (x - m_k)(x - m_k)^T``."""
    _, inv = np.unique(labels, return_inverse=True)
    counts = np.bincount(inv).astype(np.float64)
    sums = np.zeros((counts.size, x.shape[1]))
    np.add.at(sums, inv, x)
    means = sums / counts[:, None]
    dev = x - means[inv]
    return counts, means, dev.T @ dev


def train_lda(x: np.ndarray, labels: np.ndarray, dim: int) -> np.ndarray:
    """LDA projection ``[E, dim]`` (columns: top generalised eigenvectors of S_b vs S_w)."""
    counts, means, scatter_w = _class_stats(x, labels)
    sw = scatter_w / x.shape[0]
    mu = x.mean(axis=0)
    dm = means - mu
    sb = (dm * counts[:, None]).T @ dm / x.shape[0]
    sw += 1e-6 * np.trace(sw) / sw.shape[0] * np.eye(sw.shape[0])
    vals, vecs = scipy.linalg.eigh(sb, sw)
    return vecs[:, np.argsort(vals)[::-1][:dim]]


def length_norm(x: np.ndarray) -> np.ndarray:
    """Scale rows to norm ``sqrt(dim)`` (Kaldi ``ivector-normalize-length``)."""
    return x * (np.sqrt(x.shape[1]) / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


def _diagonalise(b: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``V`` with ``V^T W V = I`` and ``V^T B V = diag(psi)`` → ``(V, psi)``."""
    psi, v = scipy.linalg.eigh(b, w)
    return v, np.maximum(psi, 0.0)


def train_two_cov(x: np.ndarray, labels: np.ndarray, iterations: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM for the two-covariance PLDA → ``(mu, B, W)`` (speaker mean, between and within covariances)."""
    counts, means, scatter_w = _class_stats(x, labels)
    n, d = x.shape
    k = counts.size
    mu = means.mean(axis=0)
    w = scatter_w / n + 1e-6 * np.eye(d)
    b = np.cov(means.T, bias=True).reshape(d, d) + 1e-6 * np.eye(d)
    for it in range(iterations):
        v, psi = _diagonalise(b, w)
        # E-step in the diagonal basis: prior y ~ N(m0, diag(psi)), noise N(0, I)
        f = (means - mu) @ v  # class means, centred, in the new basis: [K, d]
        post_var = psi[None, :] / (1.0 + counts[:, None] * psi[None, :])  # [K, d]
        post_mean = post_var * counts[:, None] * f  # prior mean 0 after centring
        # M-step (transform statistics back with V^{-1})
        vinv = np.linalg.inv(v)
        y = post_mean @ vinv + mu  # [K, d] posterior speaker means in the original basis
        dy = y - y.mean(axis=0)
        cov_y = (post_var.sum(axis=0)[:, None] * vinv).T @ vinv / k  # mean posterior covariance
        b_new = dy.T @ dy / k + cov_y
        dm = means - y
        w_new = (scatter_w + (dm * counts[:, None]).T @ dm) / n
        w_new += vinv.T @ ((post_var * counts[:, None]).sum(axis=0)[:, None] * vinv) / n
        mu = y.mean(axis=0)
        b, w = (b_new + b_new.T) / 2, (w_new + w_new.T) / 2
        log.debug("PLDA EM iteration %d: tr(B)=%.3f tr(W)=%.3f", it + 1, np.trace(b), np.trace(w))
    return mu, b, w


@dataclass
class PldaBackend(Backend):
    """Back-end ``plda``: a trained LDA+PLDA; ``score`` gives LLRs for index-paired trials."""

    mean: np.ndarray       # [E] training mean, subtracted first
    lda: np.ndarray        # [E, D] LDA projection
    plda_mean: np.ndarray  # [D] speaker mean of the PLDA model
    transform: np.ndarray  # [D, D] V: V^T W V = I, V^T B V = diag(psi)
    psi: np.ndarray        # [D] between-class variances in that basis
    iterations: int = 0    # what it was trained with, for reports
    num_train: int = 0
    num_speakers: int = 0

    name = "plda"
    writes_model = True

    @staticmethod
    def uses_labels(cfg):
        return True

    @classmethod
    def fit(cls, train, cfg):
        if train is None:
            raise ValueError("back-end 'plda' needs training embeddings (--train-embeddings)")
        p = cfg["plda"]
        return cls.train(train.emb, train.labels_of("plda"), int(p["lda_dim"]), int(p["iterations"]))

    @classmethod
    def train(
        cls, x: np.ndarray, labels: Sequence, lda_dim: int = 200, iterations: int = 10,
    ) -> "PldaBackend":
        """Fit on training embeddings ``x`` ``[N, E]`` with (pseudo) speaker ``labels`` ``[N]``.

        ``lda_dim`` is capped at ``min(E, num_speakers - 1)``.

        Raises:
            ValueError: fewer than 2 speakers, or no speaker with 2+ utterances.
        """
        x = np.asarray(x, dtype=np.float64)
        labels = np.asarray(labels)
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"{x.shape[0]} embeddings but {labels.shape[0]} labels")
        counts = np.unique(labels, return_counts=True)[1]
        if counts.size < 2 or counts.max() < 2:
            raise ValueError(
                f"PLDA needs >= 2 speakers and one with >= 2 utterances; got {counts.size} speakers"
            )
        dim = int(min(lda_dim, x.shape[1], counts.size - 1))
        mean = x.mean(axis=0)
        lda = train_lda(x - mean, labels, dim)
        z = length_norm((x - mean) @ lda)
        mu, b, w = train_two_cov(z, labels, iterations)
        v, psi = _diagonalise(b, w)
        log.info("trained LDA(%d->%d)+PLDA on %d embeddings of %d speakers", x.shape[1], dim, x.shape[0], counts.size)
        return cls(mean, lda, mu, v, psi, int(iterations), int(x.shape[0]), int(counts.size))

    def project(self, x: np.ndarray) -> np.ndarray:
        """Embeddings → the PLDA basis (mean-sub, LDA, length norm, centre, diagonalise)."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"embeddings have dimension {x.shape[1]}, PLDA was trained on {self.mean.shape[0]}")
        return (length_norm((x - self.mean) @ self.lda) - self.plda_mean) @ self.transform

    def score(self, enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
        """Log-likelihood ratio for each trial ``(enroll[e_idx[i]], test[t_idx[i]])``."""
        psi = self.psi
        a = self.project(enroll)
        b = a if test is enroll else self.project(test)
        # per dimension: same ~ N(0, [[psi+1, psi], [psi, psi+1]]), diff ~ N(0, (psi+1) I)
        alpha = -0.5 * ((psi + 1.0) / (2.0 * psi + 1.0) - 1.0 / (psi + 1.0))
        beta = psi / (2.0 * psi + 1.0)
        const = np.sum(-0.5 * np.log(2.0 * psi + 1.0) + np.log(psi + 1.0))
        qa = (a * a) @ alpha
        qb = qa if b is a else (b * b) @ alpha
        cross = pair_dot(a * beta, b, e_idx, t_idx)
        return const + qa[e_idx] + qb[t_idx] + cross

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "lda": self.lda, "plda_mean": self.plda_mean, "transform": self.transform,
                "psi": self.psi}

    @classmethod
    def from_arrays(cls, arrays) -> "PldaBackend":
        return cls(*(np.asarray(arrays[k]) for k in ("mean", "lda", "plda_mean", "transform", "psi")))

    def describe(self):
        return {"mean_sub": False, "lda_dim": int(self.lda.shape[1]), "iterations": self.iterations,
                "num_train": self.num_train, "num_speakers": self.num_speakers}

    @classmethod
    def load(cls, path: str | Path) -> "PldaBackend":
        """Read a back-end written by :meth:`save`."""
        with np.load(path) as d:
            return cls.from_arrays(d)
