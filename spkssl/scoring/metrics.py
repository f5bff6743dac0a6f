"""Verification metrics with Kaldi's definitions: EER, minDCF, DET curve.

* ``eer_kaldi`` — Kaldi ``compute-eer`` (``ComputeEer`` in ivectorbin/compute-eer.cc):
  sort target and nontarget scores, walk the target scores upwards until the
  nontarget score at the mirrored rank falls below it.  ``eer`` is the same number.
* ``eer_roc`` — the point where the ROC crosses ``P_miss == P_fa``, linearly
  interpolated between the two operating points around the crossing.
* ``mindcf_<p>`` — Kaldi ``sid/compute_min_dcf.py``: minimum over thresholds of
  ``C_miss·P_miss·p + C_fa·P_fa·(1−p)``, normalised by ``min(C_miss·p, C_fa·(1−p))``,
  for each ``p`` in ``p_targets`` (default 0.01 and 0.05, ``C_miss = C_fa = 1``).

EERs are in **percent** (as Kaldi prints them); minDCFs are unitless.  Thresholds
are scores: ``thresholds["eer_kaldi"]`` etc.  Everything costs one sort of all scores.

Example:
    >>> import numpy as np
    >>> m = compute_metrics(np.array([0.9, 0.4, 0.6, 0.1]), np.array([1, 1, 0, 0]))
    >>> m["eer"], m["eer_roc"], m["mindcf_0.01"]
    (50.0, 50.0, 0.5)
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

DEFAULT_P_TARGETS = (0.01, 0.05)


class MetricsError(ValueError):
    """Scores/labels cannot be evaluated (empty, one class only, NaN, length mismatch)."""


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if scores.shape != labels.shape:
        raise MetricsError(f"{scores.size} scores but {labels.size} labels")
    if labels.dtype.kind in "US":
        bad = ~np.isin(labels, ["target", "nontarget"])
        if bad.any():
            raise MetricsError(f"label {labels[bad][0]!r} is neither 'target' nor 'nontarget'")
        labels = labels == "target"
    else:
        if not np.isin(labels, [0, 1]).all():
            raise MetricsError("labels must be 0/1, bool or 'target'/'nontarget'")
        labels = labels.astype(bool)
    if not np.isfinite(scores).all():
        idx = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise MetricsError(f"score #{idx} is {scores[idx]} (scores must be finite)")
    n_tgt = int(labels.sum())
    if n_tgt == 0 or n_tgt == labels.size:
        raise MetricsError(
            f"need both target and nontarget trials; got {n_tgt} target, {labels.size - n_tgt} nontarget"
        )
    return scores, labels


def _sorted(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One stable ascending sort shared by every metric (ties keep input order, like Python's sorted)."""
    order = np.argsort(scores, kind="stable")
    return scores[order], labels[order]


def kaldi_eer(tgt_sorted: np.ndarray, non_sorted: np.ndarray) -> tuple[float, float]:
    """Kaldi ``ComputeEer`` on ascending-sorted target and nontarget scores → ``(eer, threshold)``.

    ``eer`` is a fraction.  Vectorised form of the C++ loop (same integer arithmetic).
    """
    n_t, n_n = tgt_sorted.size, non_sorted.size
    pos = np.arange(max(n_t - 1, 0), dtype=np.int64)
    non_n = ((n_n * pos).astype(np.float64) / n_t).astype(np.int64)  # C++: ssize_t(double)
    non_pos = np.maximum(n_n - 1 - non_n, 0)
    hit = np.flatnonzero(non_sorted[non_pos] < tgt_sorted[pos])
    p = int(hit[0]) if hit.size else n_t - 1
    return p / n_t, float(tgt_sorted[p])


def error_rates(s_sorted: np.ndarray, l_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaldi ``ComputeErrorRates``: threshold at each sorted score (reject ``score <= t``).

    Returns ``(fnr, fpr)`` per index of the ascending sort.
    """
    n_t = int(l_sorted.sum())
    n_n = l_sorted.size - n_t
    fnr = np.cumsum(l_sorted) / n_t
    fpr = 1.0 - np.cumsum(~l_sorted) / n_n
    return fnr, fpr


def min_dcf(
    fnr: np.ndarray, fpr: np.ndarray, thresholds: np.ndarray, p_target: float,
    c_miss: float = 1.0, c_fa: float = 1.0,
) -> tuple[float, float]:
    """Kaldi ``ComputeMinDcf`` → ``(normalised minDCF, threshold)``; first minimum wins."""
    c_det = c_miss * fnr * p_target + c_fa * fpr * (1.0 - p_target)
    i = int(np.argmin(c_det))
    return float(c_det[i] / min(c_miss * p_target, c_fa * (1.0 - p_target))), float(thresholds[i])


def roc_points(s_sorted: np.ndarray, l_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Operating points at each distinct score, accepting ``score >= t``, from strictest to laxest.

    Returns ``(p_fa, p_miss, thresholds)``, starting with the reject-all point
    ``(0, 1, +inf)``; ties are never split.
    """
    s_desc, l_desc = s_sorted[::-1], l_sorted[::-1]
    last_of_group = np.r_[np.flatnonzero(np.diff(s_desc) != 0), s_desc.size - 1]
    tp = np.cumsum(l_desc)[last_of_group]
    fp = (last_of_group + 1) - tp
    n_t, n_n = int(l_desc.sum()), l_desc.size - int(l_desc.sum())
    p_fa = np.r_[0.0, fp / n_n]
    p_miss = np.r_[1.0, 1.0 - tp / n_t]
    return p_fa, p_miss, np.r_[np.inf, s_desc[last_of_group]]


def roc_eer(p_fa: np.ndarray, p_miss: np.ndarray, thresholds: np.ndarray) -> tuple[float, float]:
    """EER where the ROC crosses ``p_miss == p_fa`` (linear interpolation) → ``(eer, threshold)``."""
    d = p_miss - p_fa  # decreasing from 1 to -1 along the curve
    i = int(np.flatnonzero(d <= 0)[0])
    if d[i] == 0 or i == 0:
        return float(p_fa[i]), float(thresholds[i])
    w = d[i - 1] / (d[i - 1] - d[i])
    eer = p_fa[i - 1] + w * (p_fa[i] - p_fa[i - 1])
    t0 = thresholds[i - 1] if np.isfinite(thresholds[i - 1]) else thresholds[i]
    return float(eer), float(t0 + w * (thresholds[i] - t0))


def det_curve(scores: Sequence[float], labels: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """DET curve ``(p_fa, p_miss)`` over every distinct threshold (fractions, p_fa ascending)."""
    s, l = _sorted(*_check(np.asarray(scores), np.asarray(labels)))
    p_fa, p_miss, _ = roc_points(s, l)
    return p_fa, p_miss


def compute_metrics(
    scores: Sequence[float], labels: Sequence[Any],
    p_targets: Iterable[float] = DEFAULT_P_TARGETS, c_miss: float = 1.0, c_fa: float = 1.0,
) -> dict[str, Any]:
    """EER (Kaldi and ROC-crossing, percent), minDCF per ``p_target``, their thresholds and counts.

    Args:
        scores: one score per trial (higher = more likely the same speaker).
        labels: 1/True/"target" for target trials, 0/False/"nontarget" otherwise.

    Returns:
        ``{"eer", "eer_kaldi", "eer_roc", "mindcf_<p>"..., "thresholds": {...},
        "num_trials", "num_target", "num_nontarget", "p_targets", "c_miss", "c_fa"}``.
    """
    s, l = _sorted(*_check(np.asarray(scores), np.asarray(labels)))
    eer_k, thr_k = kaldi_eer(s[l], s[~l])
    p_fa, p_miss, thr = roc_points(s, l)
    eer_r, thr_r = roc_eer(p_fa, p_miss, thr)
    out: dict[str, Any] = {
        "eer": 100.0 * eer_k,
        "eer_kaldi": 100.0 * eer_k,
        "eer_roc": 100.0 * eer_r,
        "thresholds": {"eer_kaldi": thr_k, "eer_roc": thr_r},
    }
    fnr, fpr = error_rates(s, l)
    p_list = [float(p) for p in p_targets]
    for p in p_list:
        if not 0.0 < p < 1.0:
            raise MetricsError(f"p_target must be in (0, 1), got {p}")
        key = f"mindcf_{p:g}"
        out[key], out["thresholds"][key] = min_dcf(fnr, fpr, s, p, c_miss, c_fa)
    n_t = int(l.sum())
    out.update(num_trials=int(l.size), num_target=n_t, num_nontarget=int(l.size) - n_t,
               p_targets=p_list, c_miss=float(c_miss), c_fa=float(c_fa))
    return out


def markdown_header(p_targets: Iterable[float] = DEFAULT_P_TARGETS) -> str:
    """Header (two lines) of the table whose rows :func:`markdown_row` writes."""
    cols = ["system", "EER % (Kaldi)", "EER % (ROC)"] + [f"minDCF {p:g}" for p in p_targets] + ["trials"]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def markdown_row(name: str, metrics: dict[str, Any]) -> str:
    """One Markdown table row: ``| name | eer_kaldi | eer_roc | minDCFs... | trials |``."""
    p_list = metrics.get("p_targets", DEFAULT_P_TARGETS)
    cells = [name, f"{metrics['eer_kaldi']:.2f}", f"{metrics['eer_roc']:.2f}"]
    cells += [f"{metrics[f'mindcf_{p:g}']:.4f}" for p in p_list]
    cells.append(str(metrics.get("num_trials", "")))
    return "| " + " | ".join(cells) + " |"
