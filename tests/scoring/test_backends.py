"""Cosine, AS-norm and LDA+PLDA on generated Gaussian "speakers"."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.scoring.asnorm import asnorm_scores, speaker_cohort
from spkssl.scoring.cosine import cosine_scores
from spkssl.scoring.metrics import compute_metrics
from spkssl.scoring.plda import PldaBackend


def make_speakers(rng, n_spk, n_utt, scale, offset=0.0):
    dim = scale.size
    centres = rng.normal(size=(n_spk, dim)) + offset
    spk = np.repeat(np.arange(n_spk), n_utt)
    return (centres[spk] + rng.normal(size=(spk.size, dim)) * scale).astype(np.float32), spk


def all_pairs(spk):
    i, j = np.triu_indices(spk.size, 1)
    return i, j, spk[i] == spk[j]


def test_cosine_matches_definition(rng):
    x = rng.normal(size=(6, 5)).astype(np.float32)
    mean = rng.normal(size=5)
    i, j = np.array([0, 1, 2]), np.array([3, 4, 5])
    got = cosine_scores(x, x, i, j, mean)
    a, b = x[i] - mean, x[j] - mean
    ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert np.allclose(got, ref, atol=1e-6)


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


def test_asnorm_does_not_hurt_calibrated_data(rng):
    scale = np.full(16, 1.2)
    xt, lt = make_speakers(rng, 120, 6, scale, offset=0.5)
    xe, le = make_speakers(rng, 40, 4, scale, offset=0.5)
    i, j, lab = all_pairs(le)
    mean = xt.mean(0)
    eer_cos = compute_metrics(cosine_scores(xe, xe, i, j, mean), lab)["eer"]
    eer_as = compute_metrics(asnorm_scores(xe, xe, i, j, xt, top_n=100, mean=mean), lab)["eer"]
    ids = [f"u{k}" for k in range(len(xt))]
    cohort = speaker_cohort(xt, ids, dict(zip(ids, map(str, lt))))
    assert cohort.shape == (120, 16)
    eer_spk = compute_metrics(asnorm_scores(xe, xe, i, j, cohort, top_n=50, mean=mean), lab)["eer"]
    assert eer_as <= eer_cos + 1.0 and eer_spk <= eer_cos + 1.0, (eer_cos, eer_as, eer_spk)


def test_asnorm_formula(rng):
    x = rng.normal(size=(3, 4)).astype(np.float32)
    coh = rng.normal(size=(10, 4)).astype(np.float32)
    got = asnorm_scores(x, x, np.array([0]), np.array([1]), coh, top_n=3)
    n = x / np.linalg.norm(x, axis=1, keepdims=True)
    c = coh / np.linalg.norm(coh, axis=1, keepdims=True)
    s = n[0] @ n[1]
    te, tt = np.sort(n[0] @ c.T)[-3:], np.sort(n[1] @ c.T)[-3:]
    ref = 0.5 * ((s - te.mean()) / te.std(ddof=1) + (s - tt.mean()) / tt.std(ddof=1))
    assert got[0] == pytest.approx(ref, rel=1e-5)
