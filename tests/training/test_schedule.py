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


def test_norms_and_biases_can_be_left_undecayed_as_wespeaker_and_dino_do() -> None:
    from spkssl.training.schedule import build_optimizer

    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    cfg = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.1, "momentum": 0.9}
    one = build_optimizer(net.parameters(), {**cfg, "decay_norms_and_biases": True})
    assert [g["weight_decay"] for g in one.param_groups] == [0.1]
    two = build_optimizer(net.parameters(), {**cfg, "decay_norms_and_biases": False})
    assert [(len(g["params"]), g["weight_decay"]) for g in two.param_groups] == [(1, 0.1), (3, 0.0)]


def test_gradients_clip_all_together_or_each_on_its_own() -> None:
    from spkssl.training.schedule import clip_gradients

    def params() -> list[torch.nn.Parameter]:
        a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
        a.grad, b.grad = torch.tensor([3.0, 4.0]), torch.tensor([0.5])
        return [a, b]

    together = params()
    assert clip_gradients(together, 2.0, per_parameter=False) == pytest.approx((25 + 0.25) ** 0.5)
    assert torch.cat([p.grad for p in together]).norm().item() == pytest.approx(2.0, rel=1e-4)
    each = params()
    clip_gradients(each, 2.0, per_parameter=True)
    assert each[0].grad.norm().item() == pytest.approx(2.0, rel=1e-4) and each[1].grad.item() == 0.5  # small one untouched
    unclipped = params()
    assert clip_gradients(unclipped, 0.0, per_parameter=True) == pytest.approx(25.25 ** 0.5)
    assert unclipped[0].grad.tolist() == [3.0, 4.0]
