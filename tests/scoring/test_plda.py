"""Back-end ``plda``: LDA + two-covariance PLDA on generated Gaussian speakers."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.config import section_defaults
from spkssl.scoring import TrainingSet, fit_backend
from spkssl.scoring.cosine import cosine_scores
from spkssl.scoring.metrics import compute_metrics
from spkssl.scoring.plda import PldaBackend
from .helpers import all_pairs, make_speakers


def test_plda_beats_cosine_with_anisotropic_within_speaker_noise(rng):
    scale = np.r_[np.full(4, 0.15), np.full(12, 3.0)]  # speaker info drowned in 12 noisy dims
    xt, lt = make_speakers(rng, 150, 8, scale)
    xe, le = make_speakers(rng, 40, 4, scale)
    i, j, lab = all_pairs(le)
    plda = PldaBackend.train(xt, lt, lda_dim=16, iterations=5)
    eer_plda = compute_metrics(plda.score(xe, xe, i, j), lab)["eer"]
    eer_cos = compute_metrics(cosine_scores(xe, xe, i, j, xt.mean(0)), lab)["eer"]
    assert eer_plda < 0.5 * eer_cos, (eer_plda, eer_cos)


def test_plda_save_load_and_symmetry(rng, tmp_path):
    xt, lt = make_speakers(rng, 30, 5, np.ones(6))
    plda = PldaBackend.train(xt, lt, lda_dim=4, iterations=3)
    assert plda.lda.shape == (6, 4)
    plda.save(tmp_path / "b.npz")
    again = PldaBackend.load(tmp_path / "b.npz")
    i, j = np.array([0, 3, 7]), np.array([1, 9, 2])
    s = plda.score(xt, xt, i, j)
    assert np.allclose(s, again.score(xt, xt, i, j))
    assert np.allclose(s, plda.score(xt, xt, j, i))  # LLR is symmetric


def test_plda_needs_repeated_speakers(rng):
    with pytest.raises(ValueError, match="speakers"):
        PldaBackend.train(rng.normal(size=(5, 3)), np.arange(5))


def test_plda_needs_a_speaker_for_every_training_utterance(rng) -> None:
    x = rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="needs speaker labels"):
        fit_backend("plda", TrainingSet(list("abcd"), x), section_defaults("score"))
    with pytest.raises(ValueError, match=r"1 training utterance\(s\) of t.npz have no speaker in u, e.g. 'd'"):
        fit_backend("plda", TrainingSet(list("abcd"), x, {"a": "s", "b": "s", "c": "t"},
                                        {"train_embeddings": "t.npz", "train_utt2spk": "u"}), section_defaults("score"))
