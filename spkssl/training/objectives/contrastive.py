"""Round 0 without labels: crops of one utterance are positives, other utterances negatives (NT-Xent).

Example (the package defaults, no augmentation, one batch through a tiny untrained TDNN):
    >>> from spkssl.config import load_config
    >>> from spkssl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> obj = ContrastiveObjective(load_config(None), None, None, embed_dim=16)
    >>> obj.make_item.per_item, obj.make_item.segment_samples  # train.num_segments crops of train.segment_seconds
    (2, 32000)
    >>> obj.needs_labels, obj.num_classes, type(obj.loss).__name__
    (False, None, 'NTXentLoss')
    >>> from spkssl.config import with_defaults
    >>> model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}}), 80)
    >>> value, accuracy = obj.compute(model, obj.loss, FeatBatch(torch.randn(4, 2, 50, 80), None))  # [B, K, T, F]
    >>> value.shape, bool(value > 0), 0 <= float(accuracy) <= 1
    (torch.Size([]), True, True)
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_contrastive_loss
from spkssl.training.data import FeatBatch, SegmentMaker
from spkssl.training.objectives.base import Objective


class ContrastiveObjective(Objective):
    """``train.num_segments`` augmented crops per cut → ``[B, K, T, F]``; ``loss.contrastive`` on ``[B, K, E]``."""

    name = "contrastive"
    accuracy_tag = "train/positive_accuracy"

    def __init__(self, cfg: Mapping[str, Any], speakers: Sequence[str] | None, augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        k = int(cfg["train"]["num_segments"])
        if k < 2:
            raise ValueError(f"train.num_segments must be >= 2 for contrastive training, got {k}")
        self.make_item = SegmentMaker(cfg, augmentor, per_item=k)
        self.loss = build_contrastive_loss(cfg["loss"]["contrastive"])

    def compute(self, model: nn.Module, loss: nn.Module, batch: FeatBatch) -> tuple[torch.Tensor, torch.Tensor]:
        feats = batch.feats
        b, k = feats.shape[:2]
        emb = model(feats.flatten(0, 1)).float().view(b, k, -1)
        value = loss(emb)
        return value, torch.tensor(float(getattr(loss, "last_accuracy", float("nan"))))
