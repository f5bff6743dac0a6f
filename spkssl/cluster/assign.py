"""Nearest-centroid search for spherical k-means: blocked GEMM top-2 and exact bound-based pruning.

Points and centroids are unit rows, so the nearest centroid is the one with the
largest dot product and one GEMM block gives every similarity (no norm pass).
:func:`top2` returns the best and second-best similarity of each row, blocked so
that a ``rows × K`` block stays cache-sized; with ``precision`` ``"fp16"`` /
``"bf16"`` (meant for CUDA) the GEMM runs in half precision with float32
accumulation, and the few top candidates of each row are re-scored in float32,
so labels are exactly those of the float32 search (rows whose candidates are
too close to call fall back to float32).

:class:`Bounds` keeps, per point, a lower bound on the angle to every centroid
other than its own (Hamerly's bound, on the sphere).  After centroids move by
angles ``δ_j``, the bound drops by the largest ``δ`` among the others; a point
whose exact similarity to its own (moved) centroid still beats the bound keeps
its label without a full search.  The few centroids that moved most ("movers")
are scored exactly against every point instead, so one re-seeded cluster does
not loosen everyone's bound.  Every bound carries the float32 GEMM error
(:func:`gemm_error`), so a skipped point is one the full search would not have
moved (up to ties within that error, which any float32 search decides arbitrarily).

Example:
    >>> import torch
    >>> x = torch.nn.functional.normalize(torch.randn(100, 8), dim=1)
    >>> c = x[:5].clone()
    >>> best, second, labels = top2(x, c)
    >>> bool((labels[:5] == torch.arange(5)).all()), bool((best >= second).all())
    (True, True)
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator

import numpy as np
import torch

try:  # a scikit-learn dependency: lets the numpy (OpenBLAS) GEMMs follow torch's thread count
    from threadpoolctl import ThreadpoolController

    _BLAS: ThreadpoolController | None = ThreadpoolController()
except Exception:  # noqa: BLE001 - optional: without it OpenBLAS keeps its own default
    _BLAS = None

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
BLOCK_FLOATS = 1 << 22  # ~16 MiB float32 similarity block
CANDIDATES = 4  # half-precision search: re-scored in float32 per row
PARALLEL_FLOPS = 1 << 28  # GEMMs smaller than this (~10 ms on one core) run on one thread


@contextlib.contextmanager
def torch_threads(n: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block with at most ``n`` torch CPU threads (restored afterwards; no-op off CPU).

    For the phases made of many small operations (k-means++ steps, bound
    updates): they gain little from a second thread, and on a busy machine every
    parallel region waits for its slowest, possibly descheduled, thread.  torch's
    thread count is process-wide, so other Python threads running torch CPU work
    meanwhile are limited too (the CLI never does that).

    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    old = torch.get_num_threads()
    if torch.device(device).type != "cpu" or n >= old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def gemm_threads(flops: float) -> int:
    """Threads for a GEMM of ``flops``: all of torch's for big ones, one for small ones (see torch_threads)."""
    return torch.get_num_threads() if flops >= PARALLEL_FLOPS else 1


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """numpy's BLAS (OpenBLAS) limited to ``n`` threads in the block, when threadpoolctl is present."""
    if _BLAS is None or not _BLAS.lib_controllers:
        yield
        return
    with _BLAS.limit(limits=n, user_api="blas"):
        yield


def mm_into(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out = a @ b`` (float32, row-major ``out``): numpy's BLAS on CPU, torch elsewhere.

    numpy ships OpenBLAS, whose sgemm ran 1.5x faster than the MKL bundled with
    torch on the AMD CPUs we measured (and is what faiss uses); the tensors are
    shared with numpy without copies.  Call inside :func:`blas_threads`.
    """
    if a.device.type == "cpu" and a.dtype == b.dtype == out.dtype == torch.float32:
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
        return out
    return torch.mm(a, b, out=out)


def gemm_error(dim: int, precision: str = "fp32") -> float:
    """Upper bound on ``|computed - exact|`` of a dot product of two unit vectors of length ``dim``.

    float32: ``dim·u`` (accumulation, ``u = 2^-24``).  Half precision adds the input
    rounding ``2u_in + u_in²`` (the products sum to at most 1 in magnitude), fp16's
    subnormal spacing and a possible half-precision output rounding.

    >>> round(gemm_error(256), 8), round(gemm_error(256, "fp16"), 6)
    (1.526e-05, 0.001488)
    """
    u32 = 2.0 ** -24
    err = dim * u32
    if precision == "fp32":
        return err
    u_in = {"fp16": 2.0 ** -11, "bf16": 2.0 ** -8}[precision]
    err += 2 * u_in + u_in * u_in + u_in  # inputs, then the output if it is not float32
    if precision == "fp16":
        err += dim * 2.0 ** -25  # subnormal inputs keep an absolute, not relative, error
    return err


def block_rows(k: int, chunk_size: int) -> int:
    """Rows per similarity block: at most ``chunk_size``, about ``BLOCK_FLOATS / k``."""
    return max(1, min(chunk_size, max(256, BLOCK_FLOATS // max(k, 1))))


def _half_mm(a: torch.Tensor, b_t: torch.Tensor) -> torch.Tensor:
    """``a @ b_t`` of half-precision inputs with float32 accumulation, as float32.

    On CUDA the product is written in float32 where the backend offers it;
    otherwise the half-precision output is widened (its rounding is part of
    :func:`gemm_error`) with cuBLAS's reduced-precision reductions switched off.
    """
    if not a.is_cuda:
        return torch.mm(a, b_t).float()
    try:
        return torch.mm(a, b_t, out_dtype=torch.float32)
    except (TypeError, RuntimeError):
        flags = torch.backends.cuda.matmul
        saved = (flags.allow_fp16_reduced_precision_reduction, flags.allow_bf16_reduced_precision_reduction)
        flags.allow_fp16_reduced_precision_reduction = flags.allow_bf16_reduced_precision_reduction = False
        try:
            return torch.mm(a, b_t).float()
        finally:
            flags.allow_fp16_reduced_precision_reduction, flags.allow_bf16_reduced_precision_reduction = saved


def _top2_block(xb: torch.Tensor, c: torch.Tensor, c_t: torch.Tensor, c_lp_t: torch.Tensor | None,
                err_lp: float, err32: float, buf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`top2` of one block of rows ``xb``; ``buf``: a ``[>= rows, K]`` float32 scratch block."""
    k = c.shape[0]
    if c_lp_t is None or k <= CANDIDATES:
        sims = mm_into(xb, c_t, buf[: xb.shape[0]])
        with torch_threads(1, xb.device):  # cache-resident reductions: one thread suffices
            best, labels = sims.max(dim=1)  # ties: the first centroid, as a plain argmax
            if k == 1:
                return best, torch.full_like(best, -1.0), labels
            sims.scatter_(1, labels[:, None], -2.0)
            return best, sims.amax(dim=1), labels
    approx = _half_mm(xb.to(c_lp_t.dtype), c_lp_t)
    a_vals, cand = torch.topk(approx, CANDIDATES, dim=1)
    exact = torch.einsum("re,rce->rc", xb, c[cand])  # float32 re-scoring of the candidates
    e_vals, order = torch.sort(exact, dim=1, descending=True)
    labels = torch.gather(cand, 1, order[:, :1]).squeeze(1)
    rest = a_vals[:, -1] + err_lp  # bound on every non-candidate
    best, second = e_vals[:, 0], torch.maximum(e_vals[:, 1], rest)
    unsure = rest >= best - err32
    if bool(unsure.any()):  # too close to call in half precision: float32 search
        b2, s2, l2 = _top2_block(xb[unsure], c, c_t, None, err_lp, err32, buf)
        best[unsure], second[unsure], labels[unsure] = b2, s2, l2
    return best, second, labels


def top2(
    x: torch.Tensor, centroids: torch.Tensor, rows: torch.Tensor | None = None,
    chunk_size: int = 32768, precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best and second-best similarity and the best centroid of each unit row of ``x``.

    Args:
        x: ``[N, E]`` unit rows; ``centroids``: ``[K, E]`` unit rows (same device).
        rows: optional int64 indices: search only these rows (results in their order).
        chunk_size: upper bound on rows per block.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"`` GEMM (labels equal fp32's; see module doc).

    Returns:
        ``(best float32 [M], second float32 [M], labels int64 [M])``; ``second`` is
        ``-1`` when ``K == 1`` (and, in half precision, may be an upper bound).
    """
    m = x.shape[0] if rows is None else rows.numel()
    k, dim = centroids.shape
    best = torch.empty(m, dtype=torch.float32, device=x.device)
    second = torch.empty_like(best)
    labels = torch.empty(m, dtype=torch.int64, device=x.device)
    c_t = centroids.t().contiguous()
    c_lp_t = None if precision == "fp32" else c_t.to(PRECISIONS[precision])
    err_lp, err32 = gemm_error(dim, precision), gemm_error(dim)
    step = block_rows(k, chunk_size)
    # Scratch blocks allocated once: large fresh allocations page-fault on every use.
    buf = torch.empty(min(step, m), k, dtype=torch.float32, device=x.device)
    x_buf = None if rows is None else torch.empty(min(step, m), dim, dtype=torch.float32, device=x.device)
    threads = gemm_threads(2.0 * m * k * dim)
    with torch_threads(threads, x.device), blas_threads(threads):
        for s in range(0, m, step):
            e = min(m, s + step)
            if rows is None:
                xb = x[s:e]
            else:
                xb = torch.index_select(x, 0, rows[s:e], out=x_buf[: e - s])
            best[s:e], second[s:e], labels[s:e] = _top2_block(xb, centroids, c_t, c_lp_t, err_lp, err32, buf)
    return best, second, labels


def own_similarity(x: torch.Tensor, centroids: torch.Tensor, labels: torch.Tensor,
                   chunk_size: int = 32768) -> torch.Tensor:
    """Exact float32 ``x_i · c_{labels_i}`` for every row (blocked through one small scratch buffer)."""
    n, dim = x.shape
    out = torch.empty(n, dtype=torch.float32, device=x.device)
    step = max(1, min(chunk_size, 4096))
    buf = torch.empty(min(step, n), dim, dtype=torch.float32, device=x.device)
    with torch_threads(1, x.device):  # memory-bound: one thread streams it as fast
        for s in range(0, n, step):
            e = min(n, s + step)
            g = torch.index_select(centroids, 0, labels[s:e], out=buf[: e - s])
            torch.sum(g.mul_(x[s:e]), dim=1, out=out[s:e])
    return out


def centroid_drift(old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """Angle (radians, float64) each centroid moved; ``π`` for a zero (undefined) centroid.

    ``2·asin(|new - old| / 2)`` stays accurate for tiny moves, unlike ``acos(old · new)``.
    """
    diff = (new.double() - old.double()).norm(dim=1)
    angle = 2.0 * torch.asin((diff / 2.0).clamp(max=1.0))
    zero = (new.norm(dim=1) < 0.5) | (old.norm(dim=1) < 0.5)
    return torch.where(zero, torch.full_like(angle, math.pi), angle) * (1.0 + 1e-9) + 1e-12


class Bounds:
    """Per-point lower bound on the angle to every non-own centroid, with exact pruning.

    Use: :meth:`reset` after a full search, :meth:`step` after the centroids move.
    """

    def __init__(self, x: torch.Tensor, chunk_size: int = 32768) -> None:
        self.x, self.chunk_size = x, chunk_size
        self.err = gemm_error(x.shape[1])
        self.angle = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)

    def _angle_of(self, upper_cos: torch.Tensor) -> torch.Tensor:
        return torch.acos((upper_cos.double() + self.err).clamp(-1.0, 1.0))

    def reset(self, second: torch.Tensor, rows: torch.Tensor | None = None) -> None:
        """Bounds from the second-best similarities of a full search (of ``rows``, or all)."""
        if rows is None:
            self.angle = self._angle_of(second)
        else:
            self.angle[rows] = self._angle_of(second)

    def _movers(self, own: torch.Tensor, drift: torch.Tensor) -> int:
        """Number of top movers to score exactly: minimises ``b + k · P(search | b)`` per point.

        ``P(search | b)`` is estimated on a subsample of points from the bound alone
        (bound loosened by the ``b+1``-th largest drift), for ``b`` in 0, 1, 2, 4, ... ``k/4``.
        """
        k = drift.numel()
        ordered = torch.sort(drift, descending=True).values.cpu()
        every = max(1, own.numel() // 8192)
        own_s, angle_s = own[::every].double(), self.angle[::every]
        best_b, best_cost, b = 0, float("inf"), 0
        while True:
            upper = torch.cos((angle_s - float(ordered[b])).clamp_(min=0.0))
            frac = float((own_s < upper + self.err).double().mean())
            if b + frac * k < best_cost:
                best_b, best_cost = b, b + frac * k
            if frac == 0.0 or 2 * max(b, 1) > k // 4:
                return best_b
            b = 1 if b == 0 else 2 * b

    def step(self, centroids: torch.Tensor, drift: torch.Tensor, labels: torch.Tensor,
             own: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Loosen the bounds by the centroid moves; → (rows needing a full search, movers scored).

        ``own`` must be the exact similarity of each row to its (moved) centroid.
        """
        k = centroids.shape[0]
        with torch_threads(1, self.x.device):
            b = self._movers(own, drift) if k > 1 else 0
            order = torch.argsort(drift, descending=True)
            rest = float(drift[order[b]]) if b < k else 0.0
            self.angle -= rest
        if b:
            self._score_movers(centroids, order[:b], labels)
        with torch_threads(1, self.x.device):
            upper = torch.cos(self.angle.clamp(min=0.0))
            return (own.double() < upper + self.err).nonzero().flatten(), b

    def _score_movers(self, centroids: torch.Tensor, movers: torch.Tensor, labels: torch.Tensor) -> None:
        """Tighten every bound with the exact similarity to the ``movers`` (other than a row's own)."""
        k, b = centroids.shape[0], movers.numel()
        mt = centroids[movers].t().contiguous()
        slot = torch.full((k,), -1, dtype=torch.int64, device=self.x.device)
        slot[movers] = torch.arange(b, device=self.x.device)
        n = self.x.shape[0]
        step = block_rows(b, self.chunk_size)
        buf = torch.empty(min(step, n), b, dtype=torch.float32, device=self.x.device)
        threads = gemm_threads(2.0 * n * b * self.x.shape[1])
        for s in range(0, n, step):
            e = min(n, s + step)
            with torch_threads(threads, self.x.device), blas_threads(threads):
                sims = mm_into(self.x[s:e], mt, buf[: e - s])
            with torch_threads(1, self.x.device):
                own_slot = slot[labels[s:e]]
                hit = (own_slot >= 0).nonzero().flatten()
                sims[hit, own_slot[hit]] = -2.0  # a point's own centroid is scored exactly already
                top = sims.amax(dim=1)
                self.angle[s:e] = torch.minimum(self.angle[s:e], self._angle_of(top))
