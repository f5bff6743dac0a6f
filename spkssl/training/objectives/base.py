"""What every training objective brings to the one trainer.

An :class:`Objective` owns the dataset view it trains on (how a cut becomes an
item), the loss module (with any trainable part of its own, e.g. AAM class
weights), how a batch goes through the network, and its throughput unit.  The
trainer (:mod:`spkssl.training.trainer`) knows none of this: a new objective is
one new subclass, registered in :mod:`spkssl.training.objectives`.

Example:
    >>> from spkssl.training.objectives import OBJECTIVES
    >>> sorted(OBJECTIVES)
    ['classification', 'contrastive']
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping

import torch
import torch.nn as nn
from torch.utils.data import Dataset


class Objective(ABC):
    """One training objective: dataset view, loss, batch handling and throughput unit.

    Subclasses set :attr:`dataset` and :attr:`loss` in ``__init__`` (in that order: the
    loss may draw random initial weights after the network's) and implement
    :meth:`collate`, :meth:`batch_to` and :meth:`compute`.
    """

    #: the name ``spkssl train --objective`` and checkpoints use
    name: ClassVar[str]
    #: TensorBoard tag of the accuracy :meth:`compute` returns
    accuracy_tag: ClassVar[str] = "train/accuracy"

    dataset: Dataset
    loss: nn.Module

    @property
    def segments_per_item(self) -> int:
        """Network inputs (crops) per dataset item: the unit of ``train/segments_per_second``."""
        return 1

    @property
    def num_classes(self) -> int | None:
        """Classes of a classifier loss, or None."""
        return None

    @abstractmethod
    def collate(self, items: list[Any]) -> Any:
        """Dataset items → one batch (CPU tensors)."""

    @abstractmethod
    def batch_to(self, batch: Any, device: torch.device) -> Any:
        """Move a batch to ``device``."""

    @abstractmethod
    def compute(self, model: nn.Module, loss: nn.Module, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, accuracy)`` of one batch; runs inside the (DDP-wrapped) train module."""

    def set_progress(self, epoch: float) -> None:
        """Tell schedules inside the loss (e.g. AAM margin warm-up) how far training is."""
        if hasattr(self.loss, "set_progress"):
            self.loss.set_progress(epoch)

    def after_step(self, model: nn.Module) -> None:
        """Called after every optimizer step (e.g. to update an EMA teacher); nothing by default."""

    def prepare(self, out_dir: Path, is_main: bool) -> None:
        """Write what the round needs besides checkpoints (e.g. ``spk2id.json``); nothing by default."""

    def state(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this objective."""
        return {"objective": self.name, "num_classes": self.num_classes}

    def check_state(self, state: Mapping[str, Any], where: str) -> None:
        """Refuse a checkpoint written by another objective or for another label set.

        Raises:
            ValueError: naming ``where`` (the checkpoint) and what differs.
        """
        if "objective" not in state:
            raise ValueError(f"{where}: not a checkpoint of this spkssl version (no 'objective'); "
                             "retrain the round with --force true")
        mine = self.state()
        for key, value in mine.items():
            if state.get(key) != value:
                raise ValueError(f"{where}: checkpoint has {key}={state.get(key)!r}, this run has {value!r}")

    def summary(self) -> dict[str, Any]:
        """Extra fields of ``train_summary.json``."""
        return {"objective": self.name, "num_classes": self.num_classes}

