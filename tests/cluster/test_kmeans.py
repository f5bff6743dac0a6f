import numpy as np
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from spkssl.cluster.kmeans import assign, kmeans, kmeans_plusplus, l2_normalize
from tests.cluster.conftest import make_blobs


def test_separated_blobs_give_nmi_near_one(blobs):
    x, y = blobs
    res = kmeans(x, 8, seed=0, device="cpu", chunk_size=37)  # odd chunk: exercises chunk edges
    assert normalized_mutual_info_score(y, res.labels) > 0.99
    assert res.centroids.shape == (8, 32)
    np.testing.assert_allclose(np.linalg.norm(res.centroids, axis=1), 1.0, atol=1e-5)
    assert res.converged and res.inertia >= 0


def test_same_seed_same_labels_different_seed_runs(blobs):
    x, _ = make_blobs(6, 30, spread=0.8)
    a = kmeans(x, 10, seed=3, device="cpu")
    b = kmeans(x, 10, seed=3, device="cpu")
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.centroids, b.centroids)


def test_chunking_does_not_change_result(blobs):
    x, _ = blobs
    a = kmeans(x, 5, seed=1, device="cpu", chunk_size=10_000)
    b = kmeans(x, 5, seed=1, device="cpu", chunk_size=16)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_empty_clusters_are_reseeded():
    # Initial centroids all on one point: all but one cluster start empty.
    x, _ = make_blobs(4, 20)
    init = np.repeat(x[:1], 4, axis=0)
    res = kmeans(x, 4, init=init, device="cpu", max_iter=30)
    assert len(np.unique(res.labels)) == 4


def test_kmeans_plusplus_picks_distinct_rows():
    x = l2_normalize(torch.from_numpy(make_blobs(5, 10)[0]))
    c = kmeans_plusplus(x, 5, np.random.default_rng(0))
    labels, _ = assign(x, c)
    assert len(torch.unique(labels)) == 5


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="number of clusters"):
        kmeans(np.ones((3, 4)), 5)
    with pytest.raises(ValueError, match="row 1"):
        kmeans(np.array([[1.0, 0.0], [np.nan, 1.0]]), 1)
    with pytest.raises(ValueError, match="init must have shape"):
        kmeans(np.eye(4), 2, init=np.eye(3, 4))
