"""DINO self-distillation and a speaker classifier trained together (the ``dino_classification`` rounds).

A round on (pseudo) speaker labels can learn whatever separates its training speakers,
the recording channel included; keeping round 0's self-distillation beside the
classifier asks the network to stay consistent across differently augmented crops of one
utterance as well.  The total is ``classification + dino_weight * dino``: the
classifier (``loss.classification``: AAM, softmax or sub-center AAM) sees the student's
embeddings of the global crops, each with its utterance's label, and DINO
(``loss.dino``) every crop, as in round 0.

Example:
    >>> import torch
    >>> from spkssl.losses import build_classification_loss, build_dino_loss
    >>> from spkssl.config import with_defaults
    >>> small = with_defaults("loss.dino", {"out_dim": 8, "hidden_dim": 8, "bottleneck_dim": 4, "global_crops": 2})
    >>> dino = build_dino_loss(small, 6, 2)
    >>> head = build_classification_loss(with_defaults("loss.classification", {"name": "softmax"}), 6, 3)
    >>> joint = JointLoss(dino, head, dino_weight=0.5)
    >>> net = torch.nn.Linear(5, 6)
    >>> joint.dino.bind(net)
    >>> feats = torch.randn(4, 5)                            # 2 global crops of 2 utterances, crop-major
    >>> total = joint(net(feats), net(feats[:0]), feats, torch.tensor([0, 2]))
    >>> bool(torch.isclose(total, joint.last["classification"] + 0.5 * joint.last["dino"]))
    True
"""
from __future__ import annotations

import torch
import torch.nn as nn

from spkssl.losses.dino import DINOLoss
from spkssl.losses.margin import MarginHead


class JointLoss(nn.Module):
    """``classification(global crops, labels) + dino_weight * dino(all crops)``.

    The parts of the last batch are in :attr:`last`, its classification accuracy in :attr:`last_accuracy`.

    Args:
        dino: the DINO loss (student head, teacher, centre); bind it to the network before use.
        classifier: the speaker classifier head and loss.
        dino_weight: the DINO term's weight (> 0).
    """

    def __init__(self, dino: DINOLoss, classifier: MarginHead, dino_weight: float) -> None:
        super().__init__()
        if not float(dino_weight) > 0:
            raise ValueError(f"loss.dino_classification.dino_weight must be > 0, got {dino_weight}")
        self.dino, self.classifier, self.dino_weight = dino, classifier, float(dino_weight)
        self.last: dict[str, torch.Tensor] = {}
        self.last_accuracy = torch.tensor(float("nan"))

    def set_progress(self, epoch: float) -> None:
        """Both parts' schedules (DINO temperatures and momentum, the classifier's margin warm-up)."""
        self.dino.set_progress(epoch)
        self.classifier.set_progress(epoch)

    def forward(self, student_global: torch.Tensor, student_local: torch.Tensor, global_feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """The joint loss of one batch.

        Args:
            student_global: ``[G * B, E]`` the student's embeddings of the global crops, crop-major.
            student_local: ``[L * B, E]`` those of the local crops (``L`` may be 0).
            global_feats: ``[G * B, ...]`` the global crops' network input, for the teacher.
            labels: ``[B]`` the speaker of every utterance.
        """
        crops = student_global.shape[0] // max(1, labels.shape[0])
        if crops * labels.shape[0] != student_global.shape[0]:
            raise ValueError(f"{labels.shape[0]} labels do not fit {student_global.shape[0]} global crops")
        repeated = labels.repeat(crops)  # crop-major: crop 0 of every utterance, then crop 1, ...
        cls, logits = self.classifier(student_global, repeated)
        dino = self.dino(student_global, student_local, global_feats)
        self.last = {"classification": cls.detach(), "dino": dino.detach()}
        self.last_accuracy = (logits.detach().argmax(-1) == repeated).float().mean()
        return cls + self.dino_weight * dino

    def extra_repr(self) -> str:
        return f"dino_weight={self.dino_weight}"
