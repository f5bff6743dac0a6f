"""Back-end ``cosine``: the definition, and the training mean it subtracts."""
from __future__ import annotations

import numpy as np

from spkssl.config import section_defaults, with_defaults
from spkssl.scoring import TrainingSet, fit_backend
from spkssl.scoring.cosine import cosine_scores


def test_cosine_matches_definition(rng):
    x = rng.normal(size=(6, 5)).astype(np.float32)
    mean = rng.normal(size=5)
    i, j = np.array([0, 1, 2]), np.array([3, 4, 5])
    got = cosine_scores(x, x, i, j, mean)
    a, b = x[i] - mean, x[j] - mean
    ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert np.allclose(got, ref, atol=1e-6)


def test_the_mean_is_the_training_mean_or_none(rng) -> None:
    x = rng.normal(size=(5, 3)).astype(np.float32)
    assert np.allclose(fit_backend("cosine", TrainingSet(list("abcde"), x), section_defaults("score")).mean, x.mean(0))
    plain = with_defaults("score", {"mean_sub": False})
    assert fit_backend("cosine", TrainingSet(list("abcde"), x), plain).mean is None
    assert fit_backend("cosine", None, section_defaults("score")).mean is None  # no training set: scored without it
