#!/usr/bin/env python
"""Benchmark spkssl's chunked spherical k-means against faiss and scikit-learn, same threads for all.

Data: a Gaussian mixture of ``--k`` components on the unit sphere (``--n`` points,
``--dim`` dims).  Every method gets the same L2-normalised data and the same
iteration budget (``--iters``, tolerance 0; ours and scikit-learn stop early
only when no label changes, after which further iterations change nothing).
Euclidean k-means on unit vectors ~ cosine k-means.  We report total wall time
(initialisation and the final assignment included), our k-means++ seeding time
(faiss seeds by random sampling), seconds per Lloyd iteration (the rest of the
time over the iterations run), the total-time ratio to ours, NMI against the
generating labels and peak resident memory during each run.
Thread counts are pinned for every contender (``--threads``: torch, faiss's
OpenMP, scikit-learn's OpenMP/BLAS).  faiss is optional (``pip install
faiss-cpu``, or ``pip install -e .[benchmarks]``); without it that row says so.

``--scale-check`` runs 1,000,000 x 256 -> 6,000 clusters, ours for ``--iters``
(default 20) and faiss for ``--faiss-iters`` (default 5: its per-iteration cost
is constant, so a few iterations give its rate; pass 20 for a full run),
printing time per iteration and peak memory of each.

Example::

    python benchmarks/cluster.py --iters 10 --threads 2
    python benchmarks/cluster.py --scale-check --threads 2 > benchmarks/results/cluster_scale.log
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def mixture(n: int, dim: int, k: int, seed: int, spread: float = 0.6):
    """Unit-normalised Gaussian-mixture data (float32) and the generating labels, built in blocks."""
    import numpy as np

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


def rss_gib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


class PeakRss:
    """Context manager sampling RSS every 20 ms; ``.peak`` is the highest value seen (GiB)."""

    def __enter__(self) -> "PeakRss":
        self.peak, self._stop = rss_gib(), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_gib())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_gib())


def run(name: str, fn: Callable, labels, ref_time: float | None) -> float:
    """Time ``fn() -> (predicted labels, iterations run, seconds outside Lloyd steps or None)``; print a row."""
    from sklearn.metrics import normalized_mutual_info_score

    with PeakRss() as mem:
        t = time.perf_counter()
        pred, n_iter, init_s = fn()
        dt = time.perf_counter() - t
    ratio = f"{dt / ref_time:6.2f}x" if ref_time else "    --"
    per_it = (dt - (init_s or 0.0)) / max(n_iter, 1)
    init = f"{init_s:8.1f} s" if init_s is not None else "       --"
    print(f"{name:32s} {dt:8.1f} s {init} {per_it:8.2f} s {n_iter:5d}  {ratio}  "
          f"{normalized_mutual_info_score(labels, pred):.4f}  {mem.peak:6.2f} GiB", flush=True)
    return dt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--iters", type=int, default=None, help="Lloyd iterations (default 10; 20 for --scale-check)")
    p.add_argument("--faiss-iters", type=int, default=None, help="faiss iterations (default --iters; 5 for --scale-check)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto: CUDA when available, else CPU")
    p.add_argument("--precision", default="auto", help="spkssl k-means GEMM precision (auto: fp16 on CUDA)")
    p.add_argument("--threads", type=int, default=2, help="threads for every contender")
    p.add_argument("--chunk-size", type=int, default=32768)
    p.add_argument("--faiss-first", action="store_true", help="run faiss before ours (load drift check)")
    p.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (it takes ~1 min at 100k x 1000)")
    p.add_argument("--scale-check", action="store_true", help="1,000,000 x 256 -> 6,000 clusters (ours and faiss)")
    a = p.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    if a.scale_check:
        a.n, a.dim, a.k, a.no_sklearn = 1_000_000, 256, 6000, True
    iters = a.iters or (20 if a.scale_check else 10)
    faiss_iters = a.faiss_iters or (5 if a.scale_check else iters)

    import torch
    from threadpoolctl import threadpool_limits

    from spkssl.cluster.kmeans import kmeans, resolve_device

    a.device = str(resolve_device(a.device))
    torch.set_num_threads(a.threads)
    threadpool_limits(a.threads)
    t = time.perf_counter()
    x, labels = mixture(a.n, a.dim, a.k, a.seed)
    print(f"data: {a.n} x {a.dim} -> {a.k} clusters, {iters} iterations, {a.threads} threads "
          f"(generated in {time.perf_counter() - t:.1f} s); RSS {rss_gib():.2f} GiB", flush=True)
    print(f"{'method':32s} {'total':>10s} {'init':>10s} {'per iter':>10s} {'iters':>5s}  {'vs ours':>7s}  "
          f"{'NMI':>6s}  {'peak RSS':>10s}", flush=True)

    history: list = []

    def ours():
        res = kmeans(x, a.k, max_iter=iters, tol=0.0, seed=a.seed, device=a.device,
                     chunk_size=a.chunk_size, normalized=True, precision=a.precision)
        history.extend(res.history)
        return res.labels, res.n_iter, None

    def ours_timed():
        t0 = time.perf_counter()
        pred, n_iter, _ = ours()
        lloyd = sum(h["seconds"] for h in history)  # steps + final assignment
        return pred, n_iter, time.perf_counter() - t0 - lloyd

    cuda = a.device.startswith("cuda") and torch.cuda.is_available()

    def run_ours() -> float:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        dt = run(f"spkssl kmeans ({a.device})", ours_timed, labels, None)
        if cuda:
            print(f"  peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB", flush=True)
        steps = ", ".join(f"{h['seconds']:.2f}s/{100 * h['searched']:.0f}%" for h in history)
        print(f"  init = k-means++ seeding; per step (seconds / points searched, last = final "
              f"assignment): {steps}", flush=True)
        return dt

    def run_faiss(ref: float | None) -> float | None:
        try:
            import faiss  # type: ignore[import-not-found]
        except ImportError:
            print("faiss not installed (pip install faiss-cpu): skipped", flush=True)
            return None
        faiss.omp_set_num_threads(a.threads)

        def with_faiss():
            km = faiss.Kmeans(a.dim, a.k, niter=faiss_iters, seed=a.seed, spherical=True,
                              max_points_per_centroid=max(256, -(-a.n // a.k)))
            km.train(x)
            return km.index.search(x, 1)[1].ravel(), faiss_iters, None

        return run(f"faiss {faiss.__version__} Kmeans (spherical)", with_faiss, labels, ref)

    if a.faiss_first:  # the other order: shows how much the machine's load moved between rows
        t_faiss = run_faiss(None)
        ref = run_ours()
        if t_faiss is not None:
            print(f"  faiss total / ours total: {t_faiss / ref:.2f}x", flush=True)
    else:
        ref = run_ours()
        run_faiss(ref)

    if not a.no_sklearn:
        from sklearn.cluster import KMeans, MiniBatchKMeans

        def sk_lloyd():
            km = KMeans(a.k, init="k-means++", n_init=1, max_iter=iters, tol=0.0, random_state=a.seed).fit(x)
            return km.labels_, km.n_iter_, None

        def sk_minibatch():
            km = MiniBatchKMeans(a.k, init="k-means++", n_init=1, max_iter=iters, batch_size=4096,
                                 random_state=a.seed).fit(x)
            return km.labels_, km.n_iter_, None

        run("sklearn KMeans (lloyd)", sk_lloyd, labels, ref)
        run("sklearn MiniBatchKMeans", sk_minibatch, labels, ref)


if __name__ == "__main__":
    main()
