"""cluster_embeddings: the space k-means works in (raw or whitened)."""
from __future__ import annotations

import numpy as np
import pytest

from spkssl.cluster.metrics import cluster_quality
from spkssl.cluster.pipeline import cluster_embeddings


def _nuisance_dominated(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """8 speakers in 16 dims, plus a large per-utterance offset along 2 shared nuisance directions."""
    rng = np.random.default_rng(seed)
    speakers = np.repeat(np.arange(8), 40)
    centres = rng.normal(size=(8, 16))
    x = centres[speakers] + 0.3 * rng.normal(size=(speakers.size, 16))
    nuisance = rng.normal(size=(2, 16))
    x = x + 1.0 * rng.normal(size=(speakers.size, 2)) @ nuisance  # channel-like, shared by all speakers
    return x.astype(np.float32), speakers


def test_whitening_first_recovers_speakers_a_dominant_nuisance_hides() -> None:
    x, truth = _nuisance_dominated()
    cfg = {"num_clusters": 8, "device": "cpu", "seed": 0}
    raw = cluster_embeddings(x, {**cfg, "space": "raw"})
    white = cluster_embeddings(x, {**cfg, "space": "whiten", "whiten_floor": 0.3})
    nmi_raw = cluster_quality(truth, raw.labels)["nmi"]
    nmi_white = cluster_quality(truth, white.labels)["nmi"]
    assert white.info["space"] == "whiten" and raw.info["space"] == "raw"
    assert nmi_white > 0.9 and nmi_white > nmi_raw + 0.2


def test_an_unknown_space_is_refused() -> None:
    with pytest.raises(ValueError, match="cluster.space must be one of"):
        cluster_embeddings(np.eye(4, dtype=np.float32), {"num_clusters": 2, "device": "cpu", "space": "pca"})
