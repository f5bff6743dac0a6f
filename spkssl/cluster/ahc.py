"""Agglomerative clustering of k-means centroids (cosine distance, average linkage).

Used after over-clustering: k-means splits the data into many small clusters,
then AHC over their centroids (never over the utterances) merges them either
down to a target count or until the closest pair is farther than a cosine
distance threshold.  Each centroid counts as one observation (UPGMA over
centroids), which keeps very large clusters from absorbing their neighbours.

Example:
    >>> import numpy as np
    >>> c = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]], dtype=np.float32)
    >>> ahc_merge(c, target=2).tolist()
    [0, 0, 1, 1]
"""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage


def ahc_linkage(centroids: np.ndarray) -> np.ndarray:
    """Average-linkage tree (scipy format) of unit-normalised centroids under cosine distance."""
    c = np.asarray(centroids, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError(f"AHC needs at least 2 centroids in a [M, E] matrix, got {c.shape}")
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    return linkage(c, method="average", metric="cosine")


def _relabel(raw: np.ndarray) -> np.ndarray:
    """Map arbitrary labels to 0..K-1 in order of first appearance."""
    _, first, inv = np.unique(raw, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inv].astype(np.int64)


def ahc_merge(
    centroids: np.ndarray, *, target: int | None = None, threshold: float | None = None
) -> np.ndarray:
    """Merge centroids → new label (0..K'-1, first-appearance order) for each centroid.

    Exactly one of ``target`` (stop at this many clusters) and ``threshold``
    (stop when the average cosine distance between the closest pair exceeds it)
    must be given.
    """
    if (target is None) == (threshold is None):
        raise ValueError("give exactly one of target= and threshold= for AHC")
    m = len(centroids)
    if target is not None:
        if not 1 <= target <= m:
            raise ValueError(f"AHC target {target} must be in [1, {m}] (the number of centroids)")
        if target == m:
            return np.arange(m, dtype=np.int64)
        if m == 1 or target == 1:
            return np.zeros(m, dtype=np.int64)
        raw = fcluster(ahc_linkage(centroids), t=target, criterion="maxclust")
    else:
        if not 0.0 <= float(threshold) <= 2.0:
            raise ValueError(f"AHC cosine-distance threshold must be in [0, 2], got {threshold}")
        if m == 1:
            return np.zeros(1, dtype=np.int64)
        raw = fcluster(ahc_linkage(centroids), t=float(threshold), criterion="distance")
    return _relabel(raw)
