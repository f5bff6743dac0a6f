"""Clustering of speaker embeddings into pseudo labels.

Modules: :mod:`~spkssl.cluster.kmeans` (chunked spherical k-means in torch),
:mod:`~spkssl.cluster.ahc` (AHC over centroids), :mod:`~spkssl.cluster.estimate`
(number of speakers), :mod:`~spkssl.cluster.purify`, :mod:`~spkssl.cluster.metrics`
(NMI/ARI/purity for reporting), :mod:`~spkssl.cluster.pipeline` (the whole plan)
and :mod:`~spkssl.cluster.pseudo` (pseudo-label cut set + Kaldi maps + stats).

Example:
    >>> from spkssl.cluster import kmeans
    >>> import numpy as np
    >>> kmeans(np.eye(4, 8), 2, seed=0).labels.shape
    (4,)
"""
from spkssl.cluster.ahc import ahc_merge
from spkssl.cluster.estimate import estimate_num_clusters_ahc, estimate_num_clusters_eigengap
from spkssl.cluster.kmeans import KMeansResult, kmeans
from spkssl.cluster.metrics import cluster_quality
from spkssl.cluster.pipeline import ClusterOutcome, cluster_embeddings, resolve_cluster_cfg
from spkssl.cluster.purify import purify


def __getattr__(name: str):  # lazy: the cut-set writer needs lhotse, the algorithms do not
    if name == "make_pseudo_labels":
        from spkssl.cluster.pseudo import make_pseudo_labels

        return make_pseudo_labels
    raise AttributeError(f"module 'spkssl.cluster' has no attribute {name!r}")


__all__ = [
    "ClusterOutcome", "KMeansResult", "ahc_merge", "cluster_embeddings", "cluster_quality",
    "estimate_num_clusters_ahc", "estimate_num_clusters_eigengap", "kmeans",
    "make_pseudo_labels", "purify", "resolve_cluster_cfg",
]
