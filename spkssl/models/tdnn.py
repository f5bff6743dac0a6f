"""A small x-vector-style TDNN (Snyder et al. 2018) that trains at a useful speed on a CPU.

Five frame-level layers (dilated 1-D convolutions with ReLU + batch norm; context
±2, ±2 dilated by 2, ±3 dilated by 3, then two 1×1 layers), temporal pooling and
a linear embedding layer.  Convolutions are zero-padded so any input length,
even a handful of frames, gives an embedding.

Example:
    >>> import torch
    >>> model = TDNN(feat_dim=40, embed_dim=32, channels=64)
    >>> model(torch.randn(2, 20, 40)).shape
    torch.Size([2, 32])
"""
from __future__ import annotations

import torch
import torch.nn as nn

from spkssl.models.pooling import EmbeddingHead, build_pooling


def _frame_layer(cin: int, cout: int, kernel: int, dilation: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(cin, cout, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2),
        nn.ReLU(),
        nn.BatchNorm1d(cout),
    )


class TDNN(nn.Module):
    """x-vector TDNN: ``(B, T, feat_dim)`` fbank → ``(B, embed_dim)``.

    Args:
        feat_dim: input feature dimension (mel bins).
        embed_dim: embedding size.
        pooling: ``"stats"`` or ``"attentive"``.
        channels: width of the first four frame layers (Kaldi x-vector: 512).
        stats_channels: width of the last frame layer, the one pooled
            (Kaldi x-vector: 1500); default ``3 * channels``.
        embed_bn: batch norm after the embedding layer.
    """

    def __init__(
        self,
        feat_dim: int,
        embed_dim: int,
        pooling: str = "stats",
        channels: int = 256,
        stats_channels: int | None = None,
        embed_bn: bool = True,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        stats_channels = stats_channels or 3 * channels
        self.frames = nn.Sequential(
            _frame_layer(feat_dim, channels, 5, 1),
            _frame_layer(channels, channels, 3, 2),
            _frame_layer(channels, channels, 3, 3),
            _frame_layer(channels, channels, 1, 1),
            _frame_layer(channels, stats_channels, 1, 1),
        )
        self.pool = build_pooling(pooling, stats_channels)
        self.head = EmbeddingHead(self.pool.out_dim, embed_dim, bn_out=embed_bn)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats``: ``(B, T, feat_dim)`` → ``(B, embed_dim)``."""
        if feats.dim() != 3:
            raise ValueError(f"TDNN expects (batch, frames, feat_dim), got shape {list(feats.shape)}")
        return self.head(self.pool(self.frames(feats.transpose(1, 2))))
