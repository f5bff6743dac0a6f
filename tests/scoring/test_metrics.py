"""Metrics against hand-computed cases, a brute-force threshold sweep and scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.scoring.metrics import MetricsError, compute_metrics, det_curve, markdown_header, markdown_row


def test_hand_computed_four_scores():
    # ascending: 0.1 n, 0.4 t, 0.6 n, 0.9 t.  Best threshold (reject <= 0.6): miss 1/2, fa 0.
    m = compute_metrics([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0])
    assert m["eer_kaldi"] == pytest.approx(50.0)
    assert m["eer_roc"] == pytest.approx(50.0)
    # c_det = 0.01 * 0.5 + 0 -> normalised by 0.01 -> 0.5 ; same at p=0.05
    assert m["mindcf_0.01"] == pytest.approx(0.5)
    assert m["mindcf_0.05"] == pytest.approx(0.5)
    assert m["thresholds"]["mindcf_0.01"] == pytest.approx(0.6)
    assert (m["num_trials"], m["num_target"], m["num_nontarget"]) == (4, 2, 2)


def test_separable_and_reversed():
    perfect = compute_metrics([3.0, 2.0, 1.0, 0.0], ["target", "target", "nontarget", "nontarget"])
    assert perfect["eer"] == 0.0 and perfect["eer_roc"] == 0.0 and perfect["mindcf_0.01"] == 0.0
    worst = compute_metrics([0.0, 1.0, 2.0, 3.0], [1, 1, 0, 0])
    assert worst["eer_roc"] == pytest.approx(100.0)
    assert worst["mindcf_0.01"] == pytest.approx(1.0)  # reject-all costs exactly the default


def brute_force(scores, labels, p):
    tgt, non = scores[labels], scores[~labels]
    cuts = np.r_[-np.inf, np.sort(scores)]  # reject score <= t
    fnr = np.array([(tgt <= t).mean() for t in cuts])
    fpr = np.array([(non > t).mean() for t in cuts])
    dcf = np.min(p * fnr + (1 - p) * fpr) / min(p, 1 - p)
    i = np.argmin(np.abs(fnr - fpr))
    return fnr, fpr, dcf, i


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(3000) < 0.2
    scores = rng.normal(size=labels.size) + 1.5 * labels
    m = compute_metrics(scores, labels)
    fnr, fpr, dcf1, i = brute_force(scores, labels, 0.01)
    assert m["mindcf_0.01"] == pytest.approx(dcf1, abs=1e-12)
    assert m["mindcf_0.05"] == pytest.approx(brute_force(scores, labels, 0.05)[2], abs=1e-12)
    # ROC-crossing EER lies between the error rates at the closest threshold pair
    step = 1.0 / min(labels.sum(), (~labels).sum())
    assert abs(m["eer_roc"] / 100 - (fnr[i] + fpr[i]) / 2) <= step
    # Kaldi's EER is within one target/nontarget step of the crossing
    assert abs(m["eer_kaldi"] - m["eer_roc"]) / 100 <= step + 1e-12


def test_kaldi_eer_matches_compute_eer_loop():
    """Literal port of Kaldi ComputeEer (ivectorbin/compute-eer.cc) as the reference."""
    rng = np.random.default_rng(5)
    labels = rng.random(500) < 0.3
    scores = rng.normal(size=500) + labels
    tgt, non = np.sort(scores[labels]), np.sort(scores[~labels])
    pos = 0
    while pos + 1 < tgt.size:
        n_n = int(non.size * pos * 1.0 / tgt.size)
        npos = max(non.size - 1 - n_n, 0)
        if non[npos] < tgt[pos]:
            break
        pos += 1
    m = compute_metrics(scores, labels)
    assert m["eer_kaldi"] == pytest.approx(100.0 * pos / tgt.size)
    assert m["thresholds"]["eer_kaldi"] == tgt[pos]


def test_agrees_with_sklearn_roc():
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(3)
    labels = rng.random(5000) < 0.1
    scores = np.round(rng.normal(size=5000) + 2 * labels, 2)  # with ties
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    fnr = 1 - tpr
    i = np.flatnonzero(fnr <= fpr)[0]
    d = fnr - fpr
    w = d[i - 1] / (d[i - 1] - d[i])
    m = compute_metrics(scores, labels)
    assert m["eer_roc"] == pytest.approx(100 * (fpr[i - 1] + w * (fpr[i] - fpr[i - 1])), abs=1e-9)
    p_fa, p_miss = det_curve(scores, labels)
    assert np.allclose(p_fa, fpr) and np.allclose(p_miss, fnr)


@pytest.mark.parametrize(
    "scores,labels,msg",
    [([0.1, 0.2], [1, 1], "both target and nontarget"), ([0.1, np.nan], [1, 0], "finite"),
     ([0.1], [1, 0], "labels"), ([0.1, 0.2], ["target", "tgt"], "neither")],
)
def test_bad_input(scores, labels, msg):
    with pytest.raises(MetricsError, match=msg):
        compute_metrics(scores, labels)


def test_markdown_row():
    m = compute_metrics([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0])
    row = markdown_row("round0 cosine", m)
    assert row == "| round0 cosine | 50.00 | 50.00 | 0.5000 | 0.5000 | 4 |"
    assert markdown_header().count("|") == 2 * row.count("|")
