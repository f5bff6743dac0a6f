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
are scores: ``thresholds["eer_kaldi"]`` etc.

Everything costs **one sort** and a few vectorised passes, with no Python loop
over trials: :func:`stable_sort` packs each score's order-preserving bits, its
trial index and its label into one ``uint64`` key, so a single ``np.sort`` gives
the order of Kaldi's stable ``sorted()`` (ties keep trial order, which matters
for minDCF on tied scores).  minDCF is evaluated only where a minimum can be
(the last nontarget before each run of targets, the first and the last trial),
with the arithmetic of the full sweep, so values and thresholds are identical
to evaluating every threshold.

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
_SIGN = np.uint64(1 << 63)


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
    elif labels.dtype != bool:
        if not ((labels == 0) | (labels == 1)).all():
            raise MetricsError("labels must be 0/1, bool or 'target'/'nontarget'")
        labels = labels.astype(bool)
    if not np.isfinite(scores).all():
        idx = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise MetricsError(f"score #{idx} is {scores[idx]} (scores must be finite)")
    n_tgt = int(np.count_nonzero(labels))
    if n_tgt == 0 or n_tgt == labels.size:
        raise MetricsError(
            f"need both target and nontarget trials; got {n_tgt} target, {labels.size - n_tgt} nontarget"
        )
    return scores, labels


def _order_keys(scores: np.ndarray) -> np.ndarray:
    """New ``uint64`` keys whose unsigned order is the float order of ``scores`` (``-0.0`` as ``0.0``).

    >>> k = _order_keys(np.array([-1.5, 0.0, -0.0, 2.0]))
    >>> bool(k[0] < k[1] == k[2] < k[3])
    True
    """
    bits = np.add(scores, 0.0).view(np.uint64)  # x + 0.0 turns -0.0 into +0.0
    flip = np.negative(bits >> np.uint64(63)) | _SIGN  # negatives: every bit; others: the sign bit
    return np.bitwise_xor(bits, flip, out=bits)


def stable_sort(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores ascending with their labels, ties in trial order, from one ``np.sort`` of packed keys.

    Equal to ``o = np.argsort(scores, kind="stable"); scores[o], labels[o]`` (the
    order of Kaldi's ``sorted()``), several times faster: a trial's ``uint64`` key
    is the top bits of its score's order-preserving bit pattern, then its index,
    then its label, so an unsigned sort orders by score, then by trial, and
    carries the label along.  Scores that differ only in the dropped low bits
    (neighbouring floats: rare) break the ascending order; those runs are
    re-sorted exactly by :func:`_repair_collisions`.

    Args:
        scores: float64 ``[N]`` finite scores.
        labels: bool ``[N]``.

    Example:
        >>> s, l = stable_sort(np.array([0.3, 0.1, 0.3, 0.2]), np.array([True, False, False, True]))
        >>> s.tolist(), l.tolist()
        ([0.1, 0.2, 0.3, 0.3], [False, True, True, False])
    """
    n = scores.size
    low = max(1, (n - 1).bit_length()) + 1  # index bits + one label bit
    if low > 40:  # > 5e11 trials: fall back to the general stable sort
        order = np.argsort(scores, kind="stable")
        return scores[order], labels[order]
    shift = np.uint64(low)
    keys = _order_keys(scores)
    keys >>= shift
    keys <<= shift
    tail = np.arange(n, dtype=np.uint64)
    tail <<= np.uint64(1)
    tail |= labels.view(np.uint8)
    keys |= tail
    del tail
    keys.sort()
    l_sorted = (keys & np.uint64(1)).astype(bool)
    index = (keys >> np.uint64(1)) & np.uint64((1 << (low - 1)) - 1)
    s_sorted = scores[index.astype(np.intp)]
    if (s_sorted[1:] < s_sorted[:-1]).any():
        _repair_collisions(s_sorted, l_sorted, keys >> shift)
    return s_sorted, l_sorted


def _repair_collisions(s_sorted: np.ndarray, l_sorted: np.ndarray, block: np.ndarray) -> None:
    """Stably re-sort, in place, the runs of equal truncated key ``block`` that are out of score order.

    Inside such a run the trials are in index order, so a stable sort by score
    gives Kaldi's order; the runs are disjoint and already ordered among themselves.
    """
    bad = np.unique(block[1:][s_sorted[1:] < s_sorted[:-1]])
    starts = np.searchsorted(block, bad, side="left")
    lengths = np.searchsorted(block, bad, side="right") - starts
    offsets = np.cumsum(lengths) - lengths
    pos = np.arange(int(lengths.sum())) + np.repeat(starts - offsets, lengths)
    order = np.argsort(s_sorted[pos], kind="stable")
    s_sorted[pos] = s_sorted[pos][order]
    l_sorted[pos] = l_sorted[pos][order]


def _sorted(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One stable ascending sort shared by every metric (ties keep input order, like Python's sorted)."""
    return stable_sort(scores, labels)


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


def dcf_candidates(l_sorted: np.ndarray) -> np.ndarray:
    """Sorted positions where the detection cost can take its first minimum, for any costs > 0.

    Along the ascending sort the cost rises at every target and falls at every
    nontarget, so a minimum sits at the end of a nontarget run (a nontarget
    followed by a target, or the last trial) or at the first trial when it is a
    target; every other position costs strictly more than one of these.

    >>> dcf_candidates(np.array([True, False, False, True, False])).tolist()
    [0, 2, 4]
    """
    ends = np.flatnonzero(~l_sorted[:-1] & l_sorted[1:])
    first = np.zeros(1 if l_sorted[0] else 0, dtype=ends.dtype)
    return np.concatenate([first, ends, [l_sorted.size - 1]])


def _roc_from(
    s_sorted: np.ndarray, t_cum: np.ndarray, n_t: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`roc_points` from the ascending sort and ``t_cum = cumsum(l_sorted)`` (shared work)."""
    n = s_sorted.size
    n_n = n - n_t
    starts = np.flatnonzero(np.concatenate([[True], s_sorted[1:] != s_sorted[:-1]]))
    t_before = np.zeros(starts.size, dtype=np.int64)
    t_before[1:] = t_cum[starts[1:] - 1]
    tp = (n_t - t_before)[::-1]  # targets scoring >= each distinct score, strictest first
    fp = (n - starts)[::-1] - tp
    p_fa = np.concatenate([[0.0], fp / n_n])
    p_miss = np.concatenate([[1.0], 1.0 - tp / n_t])
    return p_fa, p_miss, np.concatenate([[np.inf], s_sorted[starts[::-1]]])


def _roc_crossing(
    s_sorted: np.ndarray, t_cum: np.ndarray, n_t: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The two consecutive :func:`roc_points` around ``p_miss == p_fa``, found by bisection.

    ``p_miss - p_fa`` never decreases as the threshold rises, so the first curve
    point with ``p_miss <= p_fa`` is the highest distinct score with that
    property; ~log2(N) probes find it without building the curve.  Returns the
    points (the one before it, then it) with the arithmetic of :func:`_roc_from`,
    so :func:`roc_eer` on them gives the same numbers as on the whole curve.
    """
    n = s_sorted.size
    n_n = n - n_t

    def point(f: int) -> tuple[float, float]:  # f: first position of a run of equal scores
        tp = n_t - (int(t_cum[f - 1]) if f else 0)
        return (n - f - tp) / n_n, 1.0 - tp / n_t

    def start(f: int) -> int:
        return int(np.searchsorted(s_sorted, s_sorted[f], side="left"))

    lo, hi = 0, n  # point(0) has p_miss 0 <= p_fa 1; positions >= hi are known not to cross
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p_fa, p_miss = point(start(mid))
        if p_miss - p_fa <= 0:
            lo = mid
        else:
            hi = mid
    f = start(lo)
    nxt = int(np.searchsorted(s_sorted, s_sorted[f], side="right"))
    prev = point(nxt) + (float(s_sorted[nxt]),) if nxt < n else (0.0, 1.0, np.inf)
    cur = point(f) + (float(s_sorted[f]),)
    return (np.array([prev[0], cur[0]]), np.array([prev[1], cur[1]]), np.array([prev[2], cur[2]]))


def roc_points(s_sorted: np.ndarray, l_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Operating points at each distinct score, accepting ``score >= t``, from strictest to laxest.

    Returns ``(p_fa, p_miss, thresholds)``, starting with the reject-all point
    ``(0, 1, +inf)``; ties are never split.
    """
    t_cum = np.cumsum(l_sorted)
    return _roc_from(s_sorted, t_cum, int(t_cum[-1]))


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


def _min_dcf_sorted(
    s_sorted: np.ndarray, l_sorted: np.ndarray, t_cum: np.ndarray, cand: np.ndarray,
    p: float, c_miss: float, c_fa: float,
) -> tuple[float, float]:
    """:func:`min_dcf` over all positions, evaluated at ``cand`` when that is provably the same."""
    n_t = int(t_cum[-1])
    n_n = l_sorted.size - n_t
    a, b = c_miss * p, c_fa * (1.0 - p)
    # Candidates suffice when every step changes the cost by far more than rounding.
    if min(a / n_t, b / n_n) > 1e-12 * (abs(a) + abs(b)):
        t = t_cum[cand]
        return min_dcf(t / n_t, 1.0 - ((cand + 1) - t) / n_n, s_sorted[cand], p, c_miss, c_fa)
    fnr, fpr = error_rates(s_sorted, l_sorted)
    return min_dcf(fnr, fpr, s_sorted, p, c_miss, c_fa)


def compute_metrics(
    scores: Sequence[float], labels: Sequence[Any],
    p_targets: Iterable[float] = DEFAULT_P_TARGETS, c_miss: float = 1.0, c_fa: float = 1.0,
) -> dict[str, Any]:
    """EER (Kaldi and ROC-crossing, percent), minDCF per ``p_target``, their thresholds and counts.

    Args:
        scores: one score per trial (higher = more likely the same speaker).
        labels: 1/True/"target" for target trials, 0/False/"nontarget" otherwise.

    Returns:
        a dict with ``eer``, ``eer_kaldi``, ``eer_roc``, ``mindcf_<p>`` for each ``p_target``,
        ``thresholds`` (each one's threshold), ``num_trials``, ``num_target``, ``num_nontarget``,
        ``p_targets``, ``c_miss`` and ``c_fa``.
    """
    s, l = _sorted(*_check(np.asarray(scores), np.asarray(labels)))
    eer_k, thr_k = kaldi_eer(s[l], s[~l])
    t_cum = np.cumsum(l)
    n_t = int(t_cum[-1])
    eer_r, thr_r = roc_eer(*_roc_crossing(s, t_cum, n_t))
    out: dict[str, Any] = {
        "eer": 100.0 * eer_k,
        "eer_kaldi": 100.0 * eer_k,
        "eer_roc": 100.0 * eer_r,
        "thresholds": {"eer_kaldi": thr_k, "eer_roc": thr_r},
    }
    cand = dcf_candidates(l)
    p_list = [float(p) for p in p_targets]
    for p in p_list:
        if not 0.0 < p < 1.0:
            raise MetricsError(f"p_target must be in (0, 1), got {p}")
        key = f"mindcf_{p:g}"
        out[key], out["thresholds"][key] = _min_dcf_sorted(s, l, t_cum, cand, p, c_miss, c_fa)
    out.update(num_trials=int(l.size), num_target=n_t, num_nontarget=int(l.size) - n_t,
               p_targets=p_list, c_miss=float(c_miss), c_fa=float(c_fa))
    return out


def markdown_header(p_targets: Iterable[float] = DEFAULT_P_TARGETS) -> str:
    """Header (two lines) of the table whose rows :func:`markdown_row` writes."""
    cols = ["system", "EER % (Kaldi)", "EER % (ROC)"] + [f"minDCF {p:g}" for p in p_targets] + ["trials"]
    return "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols)


def markdown_row(name: str, metrics: dict[str, Any]) -> str:
    """One Markdown table row: ``| name | eer_kaldi | eer_roc | each minDCF | trials |``."""
    p_list = metrics.get("p_targets", DEFAULT_P_TARGETS)
    cells = [name, f"{metrics['eer_kaldi']:.2f}", f"{metrics['eer_roc']:.2f}"]
    cells += [f"{metrics[f'mindcf_{p:g}']:.4f}" for p in p_list]
    cells.append(str(metrics.get("num_trials", "")))
    return "| " + " | ".join(cells) + " |"
