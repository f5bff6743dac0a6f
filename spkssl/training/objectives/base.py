"""What every training objective brings to the one trainer.

An :class:`Objective` owns the dataset view it trains on (how a cut becomes an
item: how many crops, which labels), the loss module (with any trainable part of
its own, e.g. AAM class weights), how a batch goes through the network, and its
throughput unit.  The trainer (:mod:`spkssl.training.trainer`) knows none of this:
a new objective is one new subclass, registered in :mod:`spkssl.training.objectives`.

A batch travels as a :class:`~spkssl.training.data.RawBatch` (crops and augmentation
choices) until :meth:`Objective.featurize` turns it into the network input with the
batched front-end, in the DataLoader workers or on the training device.

Hooks the trainer calls, each a no-op by default: :meth:`Objective.bind` (the network
exists, or got new weights), :meth:`Objective.set_progress` (before every step),
:meth:`Objective.after_step`, :meth:`Objective.scalars` (extra TensorBoard scalars at
log steps), :meth:`Objective.end_epoch` (per-epoch statistics), and
:meth:`Objective.state_dict` / :meth:`Objective.load_state_dict` (the objective's own
running state, part of the full-state checkpoint beside the loss module's).

Example:
    >>> from spkssl.training.objectives import OBJECTIVES
    >>> sorted(OBJECTIVES)
    ['classification', 'contrastive', 'dino', 'dino_classification']
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from spkssl.features.batch_frontend import BatchFrontend
from spkssl.training.data import FeatBatch, RawBatch, SegmentMaker, collate_segments


class Objective(ABC):
    """One training objective: dataset view, loss, batch handling and throughput unit.

    Subclasses are built as ``Objective(cfg, speakers, augmentor, embed_dim)`` (``speakers``:
    one per training cut when :attr:`needs_labels`, else None), set :attr:`make_item` and
    :attr:`loss` in ``__init__`` (the loss may draw random initial weights after the
    network's), and implement :meth:`compute`; :meth:`collate` and :meth:`featurize`
    suit any :class:`~spkssl.training.data.SegmentMaker` item.
    """

    #: the name ``spkssl train --objective`` and checkpoints use
    name: ClassVar[str]
    #: TensorBoard tag of the accuracy :meth:`compute` returns
    accuracy_tag: ClassVar[str] = "train/accuracy"
    #: whether its dataset reads the cuts' speakers (true or pseudo labels)
    needs_labels: ClassVar[bool] = False

    make_item: SegmentMaker
    loss: nn.Module

    @property
    def segments_per_item(self) -> int:
        """Network inputs (crops) per dataset item: the unit of ``train/segments_per_second``."""
        return self.make_item.per_item

    def labels(self, speakers: Sequence[str] | None) -> np.ndarray | None:
        """The integer label of every training cut (None for an objective without labels)."""
        return None

    @property
    def num_classes(self) -> int | None:
        """Classes of a classifier loss, or None."""
        return None

    def collate(self, items: list[Any]) -> RawBatch:
        """Dataset items → one :class:`RawBatch` (CPU tensors; runs in the DataLoader workers)."""
        return collate_segments(items)

    def featurize(self, raw: RawBatch, frontend: BatchFrontend) -> FeatBatch:
        """Augment, fbank and CMN every crop → ``[B, K, T, F]`` (``[B, T, F]`` for one crop per item)."""
        feats = frontend(raw.wave, raw.draws)
        if raw.per_item > 1:
            feats = feats.view(-1, raw.per_item, *feats.shape[1:])
        return FeatBatch(feats, raw.labels)

    def batch_to(self, batch: RawBatch | FeatBatch, device: torch.device) -> RawBatch | FeatBatch:
        """Move a batch to ``device``."""
        return batch.to(device, non_blocking=True)

    @abstractmethod
    def compute(self, model: nn.Module, loss: nn.Module, batch: FeatBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, accuracy)`` of one batch; runs inside the (DDP-wrapped) train module."""

    def bind(self, model: nn.Module) -> None:
        """The network exists (before the optimizer), or its weights were replaced (``--init-from``).

        For parts of the loss that depend on the network (e.g. an EMA teacher copy); nothing by default.
        """

    def set_total_steps(self, total_steps: int) -> None:
        """The round's number of optimizer steps (for schedules that follow it, e.g. DINO's momentum); nothing by default."""

    def networks(self) -> dict[str, tuple[str, str]]:
        """The networks a round can embed with: name → (checkpoint section, key prefix) of their weights.

        The trainer averages each over the last epoch-end checkpoints; :meth:`embedding_network`
        goes to ``final.pt``, every other one to ``final_<name>.pt``.  By default the trained
        network (the student, for a distillation objective) is the only one.
        """
        return {"student": ("model", "")}

    def embedding_network(self) -> str:
        """Which of :meth:`networks` ``final.pt`` holds."""
        return "student"

    def set_progress(self, epoch: float) -> None:
        """Tell schedules inside the loss (e.g. AAM margin warm-up) how far training is."""
        if hasattr(self.loss, "set_progress"):
            self.loss.set_progress(epoch)

    def after_step(self, model: nn.Module) -> None:
        """Called after every optimizer step (e.g. to update an EMA teacher); nothing by default."""

    def scalars(self) -> dict[str, float]:
        """Extra TensorBoard scalars of the last step (tag → value), read at log steps; none by default."""
        return {}

    def end_epoch(self) -> dict[str, float]:
        """Called on every rank at each epoch end: statistics of the epoch (logged as ``epoch/<name>``)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The objective's running state beyond its loss module (checkpointed); none by default."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; anything this objective does not hold is an error."""
        if state:
            raise ValueError(f"objective '{self.name}' holds no running state, the checkpoint has {sorted(state)}")

    def prepare(self, out_dir: Path, is_main: bool) -> None:
        """Write what the round needs besides checkpoints (e.g. ``spk2id.json``); nothing by default."""

    def identity(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed by this objective."""
        return {"objective": self.name, "num_classes": self.num_classes}

    def check_state(self, state: Mapping[str, Any], where: str) -> None:
        """Refuse a checkpoint written by another objective or for another label set.

        Raises:
            ValueError: naming ``where`` (the checkpoint) and what differs.
        """
        for key in ("objective", "objective_state"):
            if key not in state:
                raise ValueError(f"{where}: not a checkpoint of this spkssl version (no '{key}'); "
                                 "retrain the round with --force true")
        mine = self.identity()
        for key, value in mine.items():
            if state.get(key) != value:
                raise ValueError(f"{where}: checkpoint has {key}={state.get(key)!r}, this run has {value!r}")

    def summary(self) -> dict[str, Any]:
        """Extra fields of ``train_summary.json``."""
        return {"objective": self.name, "num_classes": self.num_classes}

