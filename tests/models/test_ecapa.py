"""ECAPA-TDNN."""
from __future__ import annotations

import pytest
import torch

from spkssl.models import build_model
from spkssl.models.ecapa import ECAPA, Res2Conv

from .helpers import check_forward_backward, num_params


@pytest.mark.parametrize("pooling", ["attentive", "stats"])
@pytest.mark.parametrize("frames", [100, 20, 2])
def test_forward_shapes(pooling: str, frames: int) -> None:
    torch.manual_seed(0)
    model = ECAPA(24, 16, pooling=pooling, channels=32, mfa_channels=48, attention_dim=8)
    check_forward_backward(model, frames, 24, 16)


@pytest.mark.parametrize(("channels", "low", "high"), [(512, 5.9e6, 6.6e6), (1024, 14.3e6, 15.1e6)])
def test_published_sizes(channels: int, low: float, high: float) -> None:
    # Desplanques et al. 2020: C=512 -> 6.2 M, C=1024 -> 14.7 M (192-dim embedding).
    cfg = {"name": "ecapa", "embed_dim": 192, "pooling": "attentive", "kwargs": {"channels": channels}}
    model = build_model(cfg, 80)
    assert low < num_params(model) < high
    assert model.embed_dim == 192


def test_res2_needs_divisible_channels() -> None:
    with pytest.raises(ValueError, match="divisible"):
        Res2Conv(30, 3, 2, scale=8)


def test_default_pooling_is_attentive() -> None:
    model = ECAPA(24, 8, channels=16, mfa_channels=24)
    assert type(model.pool).__name__ == "AttentiveStatsPooling"
