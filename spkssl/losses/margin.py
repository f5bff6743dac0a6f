"""Classification heads for pseudo-label rounds: softmax, additive angular margin, sub-center AAM.

Each maps embeddings ``[B, E]`` and labels ``[B]`` to ``(loss, logits)`` and has
``set_progress(epoch)`` (a no-op for softmax), so the trainer treats them alike.
:meth:`MarginHead.per_sample` gives the loss of every sample (``[B]``) instead of
their mean: what a loss gate (:mod:`spkssl.losses.gates`) selects from.

AAM-softmax (ArcFace, Deng et al. 2019): with θ_y the angle between an embedding
and its class weight, the target logit is ``s·cos(θ_y + m)`` and the others
``s·cos θ_j``.  The margin ramps linearly from 0 to ``m`` over
``margin_warmup_epochs`` (as WeSpeaker's margin scheduler), which keeps the
first epochs of a round from diverging on noisy pseudo labels.

Sub-center AAM (Deng et al. 2020, "Sub-center ArcFace"): every class has ``K``
weight vectors; an embedding's cosine to a class is its cosine to the *nearest*
of them, so the utterances of a pseudo speaker that are really another voice
(label noise) can gather at a sub-centre of their own instead of pulling the
dominant one.  The margin then applies as in AAM.

Example:
    >>> import torch
    >>> head = AAMSoftmax(embed_dim=8, num_classes=5, margin=0.2, scale=32.0, margin_warmup_epochs=2)
    >>> head.set_progress(1.0); head.current_margin
    0.1
    >>> loss, logits = head(torch.randn(3, 8), torch.tensor([0, 4, 2]))
    >>> logits.shape
    torch.Size([3, 5])
    >>> sub = SubCenterAAM(8, 5, subcenters=3, margin=0.2, scale=32.0, margin_warmup_epochs=0)
    >>> per, logits = sub.per_sample(torch.randn(3, 8), torch.tensor([0, 4, 2]))
    >>> per.shape, logits.shape, sub.weight.shape
    (torch.Size([3]), torch.Size([3, 5]), torch.Size([15, 8]))
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_inputs(emb: torch.Tensor, labels: torch.Tensor, embed_dim: int, num_classes: int) -> None:
    if emb.dim() != 2 or emb.shape[1] != embed_dim:
        raise ValueError(f"expected embeddings [batch, {embed_dim}], got {tuple(emb.shape)}")
    if labels.shape != (emb.shape[0],):
        raise ValueError(f"expected labels [{emb.shape[0]}], got {tuple(labels.shape)}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got range [{int(labels.min())}, {int(labels.max())}]"
        )


class MarginHead(nn.Module):
    """A classifier loss: :meth:`per_sample` gives ``(losses [B], logits [B, C])``; ``forward`` their mean."""

    embed_dim: int
    num_classes: int

    def set_progress(self, epoch: float) -> None:
        """Schedules inside the head (e.g. the margin warm-up) follow training progress; none by default."""

    def per_sample(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss of every sample ``[B]`` and the logits predictions use ``[B, C]``."""
        raise NotImplementedError

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean loss, logits)``."""
        losses, logits = self.per_sample(emb, labels)
        return losses.mean(), logits


class SoftmaxLoss(MarginHead):
    """Linear classifier + cross-entropy; ``forward(emb, labels) -> (loss, logits)``."""

    def __init__(self, embed_dim: int, num_classes: int) -> None:
        super().__init__()
        self.embed_dim, self.num_classes = embed_dim, num_classes
        self.fc = nn.Linear(embed_dim, num_classes)

    def per_sample(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_inputs(emb, labels, self.embed_dim, self.num_classes)
        logits = self.fc(emb.float())
        return F.cross_entropy(logits, labels, reduction="none"), logits


class AAMSoftmax(MarginHead):
    """Additive angular margin softmax with a linear margin warm-up.

    Args:
        embed_dim: embedding size ``E``.
        num_classes: number of (pseudo) speakers.
        margin: angular margin ``m`` in radians once warmed up.
        scale: logit scale ``s``.
        margin_warmup_epochs: epochs over which the margin grows from 0 to
            ``margin`` (0: full margin from the start).
        easy_margin: apply the margin only where ``cos θ > 0``; otherwise use
            ArcFace's fallback ``cos θ − m·sin m`` where ``θ + m > π``, which
            keeps the target logit monotonic in θ.

    ``forward`` returns the loss and the margin-free logits ``s·cos θ`` (what
    predictions and accuracy should use).
    """

    #: weight vectors per class (1; :class:`SubCenterAAM` has more)
    subcenters: int = 1

    def __init__(
        self,
        embed_dim: int,
        num_classes: int,
        margin: float = 0.2,
        scale: float = 32.0,
        margin_warmup_epochs: float = 0.0,
        easy_margin: bool = False,
    ) -> None:
        super().__init__()
        if not 0 <= margin < math.pi / 2:
            raise ValueError(f"AAM margin must be in [0, pi/2) radians, got {margin}")
        if scale <= 0 or margin_warmup_epochs < 0:
            raise ValueError(f"AAM needs scale > 0 and margin_warmup_epochs >= 0, got {scale}, {margin_warmup_epochs}")
        self.embed_dim, self.num_classes = embed_dim, num_classes
        self.margin, self.scale = float(margin), float(scale)
        self.margin_warmup_epochs = float(margin_warmup_epochs)
        self.easy_margin = easy_margin
        self.weight = nn.Parameter(torch.empty(num_classes * self.subcenters, embed_dim))
        nn.init.xavier_uniform_(self.weight)
        self.current_margin = 0.0 if self.margin_warmup_epochs > 0 else self.margin

    def set_progress(self, epoch: float) -> None:
        """Set the margin for training progress ``epoch`` (fractional epochs since the round began)."""
        if self.margin_warmup_epochs <= 0:
            self.current_margin = self.margin
        else:
            self.current_margin = self.margin * min(1.0, max(0.0, epoch) / self.margin_warmup_epochs)

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` cosine of every embedding to every class."""
        return F.linear(F.normalize(emb.float(), dim=-1), F.normalize(self.weight.float(), dim=-1))

    def per_sample(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_inputs(emb, labels, self.embed_dim, self.num_classes)
        cosine = self.cosine(emb)
        m = self.current_margin
        sine = torch.sqrt((1.0 - cosine * cosine).clamp(min=1e-7))
        phi = cosine * math.cos(m) - sine * math.sin(m)  # cos(θ + m)
        if self.easy_margin:
            phi = torch.where(cosine > 0, phi, cosine)
        else:
            phi = torch.where(cosine > math.cos(math.pi - m), phi, cosine - math.sin(math.pi - m) * m)
        one_hot = F.one_hot(labels, self.num_classes).to(cosine.dtype)
        margin_logits = self.scale * (one_hot * phi + (1.0 - one_hot) * cosine)
        return F.cross_entropy(margin_logits, labels, reduction="none"), self.scale * cosine.detach()

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_classes={self.num_classes}, subcenters={self.subcenters}, "
            f"margin={self.margin}, scale={self.scale}, margin_warmup_epochs={self.margin_warmup_epochs}, "
            f"easy_margin={self.easy_margin}"
        )


class SubCenterAAM(AAMSoftmax):
    """AAM over ``subcenters`` weight vectors per class; a class's cosine is that of its nearest one.

    ``weight`` is ``[num_classes * subcenters, E]``, class-major (rows ``c*K .. c*K+K-1`` are class ``c``).
    The other arguments are those of :class:`AAMSoftmax`.
    """

    def __init__(self, embed_dim: int, num_classes: int, subcenters: int, **aam: float | bool) -> None:
        if int(subcenters) < 1:
            raise ValueError(f"sub-center AAM needs subcenters >= 1, got {subcenters}")
        self.subcenters = int(subcenters)
        super().__init__(embed_dim, num_classes, **aam)

    def cosine(self, emb: torch.Tensor) -> torch.Tensor:
        every = super().cosine(emb)  # [B, C*K]
        return every.view(every.shape[0], self.num_classes, self.subcenters).amax(dim=-1)
