"""Generated speaker-like data: well-separated Gaussian blobs on the sphere."""
from __future__ import annotations

import numpy as np
import pytest


def make_blobs(k: int, per: int, dim: int = 32, spread: float = 0.15, seed: int = 0):
    """``k`` blobs of ``per`` points around random unit centres → (x float32, labels)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(k), per)
    x = centres[labels] + spread * rng.normal(size=(k * per, dim)) / np.sqrt(dim)
    return x.astype(np.float32), labels


@pytest.fixture
def blobs():
    return make_blobs(8, 40)
