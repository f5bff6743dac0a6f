"""Shared checks for the model tests."""
from __future__ import annotations

import torch
import torch.nn as nn


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_forward_backward(model: nn.Module, frames: int, feat_dim: int, embed_dim: int) -> None:
    """Train-mode forward + backward on a batch of 2, eval forward on a batch of 1."""
    model.train()
    out = model(torch.randn(2, frames, feat_dim))
    assert out.shape == (2, embed_dim)
    out.pow(2).sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    with torch.no_grad():
        single = model(torch.randn(1, frames, feat_dim))
    assert single.shape == (1, embed_dim) and torch.isfinite(single).all()
