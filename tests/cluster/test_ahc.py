import numpy as np
import pytest

from spkssl.cluster.ahc import ahc_merge
from tests.cluster.conftest import make_blobs


def test_ahc_target_and_threshold_recover_groups():
    x, y = make_blobs(5, 6, spread=0.1)
    by_count = ahc_merge(x, target=5)
    by_thr = ahc_merge(x, threshold=0.5)
    for lab in (by_count, by_thr):
        assert len(np.unique(lab)) == 5
        # same group <=> same merged label
        assert all(len(np.unique(lab[y == g])) == 1 for g in range(5))


def test_ahc_argument_checks():
    c = np.eye(3)
    with pytest.raises(ValueError, match="exactly one"):
        ahc_merge(c)
    with pytest.raises(ValueError, match="target 4"):
        ahc_merge(c, target=4)
    assert ahc_merge(c, target=3).tolist() == [0, 1, 2]
    assert ahc_merge(c, target=1).tolist() == [0, 0, 0]
