"""Temporal pooling layers and the embedding head shared by every network.

A pooling layer maps frame-level features ``(batch, channels, frames)`` to one
utterance-level vector ``(batch, out_dim)``:

- ``"stats"``: mean and standard deviation over time (x-vector statistics pooling);
- ``"attentive"``: attentive statistics pooling (Okabe et al. 2018) with the
  global context of ECAPA-TDNN (Desplanques et al. 2020): the attention sees each
  frame together with the utterance mean and std.

Example:
    >>> import torch
    >>> pool = build_pooling("attentive", in_dim=16)
    >>> pool(torch.randn(2, 16, 20)).shape
    torch.Size([2, 32])
    >>> pool.out_dim
    32
"""
from __future__ import annotations

import torch
import torch.nn as nn

from spkssl.utils.registry import Registry


def _weighted_stats(x: torch.Tensor, w: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of ``x`` over the last axis with weights ``w`` summing to 1 there (variance floored at ``eps``).

    The floor is an argument, not a module constant, so TorchScript can compile it. Computed in float32 (also under autocast) and as ``Σ w (x - mean)²`` rather
    than ``E[x²] - mean²``, which cancels badly in low precision.
    """
    x, w = x.float(), w.float()
    mean = torch.sum(x * w, dim=-1)
    var = torch.sum(w * (x - mean.unsqueeze(-1)) ** 2, dim=-1)
    return mean, torch.sqrt(var.clamp(min=eps))


def _stats(x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Unweighted float32 mean and std of ``x`` over the last axis (variance floored at ``eps``)."""
    x = x.float()
    mean = x.mean(dim=-1)
    var = ((x - mean.unsqueeze(-1)) ** 2).mean(dim=-1)
    return mean, torch.sqrt(var.clamp(min=eps))


class StatsPooling(nn.Module):
    """Mean ⊕ standard deviation over time: ``(B, C, T) → (B, 2C)``.

    Works for a single frame (the std is then clamped to ``sqrt(1e-5)``).
    """

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = 2 * in_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = _stats(x)
        return torch.cat([mean, std], dim=1)


class AttentiveStatsPooling(nn.Module):
    """Attentive statistics pooling with global context: ``(B, C, T) → (B, 2C)``.

    Args:
        in_dim: channels ``C`` of the frame-level input.
        attention_dim: bottleneck width of the attention network (128 in ECAPA-TDNN).
        global_context: append the utterance mean/std to every frame before the
            attention network, as in ECAPA-TDNN.
    """

    def __init__(self, in_dim: int, attention_dim: int = 128, global_context: bool = True) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.out_dim = 2 * in_dim
        self.global_context = global_context
        att_in = 3 * in_dim if global_context else in_dim
        self.attention = nn.Sequential(
            nn.Conv1d(att_in, attention_dim, kernel_size=1),
            nn.ReLU(),
            nn.BatchNorm1d(attention_dim),
            nn.Tanh(),
            nn.Conv1d(attention_dim, in_dim, kernel_size=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        if self.global_context:
            mean, std = _stats(x)
            ctx = torch.cat(
                [x, mean.unsqueeze(-1).expand(-1, -1, frames), std.unsqueeze(-1).expand(-1, -1, frames)],
                dim=1,
            )
        else:
            ctx = x
        # Softmax in float32 even under autocast: long inputs overflow fp16 sums.
        alpha = torch.softmax(self.attention(ctx).float(), dim=-1)
        mean, std = _weighted_stats(x, alpha)
        return torch.cat([mean, std], dim=1)


#: ``model.pooling`` → pooling layer ``(in_dim, **options)``
POOLINGS: Registry[type[nn.Module]] = Registry("pooling", {"stats": StatsPooling, "attentive": AttentiveStatsPooling})


def build_pooling(name: str, in_dim: int, **kwargs: object) -> nn.Module:
    """Pooling layer ``name`` (one of :data:`POOLINGS`) over ``in_dim`` channels.

    The returned module has ``out_dim`` (always ``2 * in_dim``).
    """
    cls = POOLINGS[name]
    try:
        return cls(in_dim, **kwargs)
    except TypeError as exc:
        raise ValueError(f"bad options for {name} pooling ({sorted(kwargs)}): {exc}") from None


class EmbeddingHead(nn.Module):
    """Pooled statistics → speaker embedding: optional BN, linear layer, optional BN.

    Example:
        >>> import torch
        >>> EmbeddingHead(64, 8)(torch.randn(3, 64)).shape
        torch.Size([3, 8])
    """

    def __init__(self, in_dim: int, embed_dim: int, bn_in: bool = False, bn_out: bool = True) -> None:
        super().__init__()
        self.bn_in = nn.BatchNorm1d(in_dim) if bn_in else nn.Identity()
        self.linear = nn.Linear(in_dim, embed_dim)
        self.bn_out = nn.BatchNorm1d(embed_dim) if bn_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn_out(self.linear(self.bn_in(x)))
