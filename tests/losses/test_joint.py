"""The joint DINO + classification loss: its parts, the labels of crop-major global crops, bad input."""
from __future__ import annotations

import pytest
import torch

from spkssl.losses.joint import JointLoss
from tests.losses.sections import build_classification_loss, build_dino_loss

DINO = {"out_dim": 16, "hidden_dim": 8, "bottleneck_dim": 4, "global_crops": 2}


def _joint(weight: float = 2.0, classes: int = 3) -> tuple[JointLoss, torch.nn.Module]:
    torch.manual_seed(0)
    net = torch.nn.Linear(5, 6)
    joint = JointLoss(build_dino_loss(DINO, 6, 2), build_classification_loss({"name": "softmax"}, 6, classes), weight)
    joint.dino.bind(net)
    return joint, net


def test_total_is_classification_plus_weighted_dino_and_parts_are_kept() -> None:
    joint, net = _joint(weight=2.0)
    joint.eval()  # the centre and BatchNorm statistics stay put, so the parts can be recomputed alike
    glob, local = torch.randn(6, 5), torch.randn(6, 5)  # 2 global and 2 local crops of 3 utterances
    labels = torch.tensor([2, 0, 1])
    total = joint(net(glob), net(local), glob, labels)
    dino = joint.dino(net(glob), net(local), glob)
    cls, _ = joint.classifier(net(glob), labels.repeat(2))
    assert torch.allclose(joint.last["dino"], dino) and torch.allclose(joint.last["classification"], cls)
    assert torch.allclose(total, cls + 2.0 * dino)
    total.backward()
    assert net.weight.grad is not None and all(p.grad is not None for p in joint.classifier.parameters())


def test_each_global_crop_gets_its_utterances_label() -> None:
    joint, _ = _joint(classes=3)
    emb = torch.zeros(4, 6)
    emb[:2, 0], emb[2:, 0] = 1.0, 1.0  # identical crops: 2 utterances x 2 global crops, crop-major
    seen = []
    joint.classifier.forward = lambda e, y: (seen.append(y) or torch.tensor(0.0), torch.zeros(len(y), 3))
    joint(emb, emb[:0], torch.zeros(4, 5), torch.tensor([1, 2]))
    assert seen[0].tolist() == [1, 2, 1, 2]


def test_bad_weight_and_label_count_are_errors() -> None:
    with pytest.raises(ValueError, match="dino_weight must be > 0"):
        _joint(weight=0.0)
    joint, net = _joint()
    glob = torch.randn(6, 5)
    with pytest.raises(ValueError, match="4 labels do not fit 6 global crops"):
        joint(net(glob), net(glob[:0]), glob, torch.tensor([0, 1, 2, 0]))


def test_progress_reaches_both_parts() -> None:
    joint = JointLoss(build_dino_loss(DINO, 6, 4),
                      build_classification_loss({"name": "aam", "margin": 0.2, "margin_warmup_epochs": 2}, 6, 3), 1.0)
    joint.set_progress(1.0)
    assert joint.dino.progress == 1.0 and joint.classifier.current_margin == pytest.approx(0.1)
