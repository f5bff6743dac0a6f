"""From embeddings to purified cluster labels: k-means, optional AHC, K estimation, purification.

The plan follows the ``cluster`` config section (``spkssl/configs/cluster.yaml``):

* ``space``: the embeddings as they are (``raw``, length-normalised) or after the
  label-free whitening of the ``whiten`` back-end (:data:`SPACES`), so that k-means
  measures the same cosine that scoring does.

* ``num_clusters`` = K given: k-means into ``round(overcluster_factor * K)``
  clusters; when that is more than K (or an AHC threshold/target is set), the
  centroids are merged by average-linkage cosine AHC down to K (or
  ``ahc_target``, or until ``ahc_threshold``).
* ``num_clusters`` null: k-means into ``estimate_centroids`` clusters, K is
  estimated from those centroids (``estimate_method``: eigengap or AHC
  threshold), and the centroids are merged to K by AHC.

``num_clusters`` above the number of utterances is an error.  When k-means finds
fewer non-empty clusters than asked (identical or collapsed embeddings) a warning
says how many it kept, and ``info["collapsed"]`` records it.

Labels are then re-centred (normalised mean of each merged cluster), every
utterance gets its cosine similarity to its centroid, and purification keeps
the nearest ``purify_fraction`` of each cluster, dropping clusters smaller than
``min_cluster_size``.  Final labels are 0..K'-1 over the kept clusters, -1 for
dropped utterances.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = np.repeat(rng.normal(size=(4, 32)), 30, axis=0) + 0.1 * rng.normal(size=(120, 32))
    >>> out = cluster_embeddings(x, {"num_clusters": 4, "device": "cpu"})
    >>> out.num_clusters, int(out.keep.sum())
    (4, 120)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from spkssl.cluster.ahc import ahc_merge
from spkssl.cluster.estimate import estimate_num_clusters_ahc, estimate_num_clusters_eigengap
from spkssl.cluster.kmeans import centroid_sums, kmeans, l2_normalize
from spkssl.cluster.purify import purify
from spkssl.config import load_defaults
from spkssl.scoring.whiten import Whitening
from spkssl.utils.device import resolve_device
from spkssl.utils.logging import get_logger
from spkssl.utils.registry import Registry

log = get_logger(__name__)


def _whitened(emb: np.ndarray, c: Mapping[str, Any]) -> np.ndarray:
    return Whitening.fit(emb, float(c["whiten_floor"])).apply(emb)


#: ``cluster.space``: what k-means sees, from the embeddings ``[N, E]`` and the cluster section
SPACES: Registry[Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]] = Registry("cluster.space", {
    "raw": lambda emb, c: emb,
    "whiten": _whitened,
})


class ClusterError(ValueError):
    """The clustering cannot give usable pseudo labels (the message says why and what to change)."""


@dataclass
class ClusterOutcome:
    """Result of :func:`cluster_embeddings`.

    Attributes:
        labels: int64 ``[N]`` final pseudo label (0..K'-1) or -1 when purified away.
        raw_labels: int64 ``[N]`` label before purification (0..K-1).
        cos: float32 ``[N]`` cosine similarity of each row to its (pre-purification) centroid.
        keep: bool ``[N]`` purification mask.
        info: method, parameters, K before/after purification, inertia, timings.
    """

    labels: np.ndarray
    raw_labels: np.ndarray
    cos: np.ndarray
    keep: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_clusters(self) -> int:
        """Number of pseudo speakers kept."""
        return int(self.labels.max()) + 1 if (self.labels >= 0).any() else 0


def _compact(labels: np.ndarray) -> np.ndarray:
    """Renumber non-negative labels to 0..K-1 keeping their order; -1 stays -1."""
    out = np.full_like(labels, -1)
    pos = labels >= 0
    out[pos] = np.unique(labels[pos], return_inverse=True)[1]
    return out


def resolve_cluster_cfg(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Package defaults of the ``cluster`` section updated by ``cfg``; checked."""
    c = {**load_defaults()["cluster"], **dict(cfg)}
    unknown = set(cfg) - set(load_defaults()["cluster"])
    if unknown:
        raise ValueError(f"unknown cluster option(s): {sorted(unknown)}")
    if c["num_clusters"] is not None and int(c["num_clusters"]) < 1:
        raise ValueError(f"cluster.num_clusters must be >= 1 or null, got {c['num_clusters']}")
    if float(c["overcluster_factor"]) < 1.0:
        raise ValueError(f"cluster.overcluster_factor must be >= 1, got {c['overcluster_factor']}")
    if c["space"] not in SPACES:
        raise ValueError(f"cluster.space must be one of {sorted(SPACES)}, got {c['space']!r}")
    if c["estimate_method"] not in ESTIMATORS:
        raise ValueError(f"cluster.estimate_method must be one of {sorted(ESTIMATORS)}, got {c['estimate_method']!r}")
    if c["num_clusters"] is None and c["estimate_method"] == "ahc" and c["ahc_threshold"] is None:
        raise ValueError("cluster.estimate_method=ahc needs cluster.ahc_threshold")
    return c


def _kmeans_plan(n: int, c: Mapping[str, Any]) -> tuple[int | None, int, str]:
    """``(K asked or None, k-means clusters, method)`` for ``n`` utterances."""
    if c["num_clusters"] is None:
        return None, min(n, int(c["estimate_centroids"])), f"kmeans+estimate({c['estimate_method']})+ahc"
    k = int(c["num_clusters"])
    if k > n:
        raise ClusterError(f"cluster.num_clusters={k} is more than the {n} utterances to "
                           "cluster: lower cluster.num_clusters (or set it to null to estimate it)")
    m = min(n, max(k, round(float(c["overcluster_factor"]) * k)))
    return k, m, "kmeans" if m == k else "kmeans+ahc"


def _run_kmeans(x: torch.Tensor, m: int, c: Mapping[str, Any], info: dict[str, Any]) -> Any:
    """Spherical k-means of the unit rows ``x`` into ``m`` clusters; records a collapse in ``info``."""
    t0 = time.time()
    n = x.shape[0]
    log.info("k-means: %d embeddings into %d clusters on %s", n, m, x.device)
    km = kmeans(x, m, max_iter=int(c["max_iter"]), tol=float(c["tol"]), seed=int(c["seed"]),
                chunk_size=int(c["chunk_size"]), device=str(x.device), normalized=True)
    found = int(np.unique(km.labels).size)
    if found < m:
        distinct = int(torch.unique(x, dim=0).shape[0])
        log.warning("k-means found %d non-empty cluster(s) of the %d asked: the %d embeddings point in only %d "
                    "distinct direction(s); keeping %d", found, m, n, distinct, found)
        info["collapsed"] = {"asked": m, "found": found, "distinct_embeddings": distinct}
    info.update(kmeans_clusters=m, kmeans_iterations=km.n_iter, kmeans_converged=km.converged,
                kmeans_inertia=km.inertia, kmeans_seconds=round(time.time() - t0, 3))
    return km


def _eigengap(centroids: np.ndarray, c: Mapping[str, Any], info: dict[str, Any]) -> int:
    k, eig = estimate_num_clusters_eigengap(centroids, max_clusters=c["estimate_max_clusters"],
                                            neighbours=int(c["estimate_neighbours"]))
    info["eigenvalues"] = [round(float(v), 6) for v in eig[: min(len(eig), k + 10)]]
    return k


#: ``cluster.estimate_method``: the number of speakers from the k-means centroids
ESTIMATORS: Registry[Callable[[np.ndarray, Mapping[str, Any], dict[str, Any]], int]] = Registry(
    "cluster.estimate_method", {
        "eigengap": _eigengap,
        "ahc": lambda centroids, c, info: estimate_num_clusters_ahc(centroids, float(c["ahc_threshold"])),
    })


def _merge(km: Any, m: int, k_target: int, c: Mapping[str, Any], info: dict[str, Any]) -> np.ndarray:
    """k-means labels merged by centroid AHC to the target (or the threshold), renumbered 0..K-1."""
    labels = km.labels
    use_threshold = c["ahc_threshold"] is not None and (
        c["num_clusters"] is not None or c["estimate_method"] == "ahc"
    )
    target = int(c["ahc_target"]) if c["ahc_target"] is not None else k_target
    if m > 1 and (use_threshold or target < m):
        if use_threshold:
            merge = ahc_merge(km.centroids, threshold=float(c["ahc_threshold"]))
            info["ahc"] = {"threshold": float(c["ahc_threshold"])}
        else:
            merge = ahc_merge(km.centroids, target=min(target, m))
            info["ahc"] = {"target": min(target, m)}
        labels = merge[labels]
        log.info("AHC merged %d centroids into %d clusters", m, int(merge.max()) + 1)
    return _compact(labels)


def centroid_similarity(x: torch.Tensor, labels: np.ndarray, chunk: int) -> np.ndarray:
    """Each unit row's cosine to the normalised mean of its cluster → float32 ``[N]``.

    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    >>> [round(float(v), 3) for v in centroid_similarity(x, np.array([0, 0, 1]), 2)]
    [0.707, 0.707, 1.0]
    """
    n, k = x.shape[0], int(labels.max()) + 1
    lab_t = torch.from_numpy(labels).to(x.device)
    sums, _ = centroid_sums(x, lab_t, k, chunk)
    cent = sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cos = torch.empty(n, dtype=torch.float32, device=x.device)
    for s in range(0, n, chunk):
        cos[s : s + chunk] = (x[s : s + chunk] * cent[lab_t[s : s + chunk]]).sum(dim=1)
    return cos.cpu().numpy()


def cluster_embeddings(emb: np.ndarray | torch.Tensor, cfg: Mapping[str, Any]) -> ClusterOutcome:
    """Cluster the rows of ``emb`` ``[N, E]`` following the ``cluster`` config (see module doc).

    The steps: the space, K, k-means, the estimate of K, AHC, re-centring, purification.
    """
    c = resolve_cluster_cfg(cfg)
    t0 = time.time()
    dev = resolve_device(c["device"])
    chunk = int(c["chunk_size"])
    if c["space"] != "raw":
        emb = SPACES[c["space"]](np.asarray(torch.as_tensor(emb).cpu().numpy(), dtype=np.float32), c)
    x = l2_normalize(torch.as_tensor(emb).to(dev), chunk)
    n = x.shape[0]
    info: dict[str, Any] = {"device": str(dev), "num_utterances": n, "distance": "cosine (spherical k-means)",
                            "space": c["space"]}
    k_target, m, info["method"] = _kmeans_plan(n, c)
    km = _run_kmeans(x, m, c, info)
    if k_target is None:
        k_target = info["estimated_num_clusters"] = ESTIMATORS[c["estimate_method"]](km.centroids, c, info)
        log.info("estimated number of clusters (%s): %d", c["estimate_method"], k_target)
    labels = _merge(km, m, k_target, c, info)
    cos_np = centroid_similarity(x, labels, chunk)
    keep = purify(labels, cos_np, fraction=float(c["purify_fraction"]), min_size=int(c["min_cluster_size"]))
    final = _compact(np.where(keep, labels, -1))
    info.update(
        num_clusters_before_purification=int(labels.max()) + 1,
        num_clusters=int(final.max()) + 1 if keep.any() else 0,
        inertia=float((1.0 - cos_np.astype(np.float64)).sum()),
        inertia_definition="sum over utterances of 1 - cos(embedding, centroid), before purification",
        kept_fraction=float(keep.mean()) if n else 0.0,
        seconds=round(time.time() - t0, 3),
    )
    return ClusterOutcome(labels=final, raw_labels=labels, cos=cos_np, keep=keep, info=info)
