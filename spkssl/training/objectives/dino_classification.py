"""Rounds that keep round 0's self-distillation: DINO and a speaker classifier together
(``rounds.objective: dino_classification``).

A classification round on speakers recorded in one condition each can learn the
recording channel, since it separates them as well as the voice does.  This objective
trains the classifier of :class:`~spkssl.training.objectives.classification.ClassificationObjective`
(``loss.classification``, on the global crops, each with its utterance's pseudo or true
label) and round 0's DINO (``loss.dino``: the same multi-crop items, EMA teacher and
momentum rule as :class:`~spkssl.training.objectives.dino.DINOObjective`) at once:
``classification + loss.dino_classification.dino_weight * dino``
(:class:`~spkssl.losses.joint.JointLoss`).  The teacher starts as a copy of the network
the round starts from, with fresh heads.  ``loss.dino.extract_from`` says which network
``final.pt`` embeds with, as in round 0.  It trains every sample: a loss gate
(``loss.classification.gate``) is refused.

TensorBoard gets the DINO statistics (``dino/*``) and both parts of the loss
(``joint/classification_loss``, ``joint/dino_loss``); their epoch means are logged as
``epoch/classification_loss`` and ``epoch/dino_loss`` and kept in ``train_summary.json``
(``dino_epochs``).

Example (a small DINO head and short crops; no augmentation; one step of a tiny untrained TDNN on noise):
    >>> import numpy as np
    >>> from spkssl.config import load_config
    >>> from spkssl.features.batch_frontend import BatchFrontend
    >>> from spkssl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> small = ["loss.dino.out_dim=32", "loss.dino.hidden_dim=16", "loss.dino.bottleneck_dim=8",
    ...          "loss.dino.global_seconds=0.6", "loss.dino.local_crops=2", "loss.dino.local_seconds=0.3"]
    >>> cfg = load_config(None, small)
    >>> speakers = ["pseudo00001", "pseudo00000"]  # one per training cut
    >>> obj = DINOClassificationObjective(cfg, speakers, None, embed_dim=16)
    >>> obj.num_classes, obj.labels(speakers).tolist(), obj.segments_per_item  # 2 global + 2 local crops
    (2, [1, 0], 4)
    >>> obj.networks()["teacher"]
    ('loss', 'dino.teacher.')
    >>> noise = lambda n, rng: 0.1 * rng.standard_normal(n).astype(np.float32)
    >>> items = [obj.make_item(noise, np.random.default_rng(i), label) for i, label in enumerate([1, 0])]
    >>> feats = obj.featurize(obj.collate(items), BatchFrontend(cfg["features"]))
    >>> [tuple(b.feats.shape) for b in feats.batches], feats.batches[0].labels.tolist()
    ([(2, 2, 60, 80), (2, 2, 30, 80)], [1, 0])
    >>> from spkssl.config import with_defaults
    >>> model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}}), 80)
    >>> obj.bind(model)
    >>> obj.set_progress(0.0)
    >>> value, accuracy = obj.compute(model, obj.loss, feats)
    >>> obj.after_step(model)
    >>> value.shape, sorted(tag for tag in obj.scalars() if tag.startswith("joint/"))
    (torch.Size([]), ['joint/classification_loss', 'joint/dino_loss'])
    >>> gated = load_config(None, small + ["loss.classification.gate=lgl"])
    >>> try:
    ...     DINOClassificationObjective(gated, speakers, None, embed_dim=16)
    ... except ValueError as exc:
    ...     print(str(exc).split(";")[0])
    loss.classification.gate=lgl: the dino_classification objective trains every sample
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.losses import build_classification_loss
from spkssl.losses.joint import JointLoss
from spkssl.training.data import Views
from spkssl.training.objectives.classification import SpeakerLabels
from spkssl.training.objectives.dino import DINOObjective
from spkssl.utils.collective import all_sum

#: the parts of the joint loss averaged over an epoch
PARTS = ("classification", "dino")


class DINOClassificationObjective(SpeakerLabels, DINOObjective):
    """DINO's multi-crop items with their speaker labels; :class:`~spkssl.losses.joint.JointLoss` over them."""

    name = "dino_classification"
    accuracy_tag = "train/accuracy"
    teacher_prefix = "dino.teacher."

    def __init__(self, cfg: Mapping[str, Any], speakers: Sequence[str] | None, augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        self._set_speakers(speakers)
        gate = cfg["loss"]["classification"]["gate"]
        if gate != "none":
            raise ValueError(f"loss.classification.gate={gate}: the {self.name} objective trains every sample; "
                             "set the gate to none or train rounds.objective=classification")
        super().__init__(cfg, None, augmentor, embed_dim)
        classifier = build_classification_loss(cfg["loss"]["classification"], embed_dim, self.num_classes)
        self.loss = JointLoss(self.dino, classifier, float(cfg["loss"]["dino_classification"]["dino_weight"]))
        self.part_sums = [0.0] * len(PARTS)

    def compute(self, model: nn.Module, loss: nn.Module, batch: Views) -> tuple[torch.Tensor, torch.Tensor]:
        emb_global, emb_local, glob = self.student_embeddings(model, batch)
        return loss(emb_global, emb_local, glob, batch.batches[0].labels), loss.last_accuracy

    def after_step(self, model: nn.Module) -> None:
        super().after_step(model)
        self.part_sums = [total + float(self.loss.last[key]) for total, key in zip(self.part_sums, PARTS)]

    def scalars(self) -> dict[str, float]:
        parts = {f"joint/{key}_loss": float(value) for key, value in self.loss.last.items()}
        return {**super().scalars(), **parts}

    def end_epoch(self) -> dict[str, float]:
        *totals, steps = all_sum([*self.part_sums, float(self.steps)])  # before the DINO part resets steps
        sums = [total / max(1.0, steps) for total in totals]
        stats = super().end_epoch()
        self.history[-1].update({f"{key}_loss": value for key, value in zip(PARTS, sums)})
        self.part_sums = [0.0] * len(PARTS)
        return {**stats, **{f"{key}_loss": value for key, value in zip(PARTS, sums)}}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "part_sums": list(self.part_sums)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        state = dict(state)
        if "part_sums" not in state:
            raise ValueError(f"{self.name} objective state must hold part_sums, got {sorted(state)}")
        part_sums = [float(v) for v in state.pop("part_sums")]
        super().load_state_dict(state)
        self.part_sums = part_sums if self.steps else [0.0] * len(PARTS)
