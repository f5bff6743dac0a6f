"""Pruned Lloyd iterations give the labels of plain Lloyd; search, bounds and precision are exact."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from spkssl.cluster.assign import Bounds, centroid_drift, gemm_error, own_similarity, top2
from spkssl.cluster.kmeans import centroid_sums, kmeans, kmeans_plusplus, l2_normalize, resolve_precision
from tests.cluster.conftest import make_blobs


def plain_lloyd(x, k, max_iter, tol, seed):
    """The previous implementation: k-means++ on the same subsample, a full search every step."""
    xd = l2_normalize(torch.as_tensor(x))
    n = xd.shape[0]
    rng = np.random.default_rng(seed)
    m = min(n, max(4096, 8 * k))
    sub = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    c = kmeans_plusplus(xd[torch.from_numpy(sub)], k, rng)
    prev_inertia, prev_labels = float("inf"), None
    for _ in range(max_iter):
        best, labels = (xd @ c.t()).max(dim=1)
        inertia = float((1.0 - best.double()).sum())
        sums, counts = centroid_sums(xd, labels, k)
        empty = (counts == 0).nonzero().flatten()
        if len(empty):
            far = torch.topk(best, min(len(empty), n), largest=False).indices
            sums[empty[: len(far)]] = xd[far]
        c = sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-12)
        same = prev_labels is not None and bool(torch.equal(labels, prev_labels))
        rel = (prev_inertia - inertia) / max(abs(inertia), 1e-12)
        prev_labels, prev_inertia = labels, inertia
        if len(empty) == 0 and (same or 0.0 <= rel < tol):
            break
    best, labels = (xd @ c.t()).max(dim=1)
    return labels.numpy(), c.numpy(), float((1.0 - best.double()).sum())


@pytest.mark.parametrize("spread,k,n_per", [(0.15, 8, 40), (0.8, 12, 60), (1.5, 20, 50), (0.5, 60, 30)])
def test_same_result_as_plain_lloyd(spread, k, n_per):
    x, _ = make_blobs(k, n_per, dim=24, spread=spread, seed=k)
    for tol in (0.0, 1e-4):
        labels, cent, inertia = plain_lloyd(x, k, 25, tol, seed=3)
        res = kmeans(x, k, max_iter=25, tol=tol, seed=3, device="cpu")
        np.testing.assert_array_equal(res.labels, labels)
        np.testing.assert_allclose(res.centroids, cent, atol=1e-6)
        assert res.inertia == pytest.approx(inertia, rel=1e-6)


def test_pruning_actually_skips_work():
    x, _ = make_blobs(30, 100, dim=32, spread=0.5, seed=1)
    res = kmeans(x, 30, max_iter=15, tol=0.0, seed=0, device="cpu")
    assert res.history[0]["searched"] == 1.0
    assert min(h["searched"] for h in res.history[1:]) < 0.05
    assert res.history[-1]["iteration"] == "final" and len(res.history) == res.n_iter + 1


def _unit(rng, n, d):
    return torch.nn.functional.normalize(torch.from_numpy(rng.normal(size=(n, d)).astype(np.float32)), dim=1)


@pytest.mark.parametrize("k", [1, 2, 3, 7, 50])
def test_top2_matches_brute_force(k):
    rng = np.random.default_rng(k)
    x, c = _unit(rng, 500, 16), _unit(rng, k, 16)
    sims = x @ c.t()
    best, second, labels = top2(x, c, chunk_size=37)
    np.testing.assert_array_equal(labels.numpy(), sims.argmax(dim=1).numpy())
    np.testing.assert_allclose(best.numpy(), sims.max(dim=1).values.numpy(), atol=1e-6)
    expect2 = torch.sort(sims, dim=1, descending=True).values[:, 1] if k > 1 else torch.full((500,), -1.0)
    np.testing.assert_allclose(second.numpy(), expect2.numpy(), atol=1e-6)
    rows = torch.from_numpy(rng.choice(500, size=77, replace=False))
    b2, s2, l2 = top2(x, c, rows, chunk_size=10)
    np.testing.assert_array_equal(l2.numpy(), labels[rows].numpy())
    np.testing.assert_allclose(b2.numpy(), best[rows].numpy(), atol=1e-6)  # GEMM blocking: last bit


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_half_precision_search_keeps_float32_labels(precision):
    x, _ = make_blobs(40, 25, dim=64, spread=1.2, seed=2)
    x = l2_normalize(torch.from_numpy(x))
    c = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:40]].clone()
    c[1] = torch.nn.functional.normalize(c[0] + 1e-3 * c[2], dim=0)  # a near-duplicate: must fall back
    best, second, labels = top2(x, c, precision=precision)
    ref_best, ref_second, ref_labels = top2(x, c)
    np.testing.assert_array_equal(labels.numpy(), ref_labels.numpy())
    np.testing.assert_allclose(best.numpy(), ref_best.numpy(), atol=1e-6)
    assert (second >= ref_second - 1e-6).all()  # an upper bound where it is not exact
    res32 = kmeans(x, 40, seed=1, device="cpu", precision="fp32", max_iter=8)
    res16 = kmeans(x, 40, seed=1, device="cpu", precision=precision, max_iter=8)
    np.testing.assert_array_equal(res16.labels, res32.labels)


def test_gemm_error_bounds_hold():
    rng = np.random.default_rng(0)
    a, b = _unit(rng, 2000, 256), _unit(rng, 300, 256)
    exact = a.double() @ b.double().t()
    assert (a @ b.t() - exact).abs().max() <= gemm_error(256)
    for precision, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        approx = (a.to(dtype) @ b.t().to(dtype)).double()
        assert (approx - exact).abs().max() <= gemm_error(256, precision)


def test_drift_is_accurate_for_small_and_undefined_moves():
    old = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    angle = 1e-5
    new = torch.tensor([[np.cos(angle), np.sin(angle)], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float32)
    d = centroid_drift(old, new)
    assert d[0] == pytest.approx(angle, rel=1e-2) and d[1] < 1e-9 and d[2] == pytest.approx(np.pi)


@pytest.mark.parametrize("jump", [0.01, 0.3, 2.0])
def test_bounds_never_skip_a_point_that_would_move(jump):
    rng = np.random.default_rng(7)
    x, c = _unit(rng, 3000, 12), _unit(rng, 40, 12)
    _, second, labels = top2(x, c)
    bounds = Bounds(x)
    bounds.reset(second)
    for step in range(4):
        new = torch.nn.functional.normalize(c + jump / (step + 1) * _unit(rng, 40, 12) * 0.3, dim=1)
        new[step] = _unit(rng, 1, 12)[0]  # one centroid re-seeded far away
        own = own_similarity(x, new, labels)
        need, _ = bounds.step(new, centroid_drift(c, new), labels, own)
        skipped = torch.ones(len(x), dtype=torch.bool)
        skipped[need] = False
        truth = (x @ new.t()).argmax(dim=1)
        assert torch.equal(truth[skipped], labels[skipped])
        best, second, lab = top2(x, new, need)
        labels[need] = lab
        bounds.reset(second, need)
        c = new


def test_precision_resolution():
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("fp8", torch.device("cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x, _ = make_blobs(20, 50, dim=32, spread=0.6, seed=4)
    cpu = kmeans(x, 20, seed=0, device="cpu", max_iter=10)
    for precision in ("fp32", "fp16", "bf16"):
        gpu = kmeans(x, 20, seed=0, device="cuda", max_iter=10, precision=precision)
        assert (gpu.labels == cpu.labels).mean() > 0.999
