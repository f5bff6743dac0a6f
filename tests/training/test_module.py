"""spkssl.training.module: the network and the objective's loss as one module, and where batches are featurized."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from spkssl.training.module import Featurize, TrainModule, features_on_device


class _Objective:
    """The two things TrainModule and Featurize use of an objective."""

    def __init__(self) -> None:
        self.loss = nn.Linear(3, 2)
        self.seen: list = []

    def compute(self, model, loss, batch):
        return loss(model(batch)).sum(), torch.tensor(0.5)

    def collate(self, items):
        self.seen.append(("collate", len(items)))
        return torch.stack(items)

    def featurize(self, raw, frontend):
        self.seen.append(("featurize", frontend))
        return raw * 2


def test_train_module_holds_network_and_loss_parameters_and_delegates_to_the_objective():
    obj = _Objective()
    net = nn.Linear(4, 3)
    module = TrainModule(net, obj)
    names = {name for name, _ in module.named_parameters()}
    assert names == {"model.weight", "model.bias", "loss.weight", "loss.bias"}  # DDP syncs the classifier too
    batch = torch.randn(5, 4)
    loss, acc = module(batch)
    assert torch.allclose(loss, obj.loss(net(batch)).sum())
    assert float(acc) == 0.5


def test_featurize_collates_then_featurizes_with_the_frontend():
    obj = _Objective()
    out = Featurize(obj, "frontend")([torch.ones(2), torch.ones(2)])
    assert obj.seen == [("collate", 2), ("featurize", "frontend")]
    assert torch.equal(out, torch.full((2, 2), 2.0))


@pytest.mark.parametrize("where,device,expected", [
    ("auto", "cpu", False), ("auto", "cuda", True), ("device", "cpu", True), ("workers", "cuda", False),
])
def test_features_on_device(where, device, expected):
    assert features_on_device(where, torch.device(device)) is expected


def test_features_on_device_rejects_an_unknown_place():
    with pytest.raises(ValueError, match="train.features_on must be auto, device or workers, got 'gpu'"):
        features_on_device("gpu", torch.device("cpu"))
