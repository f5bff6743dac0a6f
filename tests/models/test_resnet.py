"""Thin ResNet-34."""
from __future__ import annotations

import pytest
import torch

from spkssl.config import with_defaults
from spkssl.models import build_model
from spkssl.models.resnet import ResNet34

from .helpers import check_forward_backward, num_params


@pytest.mark.parametrize("pooling", ["stats", "attentive"])
@pytest.mark.parametrize("frames", [64, 20, 5])
def test_forward_shapes(pooling: str, frames: int) -> None:
    torch.manual_seed(0)
    model = ResNet34(24, 16, pooling=pooling, base_channels=4, num_blocks=(1, 1, 1, 1))
    check_forward_backward(model, frames, 24, 16)


def test_odd_feature_dim() -> None:
    model = ResNet34(30, 8, base_channels=4, num_blocks=(1, 1, 1, 1)).eval()
    assert model(torch.randn(1, 21, 30)).shape == (1, 8)


def test_published_size() -> None:
    model = build_model(with_defaults("model", {"name": "resnet34", "embed_dim": 256, "pooling": "stats"}), 80)
    body = num_params(model) - num_params(model.head)
    # WeSpeaker ResNet34 (32 base channels, 80 fbank, 256-dim): 6.63 M in total;
    # the embedding layer is 2 * 256 * 10 * 256 + 256 = 1.31 M.
    assert 5.2e6 < body < 5.4e6
    assert num_params(model.head) == 2 * 256 * 10 * 256 + 256
    assert 6.5e6 < num_params(model) < 6.8e6
    assert [len(s) for s in model.stages] == [3, 4, 6, 3]


def test_full_model_runs_on_short_input() -> None:
    model = build_model(with_defaults("model", {"name": "resnet34", "embed_dim": 256, "pooling": "stats"}), 80).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 20, 80)).shape == (1, 256)


def test_bad_stage_list() -> None:
    with pytest.raises(ValueError, match="4 stages"):
        ResNet34(80, 8, num_blocks=(3, 4, 6))
