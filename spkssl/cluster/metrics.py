"""Cluster-quality measures against true speakers (for reporting only, never for training).

Example:
    >>> cluster_quality(["a", "a", "b", "b"], [0, 0, 1, 1])["nmi"]
    1.0
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def purity(true: Sequence, pred: Sequence) -> float:
    """Fraction of items whose cluster's majority true label equals their own."""
    t = np.unique(np.asarray(true), return_inverse=True)[1]
    p = np.unique(np.asarray(pred), return_inverse=True)[1]
    if len(t) == 0:
        return float("nan")
    # Sparse contingency: count (pred, true) pairs, take the max per pred cluster.
    pair = p.astype(np.int64) * (t.max() + 1) + t
    keys, counts = np.unique(pair, return_counts=True)
    best = np.zeros(p.max() + 1, dtype=np.int64)
    np.maximum.at(best, keys // (t.max() + 1), counts)
    return float(best.sum() / len(t))


def cluster_quality(true: Sequence, pred: Sequence) -> dict[str, float | int]:
    """NMI (arithmetic), ARI, purity, and the numbers of true and pseudo speakers."""
    true = list(true)
    pred = list(pred)
    if len(true) != len(pred):
        raise ValueError(f"{len(true)} true labels but {len(pred)} predicted")
    return {
        "num_utterances": len(true),
        "nmi": float(normalized_mutual_info_score(true, pred)),
        "ari": float(adjusted_rand_score(true, pred)),
        "purity": purity(true, pred),
        "num_true_speakers": len(set(true)),
        "num_pseudo_speakers": len(set(pred)),
    }
