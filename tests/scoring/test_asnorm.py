"""Back-end ``asnorm``: adaptive symmetric score normalisation against a cohort."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.config import with_defaults
from spkssl.scoring import TrainingSet, fit_backend
from spkssl.scoring.asnorm import asnorm_scores, speaker_cohort
from spkssl.scoring.cosine import cosine_scores
from spkssl.scoring.metrics import compute_metrics
from .helpers import all_pairs, make_speakers


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



def test_a_speaker_cohort_needs_speakers(rng) -> None:
    x = rng.normal(size=(6, 3))
    cfg = with_defaults("score", {"asnorm": {"cohort": "speakers", "top_n": 2}})
    with pytest.raises(ValueError, match="asnorm.cohort=speakers needs --train-utt2spk"):
        fit_backend("asnorm", TrainingSet(list("abcdef"), x), cfg)
    b = fit_backend("asnorm", TrainingSet(list("abcdef"), x, dict(zip("abcdef", "ssttuu"))), cfg)
    assert b.cohort.shape == (3, 3) and b.describe()["cohort"] == "speakers"
