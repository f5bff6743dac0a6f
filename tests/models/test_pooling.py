"""Statistics and attentive statistics pooling."""
from __future__ import annotations

import pytest
import torch

from spkssl.models.pooling import AttentiveStatsPooling, EmbeddingHead, StatsPooling, build_pooling


def test_stats_pooling_is_mean_and_std() -> None:
    x = torch.randn(3, 5, 17)
    out = StatsPooling(5)(x)
    assert out.shape == (3, 10)
    torch.testing.assert_close(out[:, :5], x.mean(-1))
    torch.testing.assert_close(out[:, 5:], x.std(-1, unbiased=False), atol=1e-4, rtol=1e-4)


def test_stats_pooling_single_frame_is_finite() -> None:
    out = StatsPooling(4)(torch.randn(2, 4, 1))
    assert torch.isfinite(out).all()


def test_attentive_pooling_with_uniform_attention_equals_stats() -> None:
    pool = AttentiveStatsPooling(6, attention_dim=8).eval()
    last = pool.attention[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    x = torch.randn(2, 6, 11)
    torch.testing.assert_close(pool(x), StatsPooling(6)(x))


def test_attentive_pooling_weights_frames() -> None:
    torch.manual_seed(0)
    pool = AttentiveStatsPooling(6, attention_dim=8, global_context=False).eval()
    x = torch.randn(2, 6, 11)
    assert pool(x).shape == (2, 12)
    assert not torch.allclose(pool(x), StatsPooling(6)(x))


def test_build_pooling_names_and_errors() -> None:
    assert build_pooling("stats", 4).out_dim == 8
    assert isinstance(build_pooling("attentive", 4, attention_dim=2), AttentiveStatsPooling)
    with pytest.raises(ValueError, match="unknown pooling 'mean'"):
        build_pooling("mean", 4)
    with pytest.raises(ValueError, match="bad options for stats pooling"):
        build_pooling("stats", 4, attention_dim=3)


def test_embedding_head_shape() -> None:
    assert EmbeddingHead(10, 3, bn_in=True)(torch.randn(4, 10)).shape == (4, 3)


def test_stats_are_float32_and_accurate_for_low_precision_input() -> None:
    x = (100.0 + 0.01 * torch.randn(2, 3, 50)).to(torch.bfloat16)  # large mean, tiny spread
    out = StatsPooling(3)(x)
    assert out.dtype == torch.float32
    ref = x.float().std(-1, unbiased=False)
    torch.testing.assert_close(out[:, 3:], ref.clamp(min=1e-5**0.5), atol=1e-3, rtol=1e-2)
