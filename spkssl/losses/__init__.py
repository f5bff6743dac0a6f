"""Training losses built from the ``loss`` config section.

- ``build_contrastive_loss(cfg["loss"]["contrastive"])``: round 0, embeddings
  ``[B, K, E]`` (K segments per cut) → scalar loss (``ntxent``).
- ``build_classification_loss(cfg["loss"]["classification"], embed_dim, num_classes)``:
  pseudo-label rounds, ``(emb[B, E], labels[B]) → (loss, logits)`` and
  ``per_sample`` (the loss of each sample, for a loss gate) with
  ``set_progress(epoch)`` for margin warm-up (``aam``, ``softmax`` or ``subcenter_aam``).
- ``build_gate(cfg["loss"]["classification"])``: which samples of a batch train
  (``none``, ``lgl``, ``dlg_lc``; :mod:`spkssl.losses.gates`).
- ``build_dino_loss(cfg["loss"]["dino"], embed_dim, epochs)``: DINO round 0, student
  head + EMA teacher + centre (:mod:`spkssl.losses.dino`).

Example:
    >>> import torch
    >>> from spkssl.config import with_defaults
    >>> closs = build_contrastive_loss(with_defaults("loss.contrastive", {"name": "ntxent", "temperature": 0.1}))
    >>> closs(torch.randn(4, 2, 16)).dim()
    0
    >>> head = build_classification_loss(with_defaults("loss.classification", {"name": "softmax"}), 16, 10)
    >>> loss, logits = head(torch.randn(4, 16), torch.tensor([1, 2, 3, 9]))
    >>> logits.shape
    torch.Size([4, 10])
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch.nn as nn

from spkssl.config import require_complete
from spkssl.losses.dino import DINOLoss
from spkssl.losses.gates import LossGate, build_gate
from spkssl.losses.margin import AAMSoftmax, MarginHead, SoftmaxLoss, SubCenterAAM
from spkssl.losses.ntxent import NTXentLoss
from spkssl.utils.registry import Registry

__all__ = [
    "AAMSoftmax",
    "DINOLoss",
    "LossGate",
    "MarginHead",
    "NTXentLoss",
    "SoftmaxLoss",
    "SubCenterAAM",
    "build_classification_loss",
    "build_contrastive_loss",
    "build_dino_loss",
    "build_gate",
]

def _aam_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return dict(margin=float(cfg["margin"]), scale=float(cfg["scale"]),
                margin_warmup_epochs=float(cfg["margin_warmup_epochs"]), easy_margin=bool(cfg["easy_margin"]))


#: ``loss.contrastive.name`` → ``(loss.contrastive section) -> loss``
CONTRASTIVE: Registry[Callable[[Mapping[str, Any]], nn.Module]] = Registry("contrastive loss", {
    "ntxent": lambda cfg: NTXentLoss(temperature=float(cfg["temperature"])),
})

#: ``loss.classification.name`` → ``(loss.classification section, embed_dim, num_classes) -> head + loss``
CLASSIFICATION: Registry[Callable[[Mapping[str, Any], int, int], MarginHead]] = Registry("classification loss", {
    "aam": lambda cfg, dim, n: AAMSoftmax(dim, n, **_aam_options(cfg)),
    "softmax": lambda cfg, dim, n: SoftmaxLoss(dim, n),
    "subcenter_aam": lambda cfg, dim, n: SubCenterAAM(dim, n, int(cfg["subcenters"]), **_aam_options(cfg)),
})


def build_contrastive_loss(cfg: Mapping[str, Any]) -> nn.Module:
    """Contrastive loss named by ``cfg["name"]`` (``ntxent``: uses ``temperature``).

    ``cfg`` is a complete ``loss.contrastive`` section (:func:`spkssl.config.require_complete`).
    """
    require_complete("loss.contrastive", cfg)
    return CONTRASTIVE[cfg["name"]](cfg)


def build_classification_loss(cfg: Mapping[str, Any], embed_dim: int, num_classes: int) -> MarginHead:
    """Classification head + loss named by ``cfg["name"]`` over ``num_classes`` (pseudo) speakers.

    ``aam`` reads ``margin``, ``scale``, ``margin_warmup_epochs`` and ``easy_margin``;
    ``subcenter_aam`` those and ``subcenters``; ``softmax`` reads nothing else.
    ``cfg`` is a complete ``loss.classification`` section.
    """
    if num_classes < 2:
        raise ValueError(f"a classification loss needs at least 2 classes, got {num_classes}")
    require_complete("loss.classification", cfg)
    return CLASSIFICATION[cfg["name"]](cfg, embed_dim, num_classes)


def build_dino_loss(cfg: Mapping[str, Any], embed_dim: int, epochs: int) -> DINOLoss:
    """The DINO loss (student head, teacher, centre) of a ``loss.dino`` section for a round of ``epochs``.

    ``cfg`` is complete; bind the network with ``loss.bind(model)`` before use.
    """
    require_complete("loss.dino", cfg)
    return DINOLoss(embed_dim, cfg, epochs)
