"""DINO loss: the cross-entropy against a hand computation, teacher EMA, centre update, schedules, frozen last layer."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from spkssl.config import section_defaults
from spkssl.losses.dino import DINOLoss, base_momentum, cosine_momentum, remaining_init_weight
from tests.losses.sections import build_dino_loss

SMALL = {"out_dim": 12, "hidden_dim": 10, "bottleneck_dim": 6, "head_layers": 2, "head_batchnorm": False,
         "teacher_temp_warmup_fraction": 0.0, "freeze_last_layer_epochs": 0}


def _loss(epochs: int = 10, **cfg: object) -> tuple[DINOLoss, nn.Module]:
    torch.manual_seed(0)
    net = nn.Linear(5, 4)
    loss = build_dino_loss({**SMALL, **cfg}, 4, epochs)
    loss.bind(net)
    return loss, net


def test_defaults_follow_the_published_recipes() -> None:
    d = section_defaults("loss")["dino"]
    assert (d["global_crops"], d["local_crops"], d["out_dim"], d["student_temp"], d["center_momentum"]) == \
        (2, 4, 65536, 0.1, 0.9)
    assert (d["teacher_temp"], d["warmup_teacher_temp"], d["teacher_momentum"]) == (0.07, 0.04, 0.996)


def test_loss_matches_a_hand_computation_and_skips_same_crop_pairs() -> None:
    loss, net = _loss()
    loss.eval()  # no centre update, so the centre used is the one before
    loss.center.fill_(0.3)
    g, l = torch.randn(2 * 3, 5), torch.randn(1 * 3, 5)
    value = loss(net(g), net(l), g)
    s = loss.head(torch.cat([net(g), net(l)])) / 0.1
    t = F.softmax((loss.teacher_head(loss.teacher(g)) - 0.3) / loss.teacher_temp, dim=-1)
    s_crops, t_crops = s.chunk(3), t.chunk(2)
    terms = [(-q * F.log_softmax(s_crops[v], -1)).sum(-1).mean()
             for i, q in enumerate(t_crops) for v in range(3) if v != i]
    assert len(terms) == 4
    torch.testing.assert_close(value, torch.stack(terms).mean())
    assert float(loss.teacher_temp) == pytest.approx(0.07)


def test_gradients_reach_the_student_not_the_teacher() -> None:
    loss, net = _loss()
    g, l = torch.randn(4, 5), torch.randn(6, 5)
    loss(net(g), net(l), g).backward()
    assert net.weight.grad is not None and loss.head.last_layer.direction.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in list(loss.teacher.parameters())
               + list(loss.teacher_head.parameters()))


def test_bind_copies_the_student_and_the_ema_follows_the_momentum_schedule() -> None:
    loss, net = _loss(epochs=4)
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), loss.teacher.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(loss.head.parameters(), loss.teacher_head.parameters()))
    with torch.no_grad():
        net.weight.add_(1.0)
        loss.head.mlp[0].bias.add_(2.0)
    before = copy.deepcopy(loss.teacher.state_dict()), copy.deepcopy(loss.teacher_head.state_dict())
    loss.set_progress(2.0)  # halfway: momentum 1 - (1 - 0.996) / 2
    m = 1.0 - 0.004 / 2
    assert loss.momentum == pytest.approx(m)
    loss.update_teacher(net)
    torch.testing.assert_close(loss.teacher.weight, m * before[0]["weight"] + (1 - m) * net.weight)
    torch.testing.assert_close(loss.teacher_head.mlp[0].bias,
                               m * before[1]["mlp.0.bias"] + (1 - m) * loss.head.mlp[0].bias)
    loss.set_progress(4.0)
    loss.update_teacher(net)  # momentum 1 at the end: the teacher stays
    torch.testing.assert_close(loss.teacher.weight, m * before[0]["weight"] + (1 - m) * net.weight)
    new = nn.Linear(5, 4)
    loss.bind(new)  # new student weights (--init-from): the teacher copies them, in place
    assert torch.equal(loss.teacher.weight, new.weight) and loss.teacher.weight is not new.weight
    assert [cosine_momentum(0.9, p) for p in (0.0, 1.0)] == [0.9, 1.0]


@pytest.mark.parametrize("steps", [100, 300, 3_000, 30_000])
def test_the_base_momentum_follows_the_step_count(steps: int) -> None:
    """The teacher forgets its random start to the same degree at any length; long rounds keep 0.996."""
    m0 = base_momentum(0.996, 8.0, steps)
    assert m0 == pytest.approx(min(0.996, 1 - 16 / steps))
    assert remaining_init_weight(m0, steps) <= 1.05 * torch.e ** -8  # e^-R, up to the cosine's discretisation
    fixed = remaining_init_weight(0.996, steps)
    assert (fixed > 0.1) == (steps <= 300)  # the published value over a short round: mostly the random start


def test_the_published_momentum_holds_at_voxceleb_scale_and_without_forget() -> None:
    assert base_momentum(0.996, 8.0, 400_000) == 0.996
    assert base_momentum(0.996, 0.0, 300) == 0.996 and base_momentum(0.996, 8.0, 0) == 0.996
    assert base_momentum(0.996, 8.0, 10) == 0.0  # fewer steps than the rule can serve: follow the student
    loss, _ = _loss(epochs=4, teacher_forget=8.0)
    assert loss.momentum == 0.996  # no step count known yet
    loss.set_total_steps(320)
    assert loss.base_momentum == pytest.approx(0.95) and loss.momentum == pytest.approx(0.95)
    loss.set_progress(2.0)
    assert loss.momentum == pytest.approx(1 - 0.05 / 2)


def test_centre_is_an_ema_of_the_teacher_output_in_training_only() -> None:
    loss, net = _loss(center_momentum=0.8)
    g = torch.randn(4, 5)
    teacher_out = loss.teacher_head(loss.teacher(g)).detach()
    loss(net(g), net(g[:0]), g)
    torch.testing.assert_close(loss.center, 0.2 * teacher_out.mean(0, keepdim=True))
    assert float(loss.stats["center_norm"]) == pytest.approx(float(loss.center.norm()))
    loss.eval()
    kept = loss.center.clone()
    loss(net(g), net(g[:0]), g)
    assert torch.equal(loss.center, kept)


def test_teacher_temperature_warms_up_linearly() -> None:
    loss, _ = _loss(epochs=10, teacher_temp_warmup_fraction=0.2, warmup_teacher_temp=0.04, teacher_temp=0.07)
    for progress, temp in ((0.0, 0.04), (1.0, 0.055), (2.0, 0.07), (9.0, 0.07)):
        loss.set_progress(progress)
        assert loss.teacher_temp == pytest.approx(temp)


def test_last_layer_gets_no_gradient_while_frozen() -> None:
    loss, net = _loss(freeze_last_layer_epochs=1)
    g = torch.randn(4, 5)
    for progress, frozen in ((0.5, True), (1.0, False)):
        loss.zero_grad()
        loss.set_progress(progress)
        loss(net(g), net(g[:0]), g).backward()
        grad = loss.head.last_layer.direction.grad
        assert grad is not None and bool((grad == 0).all()) == frozen
        assert loss.head.mlp[0].weight.grad.abs().sum() > 0


def test_statistics_show_collapse() -> None:
    loss, _ = _loss()
    constant = torch.ones(6, 4)
    loss(constant[:4], constant[4:], torch.randn(4, 5))
    assert float(loss.stats["embedding_std"]) == pytest.approx(0.0, abs=1e-6)
    spread = torch.randn(6, 4)
    loss(spread[:4], spread[4:], torch.randn(4, 5))
    assert float(loss.stats["embedding_std"]) > 0.3
    with torch.no_grad():  # a teacher that always answers one unit: entropy near 0
        loss.teacher_head.last_layer.direction.zero_()
        loss.teacher_head.last_layer.direction[0] = 1.0
        loss.center.zero_()
    loss.cfg["teacher_temp"] = 1e-4
    loss(spread[:4], spread[4:], 100.0 * torch.ones(4, 5))
    assert float(loss.stats["teacher_entropy"]) < 1e-3


def test_bad_settings_and_use_before_bind() -> None:
    with pytest.raises(ValueError, match="'loss.dino.student_temp' must be a number > 0, got 0"):
        build_dino_loss({**SMALL, "student_temp": 0}, 4, 10)
    with pytest.raises(ValueError, match=r"'loss.dino.teacher_momentum' must be a number in \[0, 1\]"):
        build_dino_loss({**SMALL, "teacher_momentum": 1.5}, 4, 10)
    with pytest.raises(ValueError, match="'loss.dino.head_layers' must be an integer >= 1"):
        build_dino_loss({**SMALL, "head_layers": 0}, 4, 10)
    loss = build_dino_loss(SMALL, 4, 10)
    with pytest.raises(RuntimeError, match="before bind"):
        loss(torch.randn(2, 4), torch.randn(0, 4), torch.randn(2, 5))
