"""The loss builders over partial sections, completed as :func:`spkssl.config.load_config` completes a recipe's.

The library builders take complete sections; the tests give only the keys they vary.
"""
from __future__ import annotations

from typing import Any, Mapping

import spkssl.losses as losses
from spkssl.config import with_defaults


def build_contrastive_loss(cfg: Mapping[str, Any]):
    return losses.build_contrastive_loss(with_defaults("loss.contrastive", cfg))


def build_classification_loss(cfg: Mapping[str, Any], embed_dim: int, num_classes: int):
    return losses.build_classification_loss(with_defaults("loss.classification", cfg), embed_dim, num_classes)


def build_gate(cfg: Mapping[str, Any]):
    return losses.build_gate(with_defaults("loss.classification", cfg))


def build_dino_loss(cfg: Mapping[str, Any], embed_dim: int, epochs: int):
    return losses.build_dino_loss(with_defaults("loss.dino", cfg), embed_dim, epochs)
