"""NT-Xent / InfoNCE contrastive loss over several segments per cut (SimCLR, Chen et al. 2020).

Embeddings come as ``[B, K, E]``: ``K >= 2`` segments cropped from each of ``B``
cuts.  Every segment is an anchor; the other ``K - 1`` segments of its cut are
its positives; the ``(B - 1) K`` segments of the other cuts are negatives.  With
cosine similarities ``s_ij / τ`` and the self-similarity excluded, each
(anchor i, positive p) pair contributes ``-log(exp(s_ip) / Σ_{j≠i} exp(s_ij))``;
the loss is the mean over all such pairs (for ``K = 2`` exactly SimCLR's NT-Xent).

Example:
    >>> import torch
    >>> loss_fn = NTXentLoss(temperature=0.1)
    >>> loss = loss_fn(torch.randn(4, 2, 8))
    >>> loss.shape, 0.0 <= loss_fn.last_accuracy <= 1.0
    (torch.Size([]), True)
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class NTXentLoss(nn.Module):
    """Normalised temperature-scaled cross-entropy over ``[B, K, E]`` embeddings.

    Args:
        temperature: τ dividing the cosine similarities (> 0).

    Attributes:
        last_accuracy: after each forward, the fraction of anchors whose most
            similar other segment belongs to the same cut (a float in [0, 1]).
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"NT-Xent temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self._last_accuracy: torch.Tensor | None = None

    @property
    def last_accuracy(self) -> float:
        """Accuracy of the last forward (read lazily: no device sync during training)."""
        return float("nan") if self._last_accuracy is None else float(self._last_accuracy)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """Scalar loss for ``emb`` of shape ``[B, K, E]``."""
        if emb.dim() != 3 or emb.shape[1] < 2:
            raise ValueError(f"NT-Xent expects embeddings [batch, segments>=2, dim], got {tuple(emb.shape)}")
        b, k, _ = emb.shape
        z = F.normalize(emb.float().reshape(b * k, -1), dim=-1)
        sim = z @ z.t() / self.temperature
        cut = torch.arange(b, device=emb.device).repeat_interleave(k)
        self_mask = torch.eye(b * k, dtype=torch.bool, device=emb.device)
        pos_mask = (cut[:, None] == cut[None, :]) & ~self_mask
        sim = sim.masked_fill(self_mask, float("-inf"))
        log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
        # Mean over the B*K*(K-1) (anchor, positive) pairs; masking instead of
        # boolean indexing keeps the step free of a host-device sync.
        loss = -log_prob.masked_fill(~pos_mask, 0.0).sum() / (b * k * (k - 1))
        with torch.no_grad():
            best = sim.argmax(dim=1)
            self._last_accuracy = (cut[best] == cut).float().mean()
        return loss

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
