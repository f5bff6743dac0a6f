"""Training losses built from the ``loss`` config section.

- ``build_contrastive_loss(cfg["loss"]["contrastive"])``: round 0, embeddings
  ``[B, K, E]`` (K segments per cut) → scalar loss (``ntxent``).
- ``build_classification_loss(cfg["loss"]["classification"], embed_dim, num_classes)``:
  pseudo-label rounds, ``(emb[B, E], labels[B]) → (loss, logits)`` with
  ``set_progress(epoch)`` for margin warm-up (``aam`` or ``softmax``).

Example:
    >>> import torch
    >>> closs = build_contrastive_loss({"name": "ntxent", "temperature": 0.1})
    >>> closs(torch.randn(4, 2, 16)).dim()
    0
    >>> head = build_classification_loss(
    ...     {"name": "softmax", "margin": 0.2, "scale": 32, "margin_warmup_epochs": 0}, 16, 10)
    >>> loss, logits = head(torch.randn(4, 16), torch.tensor([1, 2, 3, 9]))
    >>> logits.shape
    torch.Size([4, 10])
"""
from __future__ import annotations

from typing import Any, Mapping

import torch.nn as nn

from spkssl.losses.margin import AAMSoftmax, SoftmaxLoss
from spkssl.losses.ntxent import NTXentLoss

__all__ = [
    "AAMSoftmax",
    "NTXentLoss",
    "SoftmaxLoss",
    "build_classification_loss",
    "build_contrastive_loss",
    "build_loss",
]

CONTRASTIVE = ("ntxent",)
CLASSIFICATION = ("aam", "softmax")


def build_contrastive_loss(cfg: Mapping[str, Any]) -> nn.Module:
    """Contrastive loss named by ``cfg["name"]`` (``ntxent``: uses ``temperature``)."""
    name = cfg.get("name")
    if name == "ntxent":
        return NTXentLoss(temperature=float(cfg.get("temperature", 0.1)))
    raise ValueError(f"unknown contrastive loss '{name}'; known: {list(CONTRASTIVE)}")


def build_classification_loss(cfg: Mapping[str, Any], embed_dim: int, num_classes: int) -> nn.Module:
    """Classification head + loss named by ``cfg["name"]`` over ``num_classes`` (pseudo) speakers.

    ``aam`` reads ``margin``, ``scale``, ``margin_warmup_epochs`` and ``easy_margin``;
    ``softmax`` reads nothing else.
    """
    if num_classes < 2:
        raise ValueError(f"a classification loss needs at least 2 classes, got {num_classes}")
    name = cfg.get("name")
    if name == "aam":
        return AAMSoftmax(
            embed_dim,
            num_classes,
            margin=float(cfg.get("margin", 0.2)),
            scale=float(cfg.get("scale", 32.0)),
            margin_warmup_epochs=float(cfg.get("margin_warmup_epochs", 0.0)),
            easy_margin=bool(cfg.get("easy_margin", False)),
        )
    if name == "softmax":
        return SoftmaxLoss(embed_dim, num_classes)
    raise ValueError(f"unknown classification loss '{name}'; known: {list(CLASSIFICATION)}")


def build_loss(
    loss_cfg: Mapping[str, Any], kind: str, embed_dim: int | None = None, num_classes: int | None = None
) -> nn.Module:
    """``kind="contrastive"`` or ``"classification"`` from the whole ``cfg["loss"]`` section."""
    if kind == "contrastive":
        return build_contrastive_loss(loss_cfg["contrastive"])
    if kind == "classification":
        if embed_dim is None or num_classes is None:
            raise ValueError("classification loss needs embed_dim and num_classes")
        return build_classification_loss(loss_cfg["classification"], embed_dim, num_classes)
    raise ValueError(f"unknown loss kind '{kind}'; expected 'contrastive' or 'classification'")
