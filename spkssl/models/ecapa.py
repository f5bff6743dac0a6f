"""ECAPA-TDNN (Desplanques, Thienpondt and Demuynck, Interspeech 2020).

A 1-D conv front layer (kernel 5), three SE-Res2Blocks (Res2Net scale 8, kernel 3,
dilations 2/3/4, squeeze-excitation bottleneck 128), multi-layer feature
aggregation (the three block outputs concatenated, 1×1 conv to 1536 channels),
attentive statistics pooling with global context, then BN → linear → BN.
With ``channels=512`` this is about 6 M parameters, with 1024 about 14.7 M
(192-dim embedding in the paper; a 256-dim one adds ~0.2 M).

Example:
    >>> import torch
    >>> model = ECAPA(feat_dim=40, embed_dim=32, channels=64, mfa_channels=96)
    >>> model(torch.randn(2, 20, 40)).shape
    torch.Size([2, 32])
"""
from __future__ import annotations

import torch
import torch.nn as nn

from spkssl.models.pooling import EmbeddingHead, build_pooling


class _ConvReluBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 1, dilation: int = 1) -> None:
        super().__init__(
            nn.Conv1d(cin, cout, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2),
            nn.ReLU(),
            nn.BatchNorm1d(cout),
        )


class Res2Conv(nn.Module):
    """Res2Net block: channels split into ``scale`` groups with hierarchical residual convs."""

    def __init__(self, channels: int, kernel: int, dilation: int, scale: int = 8) -> None:
        super().__init__()
        if channels % scale:
            raise ValueError(f"ECAPA channels ({channels}) must be divisible by res2 scale ({scale})")
        self.scale = scale
        width = channels // scale
        self.convs = nn.ModuleList(_ConvReluBN(width, width, kernel, dilation) for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chunks = torch.chunk(x, self.scale, dim=1)
        outs = [chunks[0]]
        prev = chunks[0]
        for i, conv in enumerate(self.convs):  # by index, not zip(): TorchScript cannot zip a ModuleList
            prev = conv(chunks[i + 1] if i == 0 else chunks[i + 1] + prev)
            outs.append(prev)
        return torch.cat(outs, dim=1)


class SqueezeExcitation(nn.Module):
    """Channel gating from the time-averaged input (Hu et al. 2018)."""

    def __init__(self, channels: int, bottleneck: int = 128) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Conv1d(channels, bottleneck, 1), nn.ReLU(), nn.Conv1d(bottleneck, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=-1, keepdim=True))


class SERes2Block(nn.Module):
    """1×1 conv → Res2 dilated conv → 1×1 conv → SE, with a residual connection."""

    def __init__(self, channels: int, kernel: int, dilation: int, scale: int = 8, se_bottleneck: int = 128) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _ConvReluBN(channels, channels),
            Res2Conv(channels, kernel, dilation, scale),
            _ConvReluBN(channels, channels),
            SqueezeExcitation(channels, se_bottleneck),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ECAPA(nn.Module):
    """ECAPA-TDNN: ``(B, T, feat_dim)`` fbank → ``(B, embed_dim)``.

    Args:
        feat_dim: input feature dimension (mel bins).
        embed_dim: embedding size (192 in the paper).
        pooling: ``"attentive"`` (the paper) or ``"stats"``.
        channels: width of the SE-Res2Blocks, 512 or 1024 in the paper.
        mfa_channels: output of the multi-layer feature aggregation (1536).
        attention_dim: bottleneck of the attentive pooling (128).
        scale: Res2Net scale (8).
    """

    def __init__(
        self,
        feat_dim: int,
        embed_dim: int,
        pooling: str = "attentive",
        channels: int = 512,
        mfa_channels: int = 1536,
        attention_dim: int = 128,
        scale: int = 8,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.front = _ConvReluBN(feat_dim, channels, kernel=5)
        self.blocks = nn.ModuleList(SERes2Block(channels, 3, d, scale) for d in (2, 3, 4))
        self.mfa = nn.Sequential(nn.Conv1d(3 * channels, mfa_channels, 1), nn.ReLU())
        pool_kwargs = {"attention_dim": attention_dim} if pooling == "attentive" else {}
        self.pool = build_pooling(pooling, mfa_channels, **pool_kwargs)
        self.head = EmbeddingHead(self.pool.out_dim, embed_dim, bn_in=True, bn_out=True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats``: ``(B, T, feat_dim)`` → ``(B, embed_dim)``."""
        if feats.dim() != 3:
            raise ValueError(f"ECAPA expects (batch, frames, feat_dim), got shape {list(feats.shape)}")
        x = self.front(feats.transpose(1, 2))
        outs = []
        for block in self.blocks:
            x = block(x)
            outs.append(x)
        return self.head(self.pool(self.mfa(torch.cat(outs, dim=1))))
