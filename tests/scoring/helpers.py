"""Generated Gaussian "speakers" for the back-end tests."""
from __future__ import annotations

import numpy as np


def make_speakers(rng, n_spk, n_utt, scale, offset=0.0):
    dim = scale.size
    centres = rng.normal(size=(n_spk, dim)) + offset
    spk = np.repeat(np.arange(n_spk), n_utt)
    return (centres[spk] + rng.normal(size=(spk.size, dim)) * scale).astype(np.float32), spk


def all_pairs(spk):
    i, j = np.triu_indices(spk.size, 1)
    return i, j, spk[i] == spk[j]
