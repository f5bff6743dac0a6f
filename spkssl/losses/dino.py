"""DINO (self-DIstillation with NO labels, Caron et al. 2021) for speaker embeddings, as in wespeaker ``v3/dino``.

A student and a teacher network of the same architecture each end in a projection
head (:class:`DINOHead`: an MLP to a bottleneck, L2 normalisation, a weight-normalised
last layer to ``out_dim`` units).  The teacher sees the long *global* crops of an
utterance; the student sees those and the short *local* crops.  For every teacher
crop ``i`` and every student crop ``v != i``, the loss is the cross-entropy between
the teacher's centred, sharpened distribution ``softmax((t_i - c) / τ_t)`` and the
student's ``softmax(s_v / τ_s)``.  No gradient reaches the teacher: after every
optimizer step it moves towards the student (EMA with a momentum that follows a
cosine schedule from a base momentum to 1, :meth:`DINOLoss.update_teacher`), and
the centre ``c`` is an EMA of the teacher's mean output (centring and sharpening
together avoid collapse).

**The base momentum follows the step count** (:func:`base_momentum`).  Along the
cosine schedule the mean of ``1 - m`` is half its start, so after ``N`` steps the
teacher still holds ``exp(-(1 - m0) N / 2)`` of its random initialisation.  The
published ``teacher_momentum`` (0.996) is meant for hundreds of thousands of steps,
where that is nothing; over a 300-step CPU round it leaves about half the random
network in the teacher.  ``teacher_forget`` (R nats) caps what remains at ``e^-R``:
``m0 = min(teacher_momentum, 1 - 2R / N)``, so the published value holds at VoxCeleb
scale and a short round gets a teacher that learns (R = 0: the fixed momentum).

:class:`DINOLoss` holds the student head, the teacher (network and head, frozen) and
the centre, so DDP and the full-state checkpoint carry all of them; the network it
copies into the teacher is bound with :meth:`DINOLoss.bind`.  After each forward,
:attr:`DINOLoss.stats` holds the teacher-output entropy, the centre's norm and the
spread of the student's embeddings: what collapse detection reads.

Example:
    >>> import torch
    >>> cfg = {"out_dim": 32, "hidden_dim": 16, "bottleneck_dim": 8, "head_layers": 3, "head_batchnorm": False,
    ...        "norm_last_layer": True, "student_temp": 0.1, "teacher_temp": 0.04, "warmup_teacher_temp": 0.04,
    ...        "teacher_temp_warmup_fraction": 0.0, "center_momentum": 0.9, "teacher_momentum": 0.996,
    ...        "teacher_forget": 8.0, "freeze_last_layer_epochs": 0, "global_crops": 2}
    >>> net = torch.nn.Linear(10, 6)
    >>> loss = DINOLoss(6, cfg, epochs=10); loss.bind(net)
    >>> g, l = torch.randn(2 * 4, 10), torch.randn(3 * 4, 10)   # 2 global, 3 local crops of 4 items
    >>> value = loss(net(g), net(l), g)
    >>> value.dim(), sorted(loss.stats)
    (0, ['center_norm', 'embedding_std', 'teacher_entropy'])
"""
from __future__ import annotations

import copy
import math
from typing import Any, Mapping

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F


class WeightNormLinear(nn.Module):
    """``x @ (g · V / ||V||)ᵀ`` without bias; with ``fixed_norm`` the gain ``g`` is 1 and not trained.

    The weight-normalised last layer of the DINO head (``norm_last_layer``: DINO fixes the
    norm, which keeps training stable).  :attr:`frozen` scales its gradients to 0 (the
    parameters stay in the graph, so DDP sees them used).
    """

    def __init__(self, in_dim: int, out_dim: int, fixed_norm: bool) -> None:
        super().__init__()
        self.direction = nn.Parameter(torch.empty(out_dim, in_dim))
        nn.init.trunc_normal_(self.direction, std=0.02)
        self.gain = None if fixed_norm else nn.Parameter(torch.ones(out_dim, 1))
        self.frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.direction
        if self.frozen:  # value unchanged, gradient 0
            v = v.detach() + 0.0 * v
        weight = F.normalize(v, dim=1)
        if self.gain is not None:
            weight = weight * (self.gain.detach() + 0.0 * self.gain if self.frozen else self.gain)
        return F.linear(x, weight)


class DINOHead(nn.Module):
    """Projection head: ``layers - 1`` linear layers (+BatchNorm) with GELU to ``bottleneck_dim``, L2 norm, last layer."""

    def __init__(self, in_dim: int, cfg: Mapping[str, Any]) -> None:
        super().__init__()
        layers, hidden = int(cfg["head_layers"]), int(cfg["hidden_dim"])
        if layers < 1:
            raise ValueError(f"loss.dino.head_layers must be >= 1, got {layers}")
        dims = [in_dim] + [hidden] * (layers - 1) + [int(cfg["bottleneck_dim"])]
        mlp: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            mlp.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                mlp += ([nn.BatchNorm1d(b)] if bool(cfg["head_batchnorm"]) else []) + [nn.GELU()]
        self.mlp = nn.Sequential(*mlp)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        self.last_layer = WeightNormLinear(dims[-1], int(cfg["out_dim"]), bool(cfg["norm_last_layer"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.normalize(self.mlp(x), dim=-1))


def _frozen_copy(module: nn.Module) -> nn.Module:
    twin = copy.deepcopy(module)
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin


def base_momentum(published: float, forget: float, total_steps: int) -> float:
    """Start of the teacher momentum schedule for a round of ``total_steps`` optimizer steps.

    ``min(published, 1 - 2 * forget / total_steps)`` (never below 0): at most ``e^-forget`` of
    the teacher's random initialisation survives the round (see the module doc).  ``forget``
    0 (or an unknown step count, 0) keeps ``published``.

    >>> base_momentum(0.996, 8.0, 300), base_momentum(0.996, 8.0, 400_000), base_momentum(0.996, 0.0, 300)
    (0.9466666666666667, 0.996, 0.996)
    """
    if forget <= 0 or total_steps <= 0:
        return float(published)
    return max(0.0, min(float(published), 1.0 - 2.0 * float(forget) / float(total_steps)))


def remaining_init_weight(start: float, total_steps: int) -> float:
    """Weight of the teacher's initial state after ``total_steps`` EMA steps along :func:`cosine_momentum`.

    >>> round(remaining_init_weight(0.996, 300), 2), remaining_init_weight(0.996, 400_000) < 1e-300
    (0.55, True)
    """
    log_w = sum(math.log(max(1e-300, cosine_momentum(start, (t + 0.5) / total_steps))) for t in range(total_steps))
    return math.exp(log_w)


def cosine_momentum(start: float, progress: float) -> float:
    """EMA momentum at ``progress`` in [0, 1] of training: ``start`` rising to 1 along a half cosine.

    >>> cosine_momentum(0.996, 0.0), cosine_momentum(0.996, 0.5), cosine_momentum(0.996, 1.0)
    (0.996, 0.998, 1.0)
    """
    p = min(1.0, max(0.0, progress))
    return 1.0 - (1.0 - start) * (math.cos(math.pi * p) + 1.0) / 2.0


class DINOLoss(nn.Module):
    """Student head, frozen teacher (network + head) and centre; ``forward`` gives the DINO loss.

    Args:
        embed_dim: the network's embedding size (the head's input).
        cfg: the ``loss.dino`` section.
        epochs: epochs of the round (the length of the momentum and temperature schedules).
    """

    def __init__(self, embed_dim: int, cfg: Mapping[str, Any], epochs: int) -> None:
        super().__init__()
        self.cfg, self.epochs = dict(cfg), int(epochs)
        for key in ("student_temp", "teacher_temp", "warmup_teacher_temp"):
            if float(cfg[key]) <= 0:
                raise ValueError(f"loss.dino.{key} must be > 0, got {cfg[key]}")
        for key in ("center_momentum", "teacher_momentum"):
            if not 0.0 <= float(cfg[key]) <= 1.0:
                raise ValueError(f"loss.dino.{key} must lie in [0, 1], got {cfg[key]}")
        if float(cfg["teacher_forget"]) < 0:
            raise ValueError(f"loss.dino.teacher_forget must be >= 0, got {cfg['teacher_forget']}")
        self.global_crops = int(cfg["global_crops"])
        self.head = DINOHead(embed_dim, cfg)
        self.teacher_head = _frozen_copy(self.head)
        self.teacher: nn.Module | None = None
        self.register_buffer("center", torch.zeros(1, int(cfg["out_dim"])))
        self.progress = 0.0
        self.total_steps = 0  # optimizer steps of the round (set_total_steps); 0: unknown, the published momentum
        self.stats: dict[str, torch.Tensor] = {}
        self.last_agreement = torch.tensor(float("nan"))

    # ----------------------------------------------------------------- schedules
    @property
    def teacher_temp(self) -> float:
        """Teacher temperature now: linear warm-up over ``teacher_temp_warmup_fraction`` of the round."""
        final, start = float(self.cfg["teacher_temp"]), float(self.cfg["warmup_teacher_temp"])
        warm = float(self.cfg["teacher_temp_warmup_fraction"]) * self.epochs
        return final if warm <= 0 else start + (final - start) * min(1.0, self.progress / warm)

    def set_total_steps(self, total_steps: int) -> None:
        """The round's optimizer steps: the base momentum (:func:`base_momentum`) follows them."""
        self.total_steps = int(total_steps)

    @property
    def base_momentum(self) -> float:
        """Start of the momentum schedule (:func:`base_momentum` of the round's step count)."""
        return base_momentum(float(self.cfg["teacher_momentum"]), float(self.cfg["teacher_forget"]), self.total_steps)

    @property
    def momentum(self) -> float:
        """Teacher EMA momentum now (:func:`cosine_momentum` from :attr:`base_momentum` over the round)."""
        return cosine_momentum(self.base_momentum, self.progress / max(1, self.epochs))

    def set_progress(self, epoch: float) -> None:
        """Training progress in fractional epochs: temperatures, momentum, last-layer freeze follow it."""
        self.progress = float(epoch)
        self.head.last_layer.frozen = self.progress < float(self.cfg["freeze_last_layer_epochs"])

    # ----------------------------------------------------------------- teacher
    def bind(self, model: nn.Module) -> None:
        """Make the teacher a frozen copy of ``model`` and of the student head (again after new weights)."""
        if self.teacher is None:
            self.teacher = _frozen_copy(model)
        else:
            self.teacher.load_state_dict(model.state_dict())
        self.teacher_head.load_state_dict(self.head.state_dict())

    @torch.no_grad()
    def update_teacher(self, model: nn.Module) -> None:
        """EMA step of the teacher towards the student (``model`` and the student head) at :attr:`momentum`."""
        if self.teacher is None:
            raise RuntimeError("DINOLoss.update_teacher before bind(model)")
        m = self.momentum
        for student, teacher in ((model, self.teacher), (self.head, self.teacher_head)):
            for p_s, p_t in zip(student.parameters(), teacher.parameters()):
                p_t.mul_(m).add_(p_s.detach().to(p_t.dtype), alpha=1.0 - m)

    @torch.no_grad()
    def _update_center(self, teacher_out: torch.Tensor) -> None:
        batch = teacher_out.sum(dim=0, keepdim=True)
        count = torch.tensor([float(teacher_out.shape[0])], device=teacher_out.device)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(batch)
            dist.all_reduce(count)
        m = float(self.cfg["center_momentum"])
        self.center.mul_(m).add_(batch / count, alpha=1.0 - m)

    # ----------------------------------------------------------------- loss
    def forward(self, student_global: torch.Tensor, student_local: torch.Tensor,
                global_feats: torch.Tensor) -> torch.Tensor:
        """DINO loss of one batch.

        Args:
            student_global: ``[G * B, E]`` the student network's embeddings of the global crops, crop-major.
            student_local: ``[L * B, E]`` those of the local crops (``L`` may be 0).
            global_feats: ``[G * B, ...]`` the global crops' network input, for the teacher.
        """
        if self.teacher is None:
            raise RuntimeError("DINOLoss used before bind(model): the teacher network is missing")
        g = self.global_crops
        if student_global.shape[0] % g or student_local.shape[0] % (student_global.shape[0] // g):
            raise ValueError(f"expected crop-major embeddings of {g} global crops and whole local crops, got "
                             f"{tuple(student_global.shape)} and {tuple(student_local.shape)}")
        student = self.head(torch.cat([student_global, student_local]).float()) / float(self.cfg["student_temp"])
        with torch.no_grad():
            teacher_out = self.teacher_head(self.teacher(global_feats).float())
            teacher = F.softmax((teacher_out - self.center) / self.teacher_temp, dim=-1)
        crops_s = student.chunk(student.shape[0] // (student_global.shape[0] // g))
        crops_t = teacher.chunk(g)
        total, terms, agree = student.new_zeros(()), 0, student.new_zeros(())
        for i, q in enumerate(crops_t):
            for v, s in enumerate(crops_s):
                if v == i:
                    continue
                total = total + torch.sum(-q * F.log_softmax(s, dim=-1), dim=-1).mean()
                agree = agree + (s.detach().argmax(-1) == q.argmax(-1)).float().mean()
                terms += 1
        with torch.no_grad():
            if self.training:
                self._update_center(teacher_out)
            spread = F.normalize(student_global.detach().float(), dim=-1).std(dim=0).mean()
            self.stats = {
                "teacher_entropy": -(teacher * teacher.clamp_min(1e-12).log()).sum(-1).mean(),
                "center_norm": self.center.norm(),
                "embedding_std": spread * math.sqrt(student_global.shape[1]),
            }
            self.last_agreement = agree.detach() / max(1, terms)
        return total / max(1, terms)

    def extra_repr(self) -> str:
        return (f"out_dim={self.cfg['out_dim']}, global_crops={self.global_crops}, "
                f"student_temp={self.cfg['student_temp']}, teacher_temp={self.cfg['teacher_temp']}")
