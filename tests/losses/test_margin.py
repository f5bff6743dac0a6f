"""AAM-softmax and plain softmax heads."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spkssl.losses.margin import AAMSoftmax, SoftmaxLoss, SubCenterAAM


def _cosine(head: AAMSoftmax, emb: torch.Tensor) -> torch.Tensor:
    return F.normalize(emb, dim=-1) @ F.normalize(head.weight, dim=-1).t()


def test_zero_margin_is_scaled_cosine_cross_entropy() -> None:
    torch.manual_seed(0)
    head = AAMSoftmax(6, 4, margin=0.0, scale=30.0)
    emb, labels = torch.randn(5, 6), torch.tensor([0, 1, 3, 3, 2])
    loss, logits = head(emb, labels)
    ref = F.cross_entropy(30.0 * _cosine(head, emb), labels)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(logits, 30.0 * _cosine(head, emb))


@pytest.mark.parametrize("easy", [False, True])
def test_margin_applies_cos_theta_plus_m_to_the_target(easy: bool) -> None:
    torch.manual_seed(1)
    m, s = 0.3, 16.0
    head = AAMSoftmax(3, 2, margin=m, scale=s, easy_margin=easy)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    theta = 0.4  # target angle well inside (0, pi - m): no fallback branch
    emb = torch.tensor([[math.cos(theta), math.sin(theta), 0.0]])
    loss, _ = head(emb, torch.tensor([0]))
    ref_logits = torch.tensor([[s * math.cos(theta + m), s * math.sin(theta)]])
    torch.testing.assert_close(loss, F.cross_entropy(ref_logits, torch.tensor([0])))


def test_fallback_beyond_pi_minus_m() -> None:
    m = 0.5
    head = AAMSoftmax(2, 2, margin=m, scale=1.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    theta = math.pi - 0.1  # theta + m > pi: ArcFace uses cos(theta) - m sin(m)
    emb = torch.tensor([[math.cos(theta), math.sin(theta)]])
    loss, _ = head(emb, torch.tensor([0]))
    ref_logits = torch.tensor([[math.cos(theta) - math.sin(math.pi - m) * m, math.sin(theta)]])
    torch.testing.assert_close(loss, F.cross_entropy(ref_logits, torch.tensor([0])))


def test_margin_makes_the_loss_larger() -> None:
    torch.manual_seed(2)
    emb, labels = torch.randn(8, 6), torch.randint(0, 4, (8,))
    head = AAMSoftmax(6, 4, margin=0.2, scale=32.0)
    with_margin, _ = head(emb, labels)
    head.current_margin = 0.0
    without, _ = head(emb, labels)
    assert with_margin.item() > without.item()


def test_margin_warmup_is_linear() -> None:
    head = AAMSoftmax(4, 3, margin=0.2, margin_warmup_epochs=4)
    assert head.current_margin == 0.0
    for epoch, expected in [(0.0, 0.0), (1.0, 0.05), (2.5, 0.125), (4.0, 0.2), (9.0, 0.2), (-1.0, 0.0)]:
        head.set_progress(epoch)
        assert head.current_margin == pytest.approx(expected)
    no_warmup = AAMSoftmax(4, 3, margin=0.2, margin_warmup_epochs=0)
    assert no_warmup.current_margin == pytest.approx(0.2)
    no_warmup.set_progress(0.0)
    assert no_warmup.current_margin == pytest.approx(0.2)


def test_softmax_head_is_linear_plus_cross_entropy() -> None:
    torch.manual_seed(3)
    head = SoftmaxLoss(5, 3)
    emb, labels = torch.randn(4, 5), torch.tensor([0, 2, 1, 1])
    loss, logits = head(emb, labels)
    torch.testing.assert_close(logits, head.fc(emb))
    torch.testing.assert_close(loss, F.cross_entropy(head.fc(emb), labels))
    head.set_progress(3.0)  # no-op, same interface
    loss.backward()
    assert head.fc.weight.grad is not None


@pytest.mark.parametrize("head", [AAMSoftmax(4, 3), SoftmaxLoss(4, 3)])
def test_bad_inputs_are_reported(head: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        head(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"embeddings \[batch, 4\]"):
        head(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"labels \[2\]"):
        head(torch.randn(2, 4), torch.tensor([0, 1, 2]))


def test_bad_hyperparameters() -> None:
    with pytest.raises(ValueError, match="margin"):
        AAMSoftmax(4, 3, margin=2.0)
    with pytest.raises(ValueError, match="scale"):
        AAMSoftmax(4, 3, scale=0.0)


def test_per_sample_losses_average_to_the_loss() -> None:
    torch.manual_seed(4)
    emb, labels = torch.randn(6, 5), torch.tensor([0, 1, 2, 2, 1, 0])
    for head in (AAMSoftmax(5, 3, margin=0.2, scale=32.0), SoftmaxLoss(5, 3),
                 SubCenterAAM(5, 3, subcenters=2, margin=0.2, scale=32.0)):
        per, logits = head.per_sample(emb, labels)
        loss, logits2 = head(emb, labels)
        assert per.shape == (6,) and bool((per >= 0).all())
        torch.testing.assert_close(per.mean(), loss)
        torch.testing.assert_close(logits, logits2)


def test_subcenter_aam_scores_the_nearest_subcentre() -> None:
    torch.manual_seed(5)
    k, c, e = 3, 4, 6
    head = SubCenterAAM(e, c, subcenters=k, margin=0.2, scale=32.0)
    assert head.weight.shape == (c * k, e)
    emb, labels = torch.randn(7, e), torch.randint(0, c, (7,))
    every = F.normalize(emb, dim=-1) @ F.normalize(head.weight, dim=-1).t()
    nearest = every.view(7, c, k).amax(-1)
    per, logits = head.per_sample(emb, labels)
    torch.testing.assert_close(logits, 32.0 * nearest)
    # with the margin, it is AAM on the nearest sub-centres: an AAM head whose weights are those sub-centres
    aam = AAMSoftmax(e, c, margin=0.2, scale=32.0)
    with torch.no_grad():
        aam.weight.copy_(head.weight.view(c, k, e)[torch.arange(c)[None], every.view(7, c, k).argmax(-1)][0])
    per_ref, _ = aam.per_sample(emb[:1], labels[:1])
    torch.testing.assert_close(per[:1], per_ref)


def test_subcenter_aam_gradients_reach_only_the_nearest_subcentres() -> None:
    torch.manual_seed(6)
    head = SubCenterAAM(4, 2, subcenters=3, margin=0.2, scale=16.0)
    emb = torch.randn(1, 4, requires_grad=True)
    loss, _ = head(emb, torch.tensor([1]))
    loss.backward()
    assert emb.grad is not None and bool(emb.grad.abs().sum() > 0)
    moved = head.weight.grad.abs().sum(-1).view(2, 3) > 0
    assert moved.sum(-1).tolist() == [1, 1]  # one sub-centre per class: its nearest
    with pytest.raises(ValueError, match="subcenters >= 1"):
        SubCenterAAM(4, 2, subcenters=0)
