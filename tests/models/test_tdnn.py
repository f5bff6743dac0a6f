"""The small x-vector TDNN."""
from __future__ import annotations

import pytest
import torch

from spkssl.config import with_defaults
from spkssl.models import build_model
from spkssl.models.tdnn import TDNN

from .helpers import check_forward_backward, num_params


@pytest.mark.parametrize("pooling", ["stats", "attentive"])
@pytest.mark.parametrize("frames", [200, 20, 3])
def test_forward_shapes(pooling: str, frames: int) -> None:
    torch.manual_seed(0)
    check_forward_backward(TDNN(24, 16, pooling=pooling, channels=32), frames, 24, 16)


def test_default_size_is_small() -> None:
    model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 256, "pooling": "stats"}), 80)
    assert model.embed_dim == 256
    # 5 frame layers of 256 channels + 768-channel stats layer + 1536 -> 256 embedding
    assert 1.0e6 < num_params(model) < 1.3e6


def test_bad_kwarg_is_named() -> None:
    with pytest.raises(ValueError, match="tdnn.*widht"):
        build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 8, "kwargs": {"widht": 3}}), 40)


def test_bad_input_rank() -> None:
    with pytest.raises(ValueError, match="batch, frames, feat_dim"):
        TDNN(8, 4, channels=8)(torch.randn(10, 8))
