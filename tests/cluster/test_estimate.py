import numpy as np
import pytest

from spkssl.cluster.estimate import estimate_num_clusters_ahc, estimate_num_clusters_eigengap
from spkssl.cluster.kmeans import kmeans
from spkssl.cluster.pipeline import cluster_embeddings
from tests.cluster.conftest import make_blobs


@pytest.mark.parametrize("k", [3, 7, 12])
def test_eigengap_finds_true_k_from_overclustered_centroids(k):
    x, _ = make_blobs(k, 40, seed=k)
    cent = kmeans(x, 60, seed=0, device="cpu").centroids
    est, eig = estimate_num_clusters_eigengap(cent, neighbours=5, max_clusters=30)
    assert est == k
    assert eig[k] - eig[k - 1] > 0.1  # a clear gap, not a near tie


def test_ahc_threshold_estimate():
    x, _ = make_blobs(6, 40, seed=1)
    cent = kmeans(x, 40, seed=0, device="cpu").centroids
    assert estimate_num_clusters_ahc(cent, threshold=0.5) == 6


@pytest.mark.parametrize("method", ["eigengap", "ahc"])
def test_pipeline_estimates_k_and_nmi_near_one(method):
    from sklearn.metrics import normalized_mutual_info_score

    x, y = make_blobs(9, 30, seed=2)
    out = cluster_embeddings(x, {"num_clusters": None, "estimate_method": method,
                                 "estimate_centroids": 50, "estimate_neighbours": 4,
                                 "ahc_threshold": 0.5, "device": "cpu"})
    assert out.info["estimated_num_clusters"] == 9 and out.num_clusters == 9
    assert normalized_mutual_info_score(y, out.labels) > 0.99


def test_eigengap_needs_enough_centroids():
    with pytest.raises(ValueError, match="at least 3"):
        estimate_num_clusters_eigengap(np.eye(2))
