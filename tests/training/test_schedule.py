"""Optimizers and LR schedules."""
from __future__ import annotations

import pytest
import torch

from spkssl.training.schedule import build_optimizer, build_scheduler, lr_at

CFG = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "warmup_epochs": 2,
       "scheduler": "cosine", "min_lr": 0.001}


@pytest.mark.parametrize("kind", ["cosine", "exponential"])
def test_warmup_then_monotone_decay_to_min(kind: str) -> None:
    cfg = {**CFG, "scheduler": kind}
    lrs = [lr_at(s, cfg, steps_per_epoch=5, epochs=6) for s in range(31)]
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10]))
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[30] == pytest.approx(0.001)


def test_scheduler_follows_lr_at_and_restores() -> None:
    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = build_optimizer(p, CFG)
    assert isinstance(opt, torch.optim.SGD)
    sched = build_scheduler(opt, CFG, steps_per_epoch=4, epochs=3)
    for step in range(7):
        assert opt.param_groups[0]["lr"] == pytest.approx(lr_at(step, CFG, 4, 3))
        opt.step()
        sched.step()
    opt2 = build_optimizer(p, CFG)
    sched2 = build_scheduler(opt2, CFG, 4, 3)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["lr"] == pytest.approx(lr_at(7, CFG, 4, 3))


def test_bad_names() -> None:
    p = [torch.nn.Parameter(torch.zeros(1))]
    with pytest.raises(ValueError, match="optimizer"):
        build_optimizer(p, {**CFG, "optimizer": "adam9"})
    with pytest.raises(ValueError, match="scheduler"):
        build_scheduler(build_optimizer(p, CFG), {**CFG, "scheduler": "step"}, 4, 3)
