#!/usr/bin/env python
"""Benchmark spkssl's chunked spherical k-means against scikit-learn (and faiss if importable).

Data: a Gaussian mixture of ``--k`` components on the unit sphere (``--n`` points,
``--dim`` dims).  Every method runs one k-means++ initialisation and the same
number of Lloyd iterations (``--iters``, tolerance 0) on the L2-normalised data
(Euclidean k-means on unit vectors ~ cosine k-means); we report wall time,
the time ratio to ours, and NMI against the generating labels.

``--scale-check`` instead runs ours at 1,000,000 x 256 -> 6,000 clusters for
``--iters`` iterations (default 2) and prints time and peak RSS.

Example::

    python benchmarks/cluster.py --n 20000 --dim 64 --k 200 --iters 10
    python benchmarks/cluster.py --scale-check --device cuda
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from spkssl.cluster.kmeans import kmeans  # noqa: E402


def mixture(n: int, dim: int, k: int, seed: int, spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Unit-normalised Gaussian-mixture data (float32) and the generating labels, built in blocks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = rng.integers(k, size=n)
    x = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        lab = labels[s : s + 100_000]
        block = centres[lab] + (spread / np.sqrt(dim)) * rng.standard_normal((len(lab), dim), dtype=np.float32)
        x[s : s + 100_000] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x, labels


def peak_rss_gib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(name: str, fn, labels: np.ndarray, ref_time: float | None) -> float:
    t = time.perf_counter()
    pred = fn()
    dt = time.perf_counter() - t
    ratio = f"{dt / ref_time:6.2f}x ours" if ref_time else "  (reference)"
    print(f"{name:28s} {dt:8.2f} s  {ratio}  NMI {normalized_mutual_info_score(labels, pred):.4f}", flush=True)
    return dt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--iters", type=int, default=None, help="Lloyd iterations (default 20; 2 for --scale-check)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--chunk-size", type=int, default=32768)
    p.add_argument("--no-sklearn", action="store_true", help="Time only ours (and faiss).")
    p.add_argument("--scale-check", action="store_true", help="1,000,000 x 256 -> 6,000 clusters.")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.scale_check:
        a.n, a.dim, a.k = 1_000_000, 256, 6000
    iters = a.iters or (2 if a.scale_check else 20)

    t = time.perf_counter()
    x, labels = mixture(a.n, a.dim, a.k, a.seed)
    print(f"data: {a.n} x {a.dim} -> {a.k} clusters, {iters} iterations "
          f"(generated in {time.perf_counter() - t:.1f} s); peak RSS {peak_rss_gib():.2f} GiB", flush=True)

    def ours():
        return kmeans(x, a.k, max_iter=iters, tol=0.0, seed=a.seed, device=a.device,
                      chunk_size=a.chunk_size, normalized=True).labels

    if torch.cuda.is_available() and a.device in ("auto", "cuda"):
        torch.cuda.reset_peak_memory_stats()
    ref = run(f"spkssl kmeans ({a.device})", ours, labels, None)
    print(f"peak RSS after ours: {peak_rss_gib():.2f} GiB", flush=True)
    if torch.cuda.is_available() and a.device in ("auto", "cuda"):
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB", flush=True)
    if a.scale_check:
        return

    if not a.no_sklearn:
        from sklearn.cluster import KMeans, MiniBatchKMeans

        run("sklearn KMeans (lloyd)",
            lambda: KMeans(a.k, init="k-means++", n_init=1, max_iter=iters, tol=0.0,
                           random_state=a.seed).fit(x).labels_, labels, ref)
        run("sklearn MiniBatchKMeans",
            lambda: MiniBatchKMeans(a.k, init="k-means++", n_init=1, max_iter=iters, batch_size=4096,
                                    random_state=a.seed).fit(x).labels_, labels, ref)
    try:
        import faiss  # type: ignore[import-not-found]
    except ImportError:
        print("faiss: not importable, skipped")
    else:
        def with_faiss():
            km = faiss.Kmeans(a.dim, a.k, niter=iters, seed=a.seed, spherical=True)
            km.train(x)
            return km.index.search(x, 1)[1].ravel()

        run("faiss Kmeans (spherical)", with_faiss, labels, ref)


if __name__ == "__main__":
    main()
