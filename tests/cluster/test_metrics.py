import pytest

from spkssl.cluster.metrics import cluster_quality, purity


def test_perfect_and_mixed_clusterings():
    q = cluster_quality(["a", "a", "b", "b"], [5, 5, 7, 7])
    assert q["nmi"] == pytest.approx(1.0) and q["ari"] == pytest.approx(1.0) and q["purity"] == 1.0
    assert purity(["a", "b", "a", "b"], [0, 0, 0, 0]) == 0.5
    assert cluster_quality(["a", "b"], [0, 0])["num_pseudo_speakers"] == 1


def test_length_mismatch():
    with pytest.raises(ValueError, match="2 true labels but 1"):
        cluster_quality(["a", "b"], [0])
