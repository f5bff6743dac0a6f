"""NT-Xent against a reference written out with explicit loops."""
from __future__ import annotations

import math

import pytest
import torch

from spkssl.losses.ntxent import NTXentLoss


def _reference(emb: torch.Tensor, tau: float) -> float:
    b, k, _ = emb.shape
    vecs = [(i, emb[i, s].double()) for i in range(b) for s in range(k)]
    vecs = [(cut, v / v.norm()) for cut, v in vecs]
    total, pairs = 0.0, 0
    for a, (cut_a, va) in enumerate(vecs):
        denom = sum(math.exp(float(va @ vj) / tau) for j, (_, vj) in enumerate(vecs) if j != a)
        for p, (cut_p, vp) in enumerate(vecs):
            if p != a and cut_p == cut_a:
                total += -math.log(math.exp(float(va @ vp) / tau) / denom)
                pairs += 1
    return total / pairs


def test_hand_made_batch_matches_reference() -> None:
    emb = torch.tensor(
        [
            [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0]],
            [[0.0, 1.0, 0.0], [0.2, 0.8, 0.1]],
            [[0.0, 0.0, 2.0], [1.0, 0.0, 1.0]],
        ]
    )
    loss_fn = NTXentLoss(temperature=0.5)
    assert float(loss_fn(emb)) == pytest.approx(_reference(emb, 0.5), rel=1e-5)
    # cut 2's segments: [0,0,2] is nearest to [1,0,1] (its positive), [1,0,1] is nearest to [1,0,0] (cut 0)
    assert loss_fn.last_accuracy == pytest.approx(5 / 6)


@pytest.mark.parametrize("k", [2, 3])
def test_random_batch_matches_reference(k: int) -> None:
    torch.manual_seed(0)
    emb = torch.randn(4, k, 5)
    assert float(NTXentLoss(0.1)(emb)) == pytest.approx(_reference(emb, 0.1), rel=1e-4)


def test_perfect_separation_gives_low_loss_and_full_accuracy() -> None:
    emb = torch.eye(4).unsqueeze(1).repeat(1, 2, 1)
    loss_fn = NTXentLoss(0.05)
    assert float(loss_fn(emb)) < 1e-6
    assert loss_fn.last_accuracy == 1.0


def test_gradient_flows_and_scale_invariance() -> None:
    emb = torch.randn(3, 2, 4, requires_grad=True)
    loss_fn = NTXentLoss(0.2)
    loss = loss_fn(emb)
    loss.backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all()
    torch.testing.assert_close(loss_fn(emb.detach() * 7.0), loss.detach())


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="segments>=2"):
        NTXentLoss()(torch.randn(4, 1, 8))
    with pytest.raises(ValueError, match="segments>=2"):
        NTXentLoss()(torch.randn(4, 8))
    with pytest.raises(ValueError, match="temperature"):
        NTXentLoss(0.0)
    assert math.isnan(NTXentLoss().last_accuracy)
