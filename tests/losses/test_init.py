"""Loss builders from the ``loss`` config section."""
from __future__ import annotations

import pytest
import torch

import spkssl.losses as losses
from spkssl.config import ConfigError, load_defaults
from spkssl.losses import AAMSoftmax, NTXentLoss, SoftmaxLoss, SubCenterAAM
from tests.losses.sections import build_classification_loss, build_contrastive_loss


def test_defaults_build() -> None:
    loss_cfg = load_defaults()["loss"]
    closs = build_contrastive_loss(loss_cfg["contrastive"])
    assert isinstance(closs, NTXentLoss) and closs.temperature == loss_cfg["contrastive"]["temperature"]
    head = build_classification_loss(loss_cfg["classification"], 16, 10)
    assert isinstance(head, AAMSoftmax)
    assert head.margin == loss_cfg["classification"]["margin"]
    assert head.scale == loss_cfg["classification"]["scale"]
    loss, logits = head(torch.randn(3, 16), torch.tensor([0, 5, 9]))
    assert loss.dim() == 0 and logits.shape == (3, 10)


def test_the_library_builders_refuse_an_incomplete_section_and_name_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="incomplete config section 'loss.contrastive': missing 'temperature'"):
        losses.build_contrastive_loss({"name": "ntxent"})
    with pytest.raises(ConfigError, match="incomplete config section 'loss.dino'"):
        losses.build_dino_loss({"out_dim": 16}, 8, 2)


def test_partial_sections_completed_with_the_package_defaults() -> None:
    assert isinstance(build_classification_loss({"name": "softmax"}, 8, 4), SoftmaxLoss)
    assert build_contrastive_loss({"temperature": 0.2}).temperature == 0.2
    head = build_classification_loss({"margin": 0.3}, 8, 4)  # name from loss.yaml: aam
    assert isinstance(head, AAMSoftmax) and head.margin == 0.3
    with pytest.raises(ConfigError, match="did you mean 'loss.classification.margin'"):
        build_classification_loss({"margn": 0.3}, 8, 4)


def test_unknown_names_and_classes() -> None:
    with pytest.raises(ValueError, match="config key 'loss.contrastive.name' must be 'ntxent', got 'simclr'"):
        build_contrastive_loss({"name": "simclr"})
    sub = build_classification_loss({"name": "subcenter_aam", "subcenters": 2}, 8, 4)
    assert isinstance(sub, SubCenterAAM) and sub.weight.shape == (8, 8) and sub.margin == 0.2
    with pytest.raises(ValueError, match="config key 'loss.classification.name' must be one of aam, softmax"):
        build_classification_loss({"name": "cosface"}, 8, 4)
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_classification_loss({"name": "aam"}, 8, 1)
