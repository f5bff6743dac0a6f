"""Classification on speaker labels: the pseudo-label rounds, and the supervised reference on true labels.

The labels are the cuts' supervision speakers: ``pseudo00042`` ids in a pseudo-label
cut set, the corpus's own speakers for the supervised reference.

Example:
    >>> # obj = ClassificationObjective(cfg, ["pseudo00001", "pseudo00000", ...], augmentor, 256)
    >>> # obj.num_classes   # pseudo speakers
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_classification_loss
from spkssl.training.data import FeatBatch, SegmentMaker, build_label_map, save_label_map
from spkssl.training.objectives.base import Objective


class ClassificationObjective(Objective):
    """One augmented crop per cut and its speaker id; ``loss.classification`` (AAM or softmax) over them."""

    name = "classification"
    accuracy_tag = "train/accuracy"
    needs_labels = True

    def __init__(self, cfg: Mapping[str, Any], speakers: Sequence[str] | None, augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        if speakers is None:
            raise ValueError("classification needs the speaker of every training cut")
        self.label_map = build_label_map(speakers)
        self.make_item = SegmentMaker(cfg, augmentor, per_item=1)
        self.loss = build_classification_loss(cfg["loss"]["classification"], embed_dim, self.num_classes)

    def labels(self, speakers: Sequence[str] | None) -> np.ndarray:
        """Each cut's speaker as its output unit (``spk2id.json``)."""
        return np.fromiter((self.label_map[s] for s in speakers), dtype=np.int64, count=len(speakers))

    @property
    def num_classes(self) -> int:
        return len(self.label_map)

    def prepare(self, out_dir: Path, is_main: bool) -> None:
        """Write ``spk2id.json``: which output unit is which (pseudo) speaker."""
        if is_main:
            save_label_map(self.label_map, Path(out_dir) / "spk2id.json")

    def compute(self, model: nn.Module, loss: nn.Module, batch: FeatBatch) -> tuple[torch.Tensor, torch.Tensor]:
        labels = batch.labels
        value, logits = loss(model(batch.feats).float(), labels)
        return value, (logits.argmax(-1) == labels).float().mean().detach()
