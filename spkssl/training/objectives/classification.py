"""Classification on speaker labels: the pseudo-label rounds, and the supervised reference on true labels.

The labels are the cuts' supervision speakers: ``pseudo00042`` ids in a pseudo-label
cut set, the corpus's own speakers for the supervised reference.

Example:
    >>> # obj = ClassificationObjective(cfg, pseudo_cuts, augmentor, embed_dim=256)
    >>> # obj.num_classes   # pseudo speakers
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_classification_loss
from spkssl.training.data import ClassificationDataset, collate_classification, save_label_map
from spkssl.training.objectives.base import Objective


class ClassificationObjective(Objective):
    """One augmented crop per cut and its speaker id; ``loss.classification`` (AAM or softmax) over them."""

    name = "classification"
    accuracy_tag = "train/accuracy"

    def __init__(self, cfg: Mapping[str, Any], cuts: Sequence[Any], augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        self.dataset = ClassificationDataset(cuts, cfg, augmentor)
        self.loss = build_classification_loss(cfg["loss"]["classification"], embed_dim, self.num_classes)

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    def prepare(self, out_dir: Path, is_main: bool) -> None:
        """Write ``spk2id.json``: which output unit is which (pseudo) speaker."""
        if is_main:
            save_label_map(self.dataset.label_map, Path(out_dir) / "spk2id.json")

    def collate(self, items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return collate_classification(items)

    def batch_to(self, batch: tuple[torch.Tensor, torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(t.to(device, non_blocking=True) for t in batch)  # type: ignore[return-value]

    def compute(self, model: nn.Module, loss: nn.Module,
                batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        feats, labels = batch
        value, logits = loss(model(feats).float(), labels)
        return value, (logits.argmax(-1) == labels).float().mean().detach()
