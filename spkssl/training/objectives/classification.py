"""Classification on speaker labels: the pseudo-label rounds, and the supervised reference on true labels.

The labels are the cuts' supervision speakers: ``pseudo00042`` ids in a pseudo-label
cut set, the corpus's own speakers for the supervised reference.  The head is
``loss.classification.name`` (softmax, AAM, sub-center AAM); a loss gate
(``loss.classification.gate``: none, lgl, dlg_lc; :mod:`spkssl.losses.gates`) decides
which samples of a batch train and with which label.  The fractions kept and
corrected go to TensorBoard (``gate/*`` per step, ``epoch/gate_*`` per epoch) and to
``train_summary.json`` (``gate_epochs``).

Example (the package defaults, no augmentation, a tiny untrained TDNN):
    >>> import json, tempfile
    >>> from spkssl.config import load_config
    >>> from spkssl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> speakers = ["pseudo00001", "pseudo00000", "pseudo00001"]  # one per training cut
    >>> obj = ClassificationObjective(load_config(None), speakers, None, embed_dim=16)
    >>> obj.num_classes, obj.labels(speakers).tolist(), obj.segments_per_item, type(obj.loss).__name__, obj.gate.name
    (2, [1, 0, 1], 1, 'AAMSoftmax', 'none')
    >>> d = Path(tempfile.mkdtemp())
    >>> obj.prepare(d, is_main=True)
    >>> json.loads((d / "spk2id.json").read_text())
    {'pseudo00000': 0, 'pseudo00001': 1}
    >>> from spkssl.config import with_defaults
    >>> model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}}), 80)
    >>> batch = FeatBatch(torch.randn(3, 50, 80), torch.from_numpy(obj.labels(speakers)))
    >>> value, accuracy = obj.compute(model, obj.loss, batch)
    >>> value.shape, bool(value > 0), 0 <= float(accuracy) <= 1
    (torch.Size([]), True, True)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_classification_loss, build_gate
from spkssl.training.data import FeatBatch, SegmentMaker, build_label_map, save_label_map
from spkssl.training.objectives.base import Objective


class SpeakerLabels:
    """What an objective that trains on speaker labels shares: the label map, the labels, ``spk2id.json``.

    Mixed into :class:`~spkssl.training.objectives.base.Objective` subclasses; call
    :meth:`_set_speakers` in ``__init__`` before building the classifier.
    """

    needs_labels = True
    label_map: dict[str, int]

    def _set_speakers(self, speakers: Sequence[str] | None) -> None:
        if speakers is None:
            raise ValueError(f"{self.name} needs the speaker of every training cut")  # type: ignore[attr-defined]
        self.label_map = build_label_map(speakers)

    def labels(self, speakers: Sequence[str] | None) -> np.ndarray:
        """Each cut's speaker as its output unit (``spk2id.json``)."""
        return np.fromiter((self.label_map[s] for s in speakers), dtype=np.int64, count=len(speakers))

    @property
    def num_classes(self) -> int:
        return len(self.label_map)

    def prepare(self, out_dir: Path, is_main: bool) -> None:
        """Write ``spk2id.json``: which output unit is which (pseudo) speaker."""
        if is_main:
            save_label_map(self.label_map, Path(out_dir) / "spk2id.json")


class ClassificationObjective(SpeakerLabels, Objective):
    """One augmented crop per cut and its speaker id; ``loss.classification`` over them, through the loss gate."""

    name = "classification"
    accuracy_tag = "train/accuracy"

    def __init__(self, cfg: Mapping[str, Any], speakers: Sequence[str] | None, augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        self._set_speakers(speakers)
        self.make_item = SegmentMaker(cfg, augmentor, per_item=1)
        self.loss = build_classification_loss(cfg["loss"]["classification"], embed_dim, self.num_classes)
        self.gate = build_gate(cfg["loss"]["classification"])

    def set_progress(self, epoch: float) -> None:
        super().set_progress(epoch)
        self.gate.set_progress(epoch)

    def compute(self, model: nn.Module, loss: nn.Module, batch: FeatBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean loss over the samples the gate keeps (with corrected labels where it corrects)."""
        labels = batch.labels
        emb = model(batch.feats).float()
        losses, logits = loss.per_sample(emb, labels)
        sel = self.gate.select(losses, logits, labels)
        if bool(sel.corrected.any()):
            losses, _ = loss.per_sample(emb, sel.labels)
        keep = sel.keep.to(losses.dtype)
        value = (losses * keep).sum() / keep.sum().clamp(min=1.0)
        return value, (logits.argmax(-1) == labels).float().mean().detach()

    def scalars(self) -> dict[str, float]:
        return {f"gate/{key}": value for key, value in self.gate.last.items()}

    def end_epoch(self) -> dict[str, float]:
        return {f"gate_{key}": value for key, value in self.gate.end_epoch().items()}

    def state_dict(self) -> dict[str, Any]:
        return {"gate": self.gate.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if set(state) != {"gate"}:
            raise ValueError(f"classification objective state must hold 'gate', got {sorted(state)}")
        self.gate.load_state_dict(state["gate"])

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "gate": self.gate.name, "gate_epochs": [dict(h) for h in self.gate.history]}
