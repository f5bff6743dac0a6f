"""Spherical (cosine) k-means in torch, chunked over rows so it scales to millions.

The data are L2-normalised and every centroid is kept on the unit sphere, so a
point belongs to the centroid with the highest cosine similarity and the
objective ("inertia") is the sum of cosine distances ``1 - cos(x, c)``.
Initialisation is greedy k-means++ (D² sampling, with ``1 - cos`` as the distance) on
a random subsample; Lloyd iterations then run over the full data in blocks, so
no ``N × K`` matrix is ever materialised (peak extra memory is at most
``chunk_size × K`` floats).  Empty clusters are re-seeded with the points
farthest from their centroid.  Given a seed, results are deterministic on a
given device.

Lloyd iterations are exact but skip work that cannot change a label
(:mod:`spkssl.cluster.assign`): the first assignment is one blocked GEMM with a
top-2 reduction; afterwards each point's exact similarity to its own (moved)
centroid is compared with a lower bound on its angle to every other centroid,
loosened by how far those moved, and only points that fail the test are
searched again.  Once the centroids settle that is a small fraction of the
points, so an iteration costs a few passes over the data instead of a full
``N × K × E`` GEMM.  On CUDA the full searches run in fp16 with float32
accumulation and float32 re-scoring of the top candidates (``precision``),
which leaves the labels those of a float32 search.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> centers = rng.normal(size=(3, 16))
    >>> x = np.repeat(centers, 50, axis=0) + 0.05 * rng.normal(size=(150, 16))
    >>> res = kmeans(x, 3, seed=0)
    >>> len(set(res.labels[:50].tolist())), res.centroids.shape
    (1, (3, 16))
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from spkssl.cluster.assign import PRECISIONS, Bounds, centroid_drift, own_similarity, top2, torch_threads
from spkssl.utils.device import resolve_device
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)

ArrayLike = np.ndarray | torch.Tensor


@dataclass
class KMeansResult:
    """Output of :func:`kmeans`.

    Attributes:
        centroids: float32 ``[K, E]`` unit-norm centroids.
        labels: int64 ``[N]`` cluster index of each row.
        inertia: sum over rows of the cosine distance to the assigned centroid.
        n_iter: Lloyd iterations run.
        converged: True when the stopping criterion (``tol``) was met.
        history: per iteration (and a final assignment step): ``seconds``,
            ``searched`` (fraction of points given a full search), ``movers``
            (centroids scored exactly against every point) and ``inertia``.
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def l2_normalize(x: ArrayLike, chunk_size: int = 32768) -> torch.Tensor:
    """Return a new float32 tensor with unit-norm rows (zero rows stay zero), chunk by chunk."""
    src = torch.as_tensor(x)
    if src.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {tuple(src.shape)}")
    out = torch.empty(src.shape, dtype=torch.float32, device=src.device)
    for s in range(0, src.shape[0], chunk_size):
        block = src[s : s + chunk_size].to(torch.float32)
        if not torch.isfinite(block).all():
            bad = s + int((~torch.isfinite(block)).any(dim=1).nonzero()[0, 0])
            raise ValueError(f"row {bad} holds a NaN or infinite value")
        out[s : s + chunk_size] = block / block.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return out


def assign(
    x: torch.Tensor, centroids: torch.Tensor, chunk_size: int = 32768
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid (max cosine) of each unit row → ``(labels int64 [N], best cos [N])``.

    ``x`` and ``centroids`` must be on the same device and unit-norm.
    """
    best, _, labels = top2(x, centroids, chunk_size=chunk_size)
    return labels, best


def centroid_sums(
    x: torch.Tensor, labels: torch.Tensor, k: int, chunk_size: int = 32768
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-cluster sums ``[K, E]`` and counts ``[K]`` of the rows of ``x``."""
    sums = torch.zeros(k, x.shape[1], dtype=torch.float32, device=x.device)
    counts = torch.zeros(k, dtype=torch.int64, device=x.device)
    for s in range(0, x.shape[0], chunk_size):
        lab = labels[s : s + chunk_size]
        sums.index_add_(0, lab, x[s : s + chunk_size])
        counts += torch.bincount(lab, minlength=k)
    return sums, counts


def kmeans_plusplus(
    x: torch.Tensor, k: int, rng: np.random.Generator, chunk_size: int = 32768,
    n_local_trials: int | None = None,
) -> torch.Tensor:
    """Greedy k-means++ seeding on unit rows ``x`` (distance ``1 - cos``) → ``[k, E]``.

    As in scikit-learn, each step draws ``n_local_trials`` (default
    ``2 + ln k``) candidates by D² sampling and keeps the one that lowers the
    potential most, which avoids most of plain k-means++'s bad seedings.
    """
    n = x.shape[0]
    if k > n:
        raise ValueError(f"cannot pick {k} initial centroids from {n} rows")
    trials = n_local_trials or 2 + int(np.log(k))
    idx = [int(rng.integers(n))]
    mind = torch.empty(n, dtype=torch.float32, device=x.device)
    for s in range(0, n, chunk_size):
        mind[s : s + chunk_size] = (1.0 - x[s : s + chunk_size] @ x[idx[0]]).clamp_min(0.0)
    for _ in progress(range(1, k), desc="k-means++", enabled=k >= 1000, leave=False):
        cum = torch.cumsum(mind.double(), 0)
        total = float(cum[-1])
        if total <= 0.0:  # every row coincides with a chosen centroid: pick an unused row
            used = set(idx)
            idx.append(next(i for i in range(n) if i not in used))
            continue
        targets = torch.from_numpy(rng.random(trials) * total).to(x.device)
        cand = torch.searchsorted(cum, targets).clamp_max(n - 1)
        d = (1.0 - x @ x[cand].t()).clamp_min(0.0)  # [n, trials], one pass over x
        pot = torch.minimum(mind[:, None], d).sum(dim=0, dtype=torch.float64)
        j = int(torch.argmin(pot))
        best_i, best_d = int(cand[j]), d[:, j]
        idx.append(best_i)
        torch.minimum(mind, best_d, out=mind)
    return x[torch.tensor(idx, device=x.device)].clone()


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` → ``"fp16"`` on CUDA, ``"fp32"`` elsewhere; otherwise checked against :data:`PRECISIONS`."""
    if precision == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {sorted(PRECISIONS)}, got {precision!r}")
    return precision


class _Lloyd:
    """Assignment state between Lloyd steps: labels, exact own similarity, pruning bounds."""

    def __init__(self, x: torch.Tensor, chunk_size: int, precision: str) -> None:
        self.x, self.chunk_size, self.precision = x, chunk_size, precision
        self.bounds = Bounds(x, chunk_size)
        self.labels: torch.Tensor | None = None
        self.own = torch.empty(0)

    def assign(self, c: torch.Tensor, prev: torch.Tensor | None) -> dict[str, Any]:
        """Labels and own similarities for centroids ``c`` (``prev``: the centroids of the last call)."""
        n, dev = self.x.shape[0], self.x.device
        # GEMMs pick their own thread count; everything else here is light (see torch_threads)
        if self.labels is None or prev is None:
            self.own, second, self.labels = top2(self.x, c, None, self.chunk_size, self.precision)
            with torch_threads(1, dev):
                self.bounds.reset(second)
            return {"searched": 1.0, "movers": 0}
        with torch_threads(1, dev):
            self.own = own_similarity(self.x, c, self.labels, self.chunk_size)
            drift = centroid_drift(prev, c)
        need, movers = self.bounds.step(c, drift, self.labels, self.own)
        if need.numel():
            best, second, labels = top2(self.x, c, need, self.chunk_size, self.precision)
            with torch_threads(1, dev):
                self.own[need], self.labels[need] = best, labels
                self.bounds.reset(second, need)
        return {"searched": need.numel() / n, "movers": movers}


def kmeans(
    x: ArrayLike,
    k: int,
    *,
    max_iter: int = 20,
    tol: float = 1e-4,
    seed: int = 0,
    chunk_size: int = 32768,
    device: str | None = "auto",
    init_sample: int | None = None,
    init: ArrayLike | None = None,
    normalized: bool = False,
    precision: str = "auto",
) -> KMeansResult:
    """Spherical k-means of the rows of ``x`` into ``k`` clusters.

    Args:
        x: ``[N, E]`` embeddings (numpy or torch); L2-normalised here unless ``normalized``.
        k: number of clusters (``1 <= k <= N``).
        max_iter: maximum Lloyd iterations.
        tol: stop when the relative decrease of the inertia falls below ``tol``
            (or no label changes).
        seed: seeds the subsample and the k-means++ draws.
        chunk_size: upper bound on rows per distance block (memory <= ``chunk_size * k * 4`` bytes).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        init_sample: rows used for k-means++ (default ``min(N, max(4096, 8 k))``).
        init: optional ``[k, E]`` initial centroids instead of k-means++.
        normalized: set when ``x`` already has unit rows (saves a copy).
        precision: GEMM precision of full searches: ``"auto"`` (fp16 on CUDA, fp32
            otherwise), ``"fp32"``, ``"fp16"`` or ``"bf16"``; labels are those of
            float32 in every case (see :mod:`spkssl.cluster.assign`).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(500, 16)).astype(np.float32)
        >>> res = kmeans(x, 5, seed=0, device="cpu")
        >>> res.labels.shape, res.history[0]["searched"]
        ((500,), 1.0)
    """
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    xt = torch.as_tensor(x)
    if xt.ndim != 2 or xt.shape[0] == 0:
        raise ValueError(f"k-means needs a non-empty [N, E] matrix, got shape {tuple(xt.shape)}")
    n = xt.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"number of clusters must be in [1, {n}] (the number of rows), got {k}")
    xd = xt.to(dev, torch.float32) if normalized else l2_normalize(xt.to(dev), chunk_size)
    rng = np.random.default_rng(seed)
    if init is not None:
        c = l2_normalize(torch.as_tensor(init).to(dev))
        if c.shape != (k, xd.shape[1]):
            raise ValueError(f"init must have shape {(k, xd.shape[1])}, got {tuple(c.shape)}")
    else:
        m = min(n, init_sample or max(4096, 8 * k))
        sub = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
        with torch_threads(1, dev):  # many small steps: see torch_threads
            c = kmeans_plusplus(xd[torch.from_numpy(sub).to(dev)], k, rng, chunk_size)

    state = _Lloyd(xd, chunk_size, prec)
    history: list[dict[str, Any]] = []
    prev_c: torch.Tensor | None = None
    prev_inertia = float("inf")
    prev_labels: torch.Tensor | None = None
    converged = False
    it = 0
    bar = progress(range(max_iter), desc=f"k-means K={k}", enabled=n * k >= 5e8, leave=False)
    for it in bar:
        t0 = time.perf_counter()
        info = state.assign(c, prev_c)
        labels, own = state.labels, state.own
        with torch_threads(1, dev):  # passes over N rows: memory-bound bookkeeping
            inertia = float((1.0 - own.double()).sum())
            sums, counts = centroid_sums(xd, labels, k, chunk_size)
            empty = (counts == 0).nonzero().flatten()
            if len(empty):
                # Re-seed with the rows farthest from their centroid (distinct rows).
                far = torch.topk(own, min(len(empty), n), largest=False).indices
                sums[empty[: len(far)]] = xd[far]
                counts[empty[: len(far)]] = 1
                log.debug("k-means iteration %d: re-seeded %d empty clusters", it + 1, len(empty))
            prev_c, c = c, sums.div_(sums.norm(dim=1, keepdim=True).clamp_min(1e-12))
            same = prev_labels is not None and bool(torch.equal(labels, prev_labels))
            prev_labels = labels.clone()
        bar.set_postfix(inertia=f"{inertia:.4g}", searched=f"{info['searched']:.3f}")
        history.append({"iteration": it + 1, "seconds": time.perf_counter() - t0, "inertia": inertia, **info})
        rel = (prev_inertia - inertia) / max(abs(inertia), 1e-12)
        prev_inertia = inertia
        if len(empty) == 0 and (same or 0.0 <= rel < tol):
            converged = True
            break
    t0 = time.perf_counter()
    info = state.assign(c, prev_c)
    inertia = float((1.0 - state.own.double()).sum())
    history.append({"iteration": "final", "seconds": time.perf_counter() - t0, "inertia": inertia, **info})
    return KMeansResult(
        centroids=c.cpu().numpy(),
        labels=state.labels.cpu().numpy(),
        inertia=inertia,
        n_iter=it + 1,
        converged=converged,
        history=history,
    )
