"""Round 0 without labels and without negatives: DINO self-distillation (``rounds.round0_objective: dino``).

Every cut gives ``loss.dino.global_crops`` crops of ``global_seconds`` (teacher and
student) and ``local_crops`` crops of ``local_seconds`` (student only), each augmented
on its own; each crop length travels as one batch (:class:`~spkssl.training.data.Views`),
so the batched front-end augments and computes fbank for each view at once.  The
student is the trained network, the teacher its EMA; ``loss.dino.extract_from`` says
which one ``final.pt`` embeds with (the teacher by default, as wespeaker and DINO
evaluate), the other is written as ``final_<other>.pt``.
The loss, the projection heads, the EMA teacher and the centre are
:class:`~spkssl.losses.dino.DINOLoss`; the teacher follows the student after every
optimizer step (:meth:`DINOObjective.after_step`).

Collapse is watched: TensorBoard gets ``dino/teacher_entropy`` (nats),
``dino/center_norm``, ``dino/embedding_std`` (spread of the L2-normalised student
embeddings, about 1 when spread out, 0 when constant) and ``dino/collapsed`` at log
steps, and their epoch means as ``epoch/dino_*``.  An epoch whose mean teacher entropy
falls below ``loss.dino.collapse_entropy``, or whose embedding spread falls below
``collapse_embedding_std``, is logged as collapsed (a warning, and ``collapsed_epochs``
in ``train_summary.json``).

Example (a small head and short crops; no augmentation; one step of a tiny untrained TDNN on noise):
    >>> import numpy as np
    >>> from spkssl.config import load_config
    >>> from spkssl.models import build_model
    >>> _ = torch.manual_seed(0)
    >>> cfg = load_config(None, ["loss.dino.out_dim=32", "loss.dino.hidden_dim=16", "loss.dino.bottleneck_dim=8",
    ...                          "loss.dino.global_seconds=0.6", "loss.dino.local_seconds=0.3"])
    >>> obj = DINOObjective(cfg, None, None, embed_dim=16)
    >>> obj.segments_per_item, [(v.per_item, v.segment_samples) for v in obj.make_item.views]  # global, local
    (6, [(2, 9600), (4, 4800)])
    >>> obj.networks(), obj.embedding_network()
    ({'student': ('model', ''), 'teacher': ('loss', 'teacher.')}, 'teacher')
    >>> noise = lambda n, rng: 0.1 * rng.standard_normal(n).astype(np.float32)
    >>> raw = obj.collate([obj.make_item(noise, np.random.default_rng(i)) for i in range(2)])
    >>> [tuple(b.wave.shape) for b in raw.batches]  # one batch per crop length
    [(4, 9600), (8, 4800)]
    >>> feats = obj.featurize(raw, BatchFrontend(cfg["features"]))
    >>> [tuple(b.feats.shape) for b in feats.batches]  # [items, crops, frames, mel bins]
    [(2, 2, 60, 80), (2, 4, 30, 80)]
    >>> from spkssl.config import with_defaults
    >>> model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}}), 80)
    >>> obj.bind(model)  # the teacher starts as a copy of the network
    >>> obj.set_progress(0.0)
    >>> value, agreement = obj.compute(model, obj.loss, feats)
    >>> value.shape, bool(torch.isfinite(value))
    (torch.Size([]), True)
    >>> obj.after_step(model)  # EMA teacher update, statistics of the step
    >>> for tag in sorted(obj.scalars()):  # TensorBoard scalars of the step
    ...     print(tag)
    dino/center_norm
    dino/collapsed
    dino/embedding_std
    dino/teacher_entropy
    dino/teacher_momentum
    dino/teacher_temp
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.losses import build_dino_loss
from spkssl.training.data import MultiCropMaker, SegmentMaker, Views, collate_views
from spkssl.training.objectives.base import Objective
from spkssl.utils.collective import all_sum, own_share
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

#: the per-step statistics of :class:`~spkssl.losses.dino.DINOLoss` averaged over an epoch
STATS = ("teacher_entropy", "center_norm", "embedding_std")


def collapse_reasons(stats: Mapping[str, float], cfg: Mapping[str, Any]) -> list[str]:
    """Why ``stats`` (teacher entropy, embedding spread) show collapse under the ``loss.dino`` thresholds; [] if not.

    >>> cfg = {"collapse_entropy": 0.1, "collapse_embedding_std": 0.05}
    >>> collapse_reasons({"teacher_entropy": 2.3, "embedding_std": 0.8}, cfg)
    []
    >>> collapse_reasons({"teacher_entropy": 0.01, "embedding_std": 0.8}, cfg)
    ['teacher-output entropy 0.01 nats < loss.dino.collapse_entropy 0.1']
    """
    reasons = []
    if stats["teacher_entropy"] < float(cfg["collapse_entropy"]):
        reasons.append(f"teacher-output entropy {stats['teacher_entropy']:.3g} nats < "
                       f"loss.dino.collapse_entropy {cfg['collapse_entropy']}")
    if stats["embedding_std"] < float(cfg["collapse_embedding_std"]):
        reasons.append(f"embedding spread {stats['embedding_std']:.3g} < "
                       f"loss.dino.collapse_embedding_std {cfg['collapse_embedding_std']} (constant embeddings)")
    return reasons


def _crop_major(feats: torch.Tensor) -> torch.Tensor:
    """``[B, K, T, F]`` (or ``[B, T, F]`` for K = 1) → ``[K * B, T, F]``, crop by crop."""
    return feats if feats.dim() == 3 else feats.transpose(0, 1).flatten(0, 1)


class DINOObjective(Objective):
    """Multi-crop items, the student network, and :class:`~spkssl.losses.dino.DINOLoss` with its EMA teacher."""

    name = "dino"
    accuracy_tag = "train/teacher_agreement"
    #: where the teacher network's weights sit in the loss module's state dict
    teacher_prefix = "teacher."

    def __init__(self, cfg: Mapping[str, Any], speakers: Sequence[str] | None, augmentor: Augmentor | None,
                 embed_dim: int) -> None:
        d = cfg["loss"]["dino"]
        glob, local = int(d["global_crops"]), int(d["local_crops"])
        if glob < 1 or local < 0 or glob + local < 2:
            raise ValueError(f"loss.dino needs global_crops >= 1, local_crops >= 0 and at least 2 crops in all, "
                             f"got {glob} and {local}")
        views = [SegmentMaker(cfg, augmentor, glob, float(d["global_seconds"]), "loss.dino.global_seconds")]
        if local:
            views.append(SegmentMaker(cfg, augmentor, local, float(d["local_seconds"]), "loss.dino.local_seconds"))
        self.make_item = MultiCropMaker(views)
        self.dino = build_dino_loss(d, embed_dim, int(cfg["train"]["epochs"]))
        self.loss: nn.Module = self.dino
        self.cfg = self.dino.cfg
        self.sums, self.steps = [0.0] * len(STATS), 0
        self.history: list[dict[str, float]] = []

    def collate(self, items: list[Any]) -> Views:
        return collate_views(items)

    def featurize(self, raw: Views, frontend: BatchFrontend) -> Views:
        """Each view (crop length) through the front-end as one batch."""
        return Views([super(DINOObjective, self).featurize(view, frontend) for view in raw.batches])

    def bind(self, model: nn.Module) -> None:
        self.dino.bind(model)

    def set_total_steps(self, total_steps: int) -> None:
        """The teacher's base momentum follows the round's step count (:func:`~spkssl.losses.dino.base_momentum`)."""
        self.dino.set_total_steps(total_steps)
        log.info("DINO teacher momentum: %.5f rising to 1 over %d steps (loss.dino.teacher_momentum %s, "
                 "teacher_forget %s)", self.dino.base_momentum, total_steps, self.cfg["teacher_momentum"],
                 self.cfg["teacher_forget"])

    def networks(self) -> dict[str, tuple[str, str]]:
        """The student (the trained network) and the teacher (its EMA, inside the loss module)."""
        return {"student": ("model", ""), "teacher": ("loss", self.teacher_prefix)}

    def embedding_network(self) -> str:
        return str(self.cfg["extract_from"])

    @staticmethod
    def student_embeddings(model: nn.Module, batch: Views) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(global embeddings [G * B, E], local embeddings [L * B, E], global network input)``, crop-major."""
        glob = _crop_major(batch.batches[0].feats)
        emb_global = model(glob).float()
        if len(batch.batches) > 1:
            emb_local = model(_crop_major(batch.batches[1].feats)).float()
        else:
            emb_local = emb_global.new_zeros((0, emb_global.shape[1]))
        return emb_global, emb_local, glob

    def compute(self, model: nn.Module, loss: nn.Module, batch: Views) -> tuple[torch.Tensor, torch.Tensor]:
        emb_global, emb_local, glob = self.student_embeddings(model, batch)
        return loss(emb_global, emb_local, glob), loss.last_agreement

    def after_step(self, model: nn.Module) -> None:
        """Move the teacher towards the student; add the step's statistics to the epoch's."""
        self.dino.update_teacher(model)
        self.sums = [total + float(self.dino.stats[key]) for total, key in zip(self.sums, STATS)]
        self.steps += 1

    def _last(self) -> dict[str, float]:
        return {key: float(self.dino.stats[key]) for key in STATS} if self.dino.stats else {}

    def scalars(self) -> dict[str, float]:
        stats = self._last()
        if not stats:
            return {}
        return {**{f"dino/{key}": value for key, value in stats.items()},
                "dino/collapsed": float(bool(collapse_reasons(stats, self.cfg))),
                "dino/teacher_temp": self.dino.teacher_temp, "dino/teacher_momentum": self.dino.momentum}

    def end_epoch(self) -> dict[str, float]:
        """The epoch's mean statistics over every rank, and whether they show collapse (warned)."""
        *sums, steps = all_sum([*self.sums, float(self.steps)])
        stats = {key: total / max(1.0, steps) for key, total in zip(STATS, sums)}
        reasons = collapse_reasons(stats, self.cfg) if steps else []
        if reasons:
            log.warning("DINO training collapsed in epoch %d: %s", len(self.history) + 1, "; ".join(reasons))
        stats["collapsed"] = float(bool(reasons))
        self.history.append(stats)
        self.sums, self.steps = [0.0] * len(STATS), 0
        return {f"dino_{key}": value for key, value in stats.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": list(self.sums), "steps": self.steps, "history": [dict(h) for h in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if set(state) != {"sums", "steps", "history"}:
            raise ValueError(f"dino objective state must hold sums, steps and history, got {sorted(state)}")
        self.sums, self.steps = [float(v) for v in state["sums"]], int(state["steps"])
        if not own_share():  # rank 0's share of the running epoch is its own
            self.sums, self.steps = [0.0] * len(STATS), 0
        self.history = [dict(h) for h in state["history"]]

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "teacher_base_momentum": self.dino.base_momentum,
                "extract_from": self.embedding_network(), "dino_epochs": [dict(h) for h in self.history],
                "collapsed_epochs": [i + 1 for i, h in enumerate(self.history) if h["collapsed"]]}
