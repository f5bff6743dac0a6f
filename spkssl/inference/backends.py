"""Scoring back-ends as fitted objects that can be stored beside a model and applied later.

``spkssl score`` fits each back-end of :mod:`spkssl.scoring` on the training
embeddings and scores a trial list in one call.  A stand-alone ``spkssl verify``
needs the fitted state alone: the training mean (cosine, AS-norm), the whitening
mean and transform, the AS-norm cohort, the LDA+PLDA model.  Each back-end here
is fitted from the same inputs with the same functions as
:func:`spkssl.scoring.score_trials` and scores with the same functions, so its
scores are the recipe's, and it round-trips through a dict of arrays
(:meth:`FittedBackend.arrays` / :func:`backend_from_arrays`).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.normal(size=(40, 8)).astype(np.float32)
    >>> spk = {f"u{i}": f"s{i % 4}" for i in range(40)}
    >>> b = fit_backend("whiten", [f"u{i}" for i in range(40)], train, None, {"whiten": {"floor": 0.3}})
    >>> again = backend_from_arrays("whiten", b.arrays())
    >>> x = rng.normal(size=(2, 8)).astype(np.float32)
    >>> bool(np.allclose(b.score(x, x, np.array([0]), np.array([1])), again.score(x, x, np.array([0]), np.array([1]))))
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from spkssl.config import with_defaults
from spkssl.scoring.asnorm import asnorm_scores, speaker_cohort
from spkssl.scoring.cosine import cosine_scores, pair_dot
from spkssl.scoring.plda import PldaBackend
from spkssl.scoring.whiten import Whitening


class FittedBackend:
    """A back-end with its training statistics: ``score(enroll, test, e_idx, t_idx) -> scores [T]``."""

    name: str = ""

    def score(self, enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything :func:`backend_from_arrays` needs, as named numpy arrays."""
        raise NotImplementedError


def _optional(x: np.ndarray | None) -> np.ndarray:
    return np.zeros(0, dtype=np.float32) if x is None else np.asarray(x)


@dataclass
class CosineBackend(FittedBackend):
    """Cosine of length-normalised embeddings after subtracting the training mean (``score.mean_sub``)."""

    mean: np.ndarray | None
    name = "cosine"

    def score(self, enroll, test, e_idx, t_idx):
        return cosine_scores(enroll, test, e_idx, t_idx, self.mean)

    def arrays(self):
        return {"mean": _optional(self.mean)}


@dataclass
class WhitenBackend(FittedBackend):
    """Cosine after PCA whitening by the training embeddings (:class:`~spkssl.scoring.whiten.Whitening`)."""

    whitening: Whitening
    name = "whiten"

    def score(self, enroll, test, e_idx, t_idx):
        a = self.whitening.apply(enroll)
        return pair_dot(a, a if test is enroll else self.whitening.apply(test), e_idx, t_idx)

    def arrays(self):
        return {"mean": self.whitening.mean, "transform": self.whitening.transform}


@dataclass
class AsnormBackend(FittedBackend):
    """AS-norm'ed cosine against a stored cohort."""

    cohort: np.ndarray
    top_n: int
    mean: np.ndarray | None
    name = "asnorm"

    def score(self, enroll, test, e_idx, t_idx):
        return asnorm_scores(enroll, test, e_idx, t_idx, self.cohort, self.top_n, self.mean)

    def arrays(self):
        return {"cohort": self.cohort, "top_n": np.asarray(self.top_n), "mean": _optional(self.mean)}


@dataclass
class PldaFitted(FittedBackend):
    """LDA + PLDA log-likelihood ratios (:class:`~spkssl.scoring.plda.PldaBackend`)."""

    plda: PldaBackend
    name = "plda"

    def score(self, enroll, test, e_idx, t_idx):
        return self.plda.score(enroll, test, e_idx, t_idx)

    def arrays(self):
        p = self.plda
        return {"mean": p.mean, "lda": p.lda, "plda_mean": p.plda_mean, "transform": p.transform, "psi": p.psi}


def _mean(train_emb: np.ndarray, c: Mapping[str, Any]) -> np.ndarray | None:
    return train_emb.mean(axis=0) if c["mean_sub"] else None  # what score_trials subtracts


def _labels(train_ids: Sequence[str], utt2spk: Mapping[str, str] | None, name: str) -> np.ndarray:
    if utt2spk is None:
        raise ValueError(f"back-end '{name}' needs speaker labels of the training embeddings (utt2spk)")
    missing = [u for u in train_ids if u not in utt2spk]
    if missing:
        raise ValueError(f"{len(missing)} training utterance(s) have no speaker in utt2spk, e.g. '{missing[0]}'")
    return np.asarray([utt2spk[u] for u in train_ids])


def _fit_asnorm(ids, emb, utt2spk, c):
    a = c["asnorm"]
    cohort = speaker_cohort(emb, ids, dict(utt2spk or {})) if a["cohort"] == "speakers" else np.asarray(emb)
    if a["cohort"] == "speakers" and utt2spk is None:
        raise ValueError("asnorm.cohort=speakers needs speaker labels of the training embeddings (utt2spk)")
    return AsnormBackend(cohort.astype(np.float32), int(a["top_n"]), _mean(emb, c))


#: back-end name → ``fit(train_ids, train_emb, utt2spk, score_cfg)``
FITTERS: dict[str, Callable[..., FittedBackend]] = {
    "cosine": lambda ids, emb, utt2spk, c: CosineBackend(_mean(emb, c)),
    "whiten": lambda ids, emb, utt2spk, c: WhitenBackend(Whitening.fit(emb, float(c["whiten"]["floor"]))),
    "asnorm": _fit_asnorm,
    "plda": lambda ids, emb, utt2spk, c: PldaFitted(PldaBackend.train(
        emb, _labels(ids, utt2spk, "plda"), int(c["plda"]["lda_dim"]), int(c["plda"]["iterations"]))),
}

#: back-end name → ``build(arrays)``, the inverse of :meth:`FittedBackend.arrays`
LOADERS: dict[str, Callable[[Mapping[str, np.ndarray]], FittedBackend]] = {
    "cosine": lambda a: CosineBackend(a["mean"] if a["mean"].size else None),
    "whiten": lambda a: WhitenBackend(Whitening(a["mean"], a["transform"])),
    "asnorm": lambda a: AsnormBackend(a["cohort"], int(a["top_n"]), a["mean"] if a["mean"].size else None),
    "plda": lambda a: PldaFitted(PldaBackend(a["mean"], a["lda"], a["plda_mean"], a["transform"], a["psi"])),
}


def fit_backend(name: str, train_ids: Sequence[str], train_emb: np.ndarray, utt2spk: Mapping[str, str] | None,
                score_cfg: Mapping[str, Any] | None = None) -> FittedBackend:
    """Fit back-end ``name`` on training embeddings (``score_cfg``: a partial ``score`` section).

    Raises:
        ValueError: an unknown back-end, or labels a back-end needs and lacks.
    """
    if name not in FITTERS:
        raise ValueError(f"unknown scoring back-end '{name}'; known: {sorted(FITTERS)}")
    return FITTERS[name](list(train_ids), np.asarray(train_emb, dtype=np.float32), utt2spk,
                         with_defaults("score", score_cfg))


def backend_from_arrays(name: str, arrays: Mapping[str, np.ndarray]) -> FittedBackend:
    """Rebuild a back-end stored with :meth:`FittedBackend.arrays`."""
    if name not in LOADERS:
        raise ValueError(f"unknown scoring back-end '{name}'; known: {sorted(LOADERS)}")
    return LOADERS[name](arrays)
