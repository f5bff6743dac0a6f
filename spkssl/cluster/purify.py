"""Purification: keep only the utterances closest to their cluster centroid.

Pseudo labels are noisy; utterances far from their centroid are the most
likely to be mislabelled.  For each cluster we keep the ``fraction`` of its
members with the highest cosine similarity to the cluster centroid (at least
one), then drop clusters that keep fewer than ``min_size`` members.

Example:
    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 0, 1])
    >>> cos = np.array([0.9, 0.8, 0.1, 0.95, 0.9])
    >>> purify(labels, cos, fraction=0.75, min_size=2).tolist()
    [True, True, False, True, False]
"""
from __future__ import annotations

import math

import numpy as np


def purify(
    labels: np.ndarray, cos_to_centroid: np.ndarray, *, fraction: float = 1.0, min_size: int = 1
) -> np.ndarray:
    """Boolean keep-mask over utterances (see module docstring)."""
    labels = np.asarray(labels)
    cos = np.asarray(cos_to_centroid, dtype=np.float64)
    if labels.shape != cos.shape or labels.ndim != 1:
        raise ValueError(f"labels {labels.shape} and similarities {cos.shape} must be equal 1-D")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"purify fraction must be in (0, 1], got {fraction}")
    if min_size < 1:
        raise ValueError(f"min cluster size must be >= 1, got {min_size}")
    keep = np.zeros(len(labels), dtype=bool)
    if len(labels) == 0:
        return keep
    # Sort by (label, -cos): each cluster's members become a contiguous run, best first.
    order = np.lexsort((-cos, labels))
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends):
        n_keep = max(1, math.ceil(fraction * (e - s) - 1e-9))
        if n_keep >= min_size:
            keep[order[s : s + n_keep]] = True
    return keep
