"""How a batch reaches the network in :mod:`spkssl.training.trainer`.

:class:`TrainModule` puts the network and the objective's loss module into one
``nn.Module`` (so DDP synchronises both); :class:`Featurize` is the DataLoader's
collate when the workers augment and compute fbank; :func:`features_on_device`
reads ``train.features_on``.

Example:
    >>> import torch
    >>> features_on_device("auto", torch.device("cpu"))
    False
    >>> features_on_device("device", torch.device("cpu"))
    True
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from spkssl.training.objectives import Objective


class TrainModule(nn.Module):
    """Network + loss as one module, so DDP synchronises both (AAM class weights included)."""

    def __init__(self, model: nn.Module, objective: Objective) -> None:
        super().__init__()
        self.model, self.loss = model, objective.loss
        self._objective = objective  # plain attribute: not a module, holds no parameters

    def forward(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(loss, accuracy)`` of a batch, as the objective computes them."""
        return self._objective.compute(self.model, self.loss, batch)


class Featurize:
    """Collate, then augment and fbank the batch (in the DataLoader workers, for CPU training)."""

    def __init__(self, objective: Objective, frontend: Any) -> None:
        self.objective, self.frontend = objective, frontend

    def __call__(self, items: list[Any]) -> Any:
        return self.objective.featurize(self.objective.collate(items), self.frontend)


def features_on_device(where: str, device: torch.device) -> bool:
    """``train.features_on`` → True to featurize on the training device, False in the loader."""
    if where not in ("auto", "device", "workers"):
        raise ValueError(f"train.features_on must be auto, device or workers, got {where!r}")
    return where == "device" or (where == "auto" and device.type == "cuda")


__all__ = ["Featurize", "TrainModule", "features_on_device"]
