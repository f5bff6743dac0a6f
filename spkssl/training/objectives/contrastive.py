"""Round 0 without labels: crops of one utterance are positives, other utterances negatives (NT-Xent).

Example:
    >>> # obj = ContrastiveObjective(cfg, cuts, augmentor, embed_dim=256)
    >>> # loss, acc = obj.compute(model, obj.loss, obj.collate([obj.dataset[(0, 1)], obj.dataset[(1, 2)]]))
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_contrastive_loss
from spkssl.training.data import ContrastiveDataset, collate_contrastive
from spkssl.training.objectives.base import Objective


class ContrastiveObjective(Objective):
    """``train.num_segments`` augmented crops per cut → ``[B, K, T, F]``; ``loss.contrastive`` on ``[B, K, E]``."""

    name = "contrastive"
    accuracy_tag = "train/positive_accuracy"

    def __init__(self, cfg: Mapping[str, Any], cuts: Sequence[Any], augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        self.dataset = ContrastiveDataset(cuts, cfg, augmentor)
        self.loss = build_contrastive_loss(cfg["loss"]["contrastive"])

    @property
    def segments_per_item(self) -> int:
        return self.dataset.num_segments

    def collate(self, items: list[torch.Tensor]) -> torch.Tensor:
        return collate_contrastive(items)

    def batch_to(self, batch: torch.Tensor, device: torch.device) -> torch.Tensor:
        return batch.to(device, non_blocking=True)

    def compute(self, model: nn.Module, loss: nn.Module, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, k = batch.shape[:2]
        emb = model(batch.flatten(0, 1)).float().view(b, k, -1)
        value = loss(emb)
        return value, torch.tensor(float(getattr(loss, "last_accuracy", float("nan"))))
