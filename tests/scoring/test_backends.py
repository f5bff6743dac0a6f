"""The back-end registry: every registered back-end fits, scores, and comes back from its arrays unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.config import section_defaults, with_defaults
from spkssl.scoring import BACKENDS, TrainingSet, backend_info, fit_backend, load_backend
from .helpers import make_speakers


@pytest.mark.parametrize("name", list(BACKENDS))
def test_fit_score_and_round_trip(name: str, rng: np.random.Generator, tmp_path) -> None:
    x, spk = make_speakers(rng, 12, 5, np.ones(8))
    ids = [f"u{i}" for i in range(len(x))]
    train = TrainingSet(ids, x, {u: f"s{s}" for u, s in zip(ids, spk)})
    backend = fit_backend(name, train, with_defaults("score", {"asnorm": {"top_n": 10}, "plda": {"lda_dim": 4}}))
    assert backend.name == name and backend_info(backend)["backend"] == name
    i, j = np.array([0, 1, 5]), np.array([1, 7, 30])
    scores = backend.score(x, x, i, j)
    assert scores.shape == (3,) and np.isfinite(scores).all()
    backend.save(tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as arrays:
        again = load_backend(name, dict(arrays))
    assert np.array_equal(again.score(x, x, i, j), scores)  # bit for bit: what a model carries scores as score did


def test_an_unknown_backend_lists_the_registered_ones() -> None:
    with pytest.raises(ValueError, match="unknown scoring back-end 'plda2'; known: asnorm, cosine, plda, whiten"):
        fit_backend("plda2", None, section_defaults("score"))
