"""The one-sort metrics equal the previous full-sweep implementation bit for bit.

``reference_metrics`` is the implementation this package shipped before the
packed-key sort: a stable ``argsort``, Kaldi's error rates at every sorted
position, minDCF as the first minimum over all of them, and the ROC built from
every distinct score.  The new code must give identical floats (``==``, not
approx) for every key, including thresholds, on ties, collisions and odd costs.
"""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.scoring.metrics import (
    _check, compute_metrics, dcf_candidates, det_curve, kaldi_eer, roc_eer, stable_sort,
)


def _roc_points_reference(s_sorted, l_sorted):
    s_desc, l_desc = s_sorted[::-1], l_sorted[::-1]
    last_of_group = np.r_[np.flatnonzero(np.diff(s_desc) != 0), s_desc.size - 1]
    tp = np.cumsum(l_desc)[last_of_group]
    fp = (last_of_group + 1) - tp
    n_t, n_n = int(l_desc.sum()), l_desc.size - int(l_desc.sum())
    return np.r_[0.0, fp / n_n], np.r_[1.0, 1.0 - tp / n_t], np.r_[np.inf, s_desc[last_of_group]]


def reference_metrics(scores, labels, p_targets=(0.01, 0.05), c_miss=1.0, c_fa=1.0):
    """The previous implementation: stable argsort + every threshold."""
    s, l = _check(np.asarray(scores), np.asarray(labels))
    order = np.argsort(s, kind="stable")
    s, l = s[order], l[order]
    eer_k, thr_k = kaldi_eer(s[l], s[~l])
    eer_r, thr_r = roc_eer(*_roc_points_reference(s, l))
    out = {"eer_kaldi": 100.0 * eer_k, "eer_roc": 100.0 * eer_r,
           "thresholds": {"eer_kaldi": thr_k, "eer_roc": thr_r}}
    n_t = int(l.sum())
    fnr = np.cumsum(l) / n_t
    fpr = 1.0 - np.cumsum(~l) / (l.size - n_t)
    for p in p_targets:
        c_det = c_miss * fnr * p + c_fa * fpr * (1.0 - p)
        i = int(np.argmin(c_det))
        out[f"mindcf_{p:g}"] = float(c_det[i] / min(c_miss * p, c_fa * (1.0 - p)))
        out["thresholds"][f"mindcf_{p:g}"] = float(s[i])
    return out


def assert_same(scores, labels, **kw):
    new, ref = compute_metrics(scores, labels, **kw), reference_metrics(scores, labels, **kw)
    for key, value in ref.items():
        if key == "thresholds":
            assert new[key] == value, (new[key], value)
        else:
            assert new[key] == value, (key, new[key], value)
    assert new["eer"] == new["eer_kaldi"]


def _data(kind: str, seed: int, n: int = 20000):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.1
    scores = rng.normal(size=n) + 2.0 * labels
    if kind == "float32":  # as cosine scoring gives them
        scores = scores.astype(np.float32)
    elif kind == "six_decimals":  # as read back from a score file: many mixed ties
        scores = np.round(scores / 8, 6)
    elif kind == "coarse":  # a handful of distinct scores: huge tie groups
        scores = np.round(scores)
    elif kind == "neighbours":  # adjacent floats collide in the truncated sort key
        scores = 1.0 + rng.integers(0, 4096, size=n) * np.finfo(np.float64).eps
    elif kind == "signed_zero":
        scores = np.where(rng.random(n) < 0.3, 0.0, scores)
        scores[rng.random(n) < 0.5] *= -1.0
    return scores, labels


@pytest.mark.parametrize("kind", ["float64", "float32", "six_decimals", "coarse", "neighbours", "signed_zero"])
@pytest.mark.parametrize("seed", [0, 1])
def test_identical_to_reference(kind, seed):
    scores, labels = _data(kind, seed)
    assert_same(scores, labels)
    assert_same(scores, labels, p_targets=(0.001, 0.5, 0.99), c_miss=10.0, c_fa=0.1)


@pytest.mark.parametrize("c_miss,c_fa", [(0.0, 1.0), (1.0, 0.0), (1e-30, 1.0)])
def test_degenerate_costs_use_the_full_sweep(c_miss, c_fa):
    scores, labels = _data("six_decimals", 3, 3000)
    with np.errstate(divide="ignore", invalid="ignore"):
        new = compute_metrics(scores, labels, c_miss=c_miss, c_fa=c_fa)
        ref = reference_metrics(scores, labels, c_miss=c_miss, c_fa=c_fa)
    for p in (0.01, 0.05):
        np.testing.assert_equal(new[f"mindcf_{p:g}"], ref[f"mindcf_{p:g}"])
        assert new["thresholds"][f"mindcf_{p:g}"] == ref["thresholds"][f"mindcf_{p:g}"]


@pytest.mark.parametrize("n", [2, 3, 5, 17, 1000])
def test_small_and_extreme_orders(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        labels = rng.random(n) < 0.5
        labels[0], labels[-1] = True, False
        rng.shuffle(labels)
        scores = rng.integers(0, 3, size=n).astype(float)  # ties everywhere
        assert_same(scores, labels)
        assert_same(np.sort(scores), np.sort(labels))  # nontargets first: reject-all wins
        assert_same(np.sort(scores), np.sort(labels)[::-1])


@pytest.mark.parametrize("kind", ["float64", "six_decimals", "neighbours", "signed_zero"])
def test_stable_sort_equals_argsort(kind):
    scores, labels = _data(kind, 5)
    scores = np.asarray(scores, dtype=np.float64)
    s, l = stable_sort(scores, labels)
    order = np.argsort(scores, kind="stable")
    np.testing.assert_array_equal(s, scores[order])
    np.testing.assert_array_equal(l, labels[order])


def test_det_curve_identical_to_reference():
    scores, labels = _data("six_decimals", 7)
    p_fa, p_miss = det_curve(scores, labels)
    order = np.argsort(scores, kind="stable")
    ref_fa, ref_miss, _ = _roc_points_reference(scores[order], labels[order])
    np.testing.assert_array_equal(p_fa, ref_fa)
    np.testing.assert_array_equal(p_miss, ref_miss)


def test_dcf_candidates_hold_the_minimum_of_every_cost():
    rng = np.random.default_rng(11)
    l_sorted = rng.random(500) < 0.4
    cand = dcf_candidates(l_sorted)
    n_t = int(l_sorted.sum())
    fnr = np.cumsum(l_sorted) / n_t
    fpr = 1.0 - np.cumsum(~l_sorted) / (l_sorted.size - n_t)
    for a, b in rng.uniform(0.001, 1.0, size=(50, 2)):
        c_det = a * fnr + b * fpr
        assert int(np.argmin(c_det)) in set(cand.tolist())
