"""Thin ResNet-34 speaker network (as in the WeSpeaker / Cai et al. line of work).

2-D convolutions over the (frequency, time) plane: a 3×3 stem with 32 channels,
then BasicBlock stages [3, 4, 6, 3] with 32/64/128/256 channels and strides
1/2/2/2 (time and frequency each reduced 8×).  The last feature map
``(B, 256, F/8, T/8)`` is flattened over channel × frequency and pooled over time,
then a linear layer gives the embedding.  With 80 mel bins and a 256-dim
embedding this is about 6.6 M parameters (5.3 M body + 1.3 M embedding layer).

Example:
    >>> import torch
    >>> model = ResNet34(feat_dim=40, embed_dim=32, base_channels=8)
    >>> model(torch.randn(2, 20, 40)).shape
    torch.Size([2, 32])
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from spkssl.models.pooling import EmbeddingHead, build_pooling


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a residual connection (He et al. 2016)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet34(nn.Module):
    """Thin ResNet-34: ``(B, T, feat_dim)`` fbank → ``(B, embed_dim)``.

    Args:
        feat_dim: input feature dimension (mel bins).
        embed_dim: embedding size.
        pooling: ``"stats"`` or ``"attentive"`` (over time, of channel × frequency).
        base_channels: channels of the stem and first stage (32 = "thin").
        num_blocks: BasicBlocks per stage ([3, 4, 6, 3] = ResNet-34).
        embed_bn: batch norm after the embedding layer.
    """

    def __init__(
        self,
        feat_dim: int,
        embed_dim: int,
        pooling: str = "stats",
        base_channels: int = 32,
        num_blocks: Sequence[int] = (3, 4, 6, 3),
        embed_bn: bool = False,
    ) -> None:
        super().__init__()
        if len(num_blocks) != 4:
            raise ValueError(f"num_blocks must list 4 stages, got {list(num_blocks)}")
        self.embed_dim = embed_dim
        c = base_channels
        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        stages: list[nn.Module] = []
        cin = c
        for i, (n, stride) in enumerate(zip(num_blocks, (1, 2, 2, 2))):
            cout = c * 2**i
            blocks = [BasicBlock(cin, cout, stride)] + [BasicBlock(cout, cout) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = cout
        self.stages = nn.Sequential(*stages)
        freq_out = feat_dim
        for _ in range(3):  # three stride-2 stages; conv with padding 1: ceil(f / 2)
            freq_out = (freq_out + 1) // 2
        self.pool = build_pooling(pooling, cin * freq_out)
        self.head = EmbeddingHead(self.pool.out_dim, embed_dim, bn_out=embed_bn)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``feats``: ``(B, T, feat_dim)`` → ``(B, embed_dim)``."""
        if feats.dim() != 3:
            raise ValueError(f"ResNet34 expects (batch, frames, feat_dim), got shape {list(feats.shape)}")
        x = feats.transpose(1, 2).unsqueeze(1)  # (B, 1, F, T)
        x = self.stages(self.stem(x))  # (B, C, F/8, T/8)
        x = x.flatten(1, 2)  # (B, C * F/8, T/8)
        return self.head(self.pool(x))
