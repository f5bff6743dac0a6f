import numpy as np
import pytest

from spkssl.cluster.pipeline import cluster_embeddings
from spkssl.cluster.purify import purify
from tests.cluster.conftest import make_blobs


def test_planted_outliers_are_removed():
    x, y = make_blobs(5, 40, seed=4)
    rng = np.random.default_rng(9)
    outliers = rng.normal(size=(10, x.shape[1])).astype(np.float32)  # far from every blob
    data = np.vstack([x, outliers])
    out = cluster_embeddings(data, {"num_clusters": 5, "purify_fraction": 0.85, "device": "cpu"})
    assert not out.keep[len(x):].any(), "outliers survived purification"
    assert out.keep[: len(x)].mean() > 0.85
    assert out.num_clusters == 5


def test_fraction_and_min_size():
    labels = np.array([0] * 10 + [1] * 3)
    cos = np.r_[np.linspace(1, 0, 10), [0.9, 0.8, 0.7]]
    keep = purify(labels, cos, fraction=0.5, min_size=3)
    assert keep[:5].all() and not keep[5:10].any()
    assert not keep[10:].any()  # cluster 1 keeps 2 < 3 members: dropped
    assert purify(labels, cos).all()


def test_purify_rejects_bad_arguments():
    with pytest.raises(ValueError, match="fraction"):
        purify(np.zeros(3, int), np.zeros(3), fraction=0.0)
    with pytest.raises(ValueError, match="equal"):
        purify(np.zeros(3, int), np.zeros(4))


def test_overcluster_then_ahc_to_k():
    from sklearn.metrics import normalized_mutual_info_score

    x, y = make_blobs(6, 30, seed=5)
    out = cluster_embeddings(x, {"num_clusters": 6, "overcluster_factor": 4, "device": "cpu"})
    assert out.info["method"] == "kmeans+ahc" and out.info["kmeans_clusters"] == 24
    assert normalized_mutual_info_score(y, out.labels) > 0.99
