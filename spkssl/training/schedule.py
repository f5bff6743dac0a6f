"""Optimizers, gradient clipping and per-step learning-rate schedules (linear warm-up, then cosine/exponential decay).

Example:
    >>> import torch
    >>> p = [torch.nn.Parameter(torch.zeros(1))]
    >>> cfg = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.0, "momentum": 0.9,
    ...        "warmup_epochs": 1, "scheduler": "cosine", "min_lr": 1e-5}
    >>> opt = build_optimizer(p, cfg)
    >>> sched = build_scheduler(opt, cfg, steps_per_epoch=10, epochs=3)
    >>> round(lr_at(0, cfg, 10, 3), 6), round(lr_at(10, cfg, 10, 3), 6), round(lr_at(30, cfg, 10, 3), 6)
    (0.0001, 0.001, 1e-05)
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import torch

from spkssl.utils.registry import Registry


def param_groups(params: Iterable[torch.nn.Parameter], weight_decay: float,
                 decay_norms_and_biases: bool = True) -> list[dict[str, Any]]:
    """The optimizer's parameter groups: 1-D parameters (biases, norm weights) without decay unless asked.

    >>> lin = torch.nn.Linear(3, 2)
    >>> [(len(g["params"]), g["weight_decay"]) for g in param_groups(lin.parameters(), 0.1, False)]
    [(1, 0.1), (1, 0.0)]
    """
    params = [p for p in params if p.requires_grad]
    if decay_norms_and_biases:
        return [{"params": params, "weight_decay": weight_decay}]
    return [{"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]


#: ``train.optimizer`` → ``(param groups, train section) -> optimizer``
OPTIMIZERS: Registry[Callable[[list, Mapping[str, Any]], torch.optim.Optimizer]] = Registry("train.optimizer", {
    "adamw": lambda groups, cfg: torch.optim.AdamW(groups, lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"])),
    "sgd": lambda groups, cfg: torch.optim.SGD(groups, lr=float(cfg["lr"]), momentum=float(cfg["momentum"]),
                                               weight_decay=float(cfg["weight_decay"]), nesterov=True),
})

#: ``train.scheduler`` → learning rate at ``(progress in [0, 1], peak, floor)`` after the warm-up
SCHEDULES: Registry[Callable[[float, float, float], float]] = Registry("train.scheduler", {
    "constant": lambda progress, peak, floor: peak,
    "cosine": lambda progress, peak, floor: floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress)),
    "exponential": lambda progress, peak, floor: peak * (floor / peak) ** progress,
})


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """AdamW or SGD (Nesterov momentum) from the ``train`` section (``decay_norms_and_biases``: see :func:`param_groups`)."""
    build = OPTIMIZERS[str(cfg["optimizer"]).lower()]
    return build(param_groups(params, float(cfg["weight_decay"]), bool(cfg.get("decay_norms_and_biases", True))), cfg)


def lr_at(step: int, cfg: Mapping[str, Any], steps_per_epoch: int, epochs: int) -> float:
    """Learning rate used for optimizer step ``step`` (0-based) of a run."""
    peak, floor = float(cfg["lr"]), float(cfg["min_lr"])
    total = max(1, int(steps_per_epoch) * int(epochs))
    warm = int(round(float(cfg["warmup_epochs"]) * steps_per_epoch))
    kind = str(cfg["scheduler"]).lower()
    schedule = SCHEDULES[kind]
    if kind == "exponential" and floor <= 0:
        raise ValueError("train.min_lr must be > 0 for the exponential scheduler")
    if warm > 0 and step < warm:
        return peak * (step + 1) / warm
    return schedule(min(1.0, (step - warm) / max(1, total - warm)), peak, floor)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any], steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step ``LambdaLR`` following :func:`lr_at` (validated eagerly)."""
    lr_at(0, cfg, steps_per_epoch, epochs)  # raises on a bad scheduler name now, not mid-run
    peak = float(cfg["lr"])
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_at(step, cfg, steps_per_epoch, epochs) / peak
    )


def clip_gradients(params: Any, clip: float, per_parameter: bool) -> float:
    """Clip to norm ``clip`` (0: no clipping), all gradients together or each on its own; return the total norm before.

    >>> p = torch.nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
    >>> clip_gradients([p], 1.0, per_parameter=True), round(p.grad.norm().item(), 4)
    (5.0, 1.0)
    """
    params = [p for p in params if p.grad is not None]
    if not per_parameter or clip <= 0:
        return float(torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf")))
    norms = [p.grad.detach().norm() for p in params]
    for p, n in zip(params, norms):  # DINO's and wespeaker's clip_gradients
        p.grad.mul_(torch.clamp(clip / (n + 1e-6), max=1.0))
    return float(torch.stack(norms).norm()) if norms else 0.0
