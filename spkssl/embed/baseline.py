"""The untrained baseline: per-utterance log-mel statistics (mean ++ standard deviation).

It needs no model and shows what the raw features alone give a scoring back-end;
every trained round should beat it.  Features are the raw log-mel fbank (no CMN,
which would zero the mean half).

Example:
    >>> import numpy as np
    >>> logmel_stats(np.array([[0.0, 2.0], [2.0, 2.0]], dtype=np.float32)).tolist()
    [1.0, 2.0, 1.0, 0.0]
"""
from __future__ import annotations

import numpy as np


def logmel_stats(feats: np.ndarray) -> np.ndarray:
    """``[T, F]`` log-mel frames → ``[2F]`` float32: mean over time, then standard deviation."""
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[0] == 0:
        raise ValueError(f"expected a non-empty [frames, bins] matrix, got shape {feats.shape}")
    return np.concatenate([feats.mean(axis=0), feats.std(axis=0)]).astype(np.float32)
