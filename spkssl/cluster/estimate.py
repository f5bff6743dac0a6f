"""Estimate the number of speakers from over-clustered k-means centroids.

Method ``eigengap`` (spectral, after Ng-Jordan-Weiss and Park et al. 2019):
the M over-clustered centroids form a k-nearest-neighbour graph whose edge
weights are their cosine similarities (negatives clipped to 0, symmetrised);
the eigenvalues ``λ_1 <= λ_2 <= ...`` of its normalised Laplacian
``I - D^-1/2 A D^-1/2`` are near zero once per well-separated group, so
``K = argmax_k (λ_{k+1} - λ_k)`` for ``k`` in ``[1, max_clusters]``.  It needs
``M`` clearly larger than the true K (several centroids per speaker) and a
dense ``M × M`` eigen-decomposition, so it suits M up to a few thousand.

Method ``ahc``: the number of groups left when average-linkage AHC over the
centroids stops at a cosine-distance threshold (scales to larger M).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> c = np.repeat(np.eye(4, 32), 6, axis=0) + 0.05 * rng.normal(size=(24, 32))
    >>> estimate_num_clusters_eigengap(c, neighbours=5)[0]
    4
"""
from __future__ import annotations

import numpy as np

from spkssl.cluster.ahc import ahc_merge


def knn_affinity(centroids: np.ndarray, neighbours: int) -> np.ndarray:
    """Symmetric ``[M, M]`` affinity: cosine similarity to each row's ``neighbours`` nearest, else 0."""
    c = np.asarray(centroids, dtype=np.float64)
    c = c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
    sim = np.clip(c @ c.T, 0.0, 1.0)
    m = len(c)
    nn = int(min(max(neighbours, 1), m - 1))
    np.fill_diagonal(sim, -1.0)  # exclude self when ranking
    keep = np.argpartition(-sim, nn - 1, axis=1)[:, :nn] if m > 1 else np.zeros((m, 0), int)
    aff = np.zeros_like(sim)
    rows = np.repeat(np.arange(m), keep.shape[1])
    aff[rows, keep.ravel()] = np.maximum(sim[rows, keep.ravel()], 0.0)
    aff = np.maximum(aff, aff.T)
    np.fill_diagonal(aff, 1.0)
    return aff


def estimate_num_clusters_eigengap(
    centroids: np.ndarray, *, max_clusters: int | None = None, neighbours: int = 10
) -> tuple[int, np.ndarray]:
    """K by the largest eigengap of the normalised Laplacian → ``(K, smallest eigenvalues)``."""
    m = len(centroids)
    if m < 3:
        raise ValueError(f"eigengap estimation needs at least 3 centroids, got {m}")
    kmax = int(min(max_clusters or m - 1, m - 1))
    if kmax < 1:
        raise ValueError(f"max_clusters must be >= 1, got {max_clusters}")
    aff = knn_affinity(centroids, neighbours)
    d = 1.0 / np.sqrt(aff.sum(axis=1))
    lap = np.eye(m) - d[:, None] * aff * d[None, :]
    eig = np.sort(np.linalg.eigvalsh(lap))[: kmax + 1]
    gaps = np.diff(eig)
    return int(np.argmax(gaps)) + 1, eig


def estimate_num_clusters_ahc(centroids: np.ndarray, threshold: float) -> int:
    """Number of groups average-linkage AHC leaves at cosine distance ``threshold``."""
    return int(ahc_merge(centroids, threshold=threshold).max()) + 1
