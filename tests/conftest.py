"""Shared pytest fixtures: the real-speech corpus beside the project and small helpers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "data" / "speechocean762"

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def speechocean_dir() -> Path:
    """The read-only speechocean762 corpus (Kaldi data dirs); skipped where absent."""
    if not (SHARED_CORPUS / "train" / "wav.scp").is_file():
        pytest.skip(f"speechocean762 not found at {SHARED_CORPUS}")
    return SHARED_CORPUS


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
