"""The label-free ``whiten`` back-end: unit covariance, and speakers found under a dominant nuisance direction."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.config import section_defaults
from spkssl.scoring import TrainingSet, backend_info, fit_backend, score_trials
from spkssl.scoring.metrics import compute_metrics
from spkssl.scoring.trials import Trials
from spkssl.scoring.whiten import Whitening


def _corpus(rng: np.random.Generator, n_spk: int, n_utt: int) -> tuple[np.ndarray, np.ndarray]:
    """Speakers in 8 small directions; 2 nuisance directions with 6x the spread, random per utterance."""
    spk = np.repeat(np.arange(n_spk), n_utt)
    centres = rng.normal(size=(n_spk, 10)) * np.r_[np.ones(8), 0, 0]
    noise = rng.normal(size=(spk.size, 10)) * np.r_[np.full(8, 0.3), 4.0, 4.0]
    return (centres[spk] + noise).astype(np.float32), spk


def test_whitened_training_set_has_unit_covariance(rng: np.random.Generator) -> None:
    x, _ = _corpus(rng, 50, 10)
    w = Whitening.fit(x, floor=1e-6)
    y = w.apply(x, unit=False)
    assert np.allclose(y.mean(0), 0, atol=1e-4) and np.allclose(np.cov(y.T), np.eye(10), atol=1e-3)
    assert np.allclose(np.linalg.norm(w.apply(x), axis=1), 1, atol=1e-5)


def test_whiten_backend_needs_no_labels_and_beats_cosine_under_nuisance(rng: np.random.Generator) -> None:
    train, _ = _corpus(rng, 200, 10)
    test, spk = _corpus(rng, 30, 6)
    ids = [f"u{k}" for k in range(spk.size)]
    i, j = np.triu_indices(spk.size, 1)
    trials = Trials("t", [ids[k] for k in i], [ids[k] for k in j], spk[i] == spk[j])
    train_ids = [f"t{k}" for k in range(len(train))]
    eer = {}
    for name in ("cosine", "whiten"):
        backend = fit_backend(name, TrainingSet(train_ids, train), section_defaults("score"))
        eer[name] = compute_metrics(score_trials(trials, backend, ids, test), trials.labels)["eer"]
    assert backend_info(backend) == {"backend": "whiten", "mean_sub": False, "num_train": len(train), "floor": 0.3}
    assert eer["whiten"] < 20.0 < 40.0 < eer["cosine"], eer  # 15.8 vs 42.2 % here
    with pytest.raises(ValueError, match="'whiten' needs training embeddings"):
        fit_backend("whiten", None, section_defaults("score"))
    weak = Whitening.fit(train, floor=1.0)  # every eigenvalue raised to at least the mean: weak ones scaled less
    assert np.abs(weak.transform).max() < np.abs(Whitening.fit(train, floor=1e-6).transform).max()
    with pytest.raises(ValueError, match="at least 2 training embeddings"):
        Whitening.fit(train[:1])
