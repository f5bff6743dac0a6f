"""Loss gates: LGL and DLG-LC decisions, their counts and state, and their effect on features with known label noise."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spkssl.losses.gates import DynamicLossGate, LossGatedLearning, clean_posterior, fit_loss_mixture, gate_threshold
from tests.losses.sections import build_classification_loss, build_gate


def _gate(name: str, **cfg: object):
    gate = build_gate({"gate": name, "gate_warmup_epochs": 0, "margin_warmup_epochs": 0, **cfg})
    gate.set_progress(0.0)
    return gate


def test_lgl_keeps_the_samples_at_or_below_the_threshold_and_counts_per_epoch() -> None:
    gate = _gate("lgl", gate_threshold=2.0)
    assert isinstance(gate, LossGatedLearning)
    labels = torch.tensor([0, 1, 2, 3])
    sel = gate.select(torch.tensor([0.5, 2.0, 2.1, 9.0]), torch.zeros(4, 5), labels)
    assert sel.keep.tolist() == [True, True, False, False] and not sel.corrected.any()
    assert torch.equal(sel.labels, labels)
    assert gate.last == {"kept_fraction": 0.5, "corrected_fraction": 0.0}
    gate.select(torch.tensor([0.1, 0.2]), torch.zeros(2, 5), labels[:2])
    assert gate.end_epoch() == {"kept_fraction": 4 / 6, "corrected_fraction": 0.0}
    assert gate.end_epoch()["kept_fraction"] == 0.0 and len(gate.history) == 2  # counts restart each epoch


def test_the_gate_is_open_during_warmup() -> None:
    gate = build_gate({"gate": "lgl", "gate_threshold": 1.0, "gate_warmup_epochs": 1.5, "margin_warmup_epochs": 0})
    for progress, kept in ((0.0, [True, True]), (1.4, [True, True]), (1.5, [True, False])):
        gate.set_progress(progress)
        assert gate.select(torch.tensor([0.5, 4.0]), torch.zeros(2, 3), torch.tensor([0, 1])).keep.tolist() == kept


def test_with_gate_full_margin_the_gate_waits_for_the_margin_and_dlg_fits_only_full_margin_losses() -> None:
    cfg = {"gate": "dlg_lc", "gate_warmup_epochs": 0, "margin_warmup_epochs": 2, "gate_full_margin": True}
    gate = build_gate(cfg)
    losses = torch.cat([torch.full((8,), 0.5), torch.full((4,), 9.0)]) + 0.01 * torch.arange(12.0)
    logits, labels = torch.zeros(12, 3), torch.zeros(12, dtype=torch.long)
    for epoch in range(2):  # margin warm-up: open, nothing recorded, no mixture
        gate.set_progress(float(epoch))
        assert gate.select(losses, logits, labels).keep.all()
        assert gate.end_epoch() == {"kept_fraction": 1.0, "corrected_fraction": 0.0} and gate.mixture is None
    gate.set_progress(2.0)
    assert gate.select(losses, logits, labels).keep.all()  # no mixture yet: still open
    assert "threshold" in gate.end_epoch() and gate.mixture is not None  # fitted on the full-margin epoch
    gate.set_progress(3.0)
    assert gate.select(losses, logits, labels).keep.tolist() == [True] * 8 + [False] * 4
    off = build_gate({**cfg, "gate_full_margin": False})
    off.set_progress(0.0)
    off.select(losses, logits, labels)
    off.end_epoch()
    assert off.mixture is not None  # losses under the warming margin count


def test_bad_gate_settings_name_the_key() -> None:
    with pytest.raises(ValueError, match="'loss.classification.gate' must be one of none, lgl, dlg_lc, got 'coteaching'"):
        build_gate({"gate": "coteaching"})
    with pytest.raises(ValueError, match="'loss.classification.gate_threshold' must be a number > 0"):
        build_gate({"gate": "lgl", "gate_threshold": 0})
    with pytest.raises(ValueError, match=r"'loss.classification.dlg_correct_confidence' must be a number in \(0, 1\)"):
        build_gate({"gate": "dlg_lc", "dlg_correct_confidence": 1.0})
    with pytest.raises(ValueError, match="'loss.classification.gate_warmup_epochs' must be a number >= 0"):
        build_gate({"gate": "none", "gate_warmup_epochs": -1})


def test_mixture_posterior_and_threshold() -> None:
    rng = np.random.default_rng(0)
    losses = np.concatenate([rng.normal(1.0, 0.3, 700), rng.normal(8.0, 1.0, 300)])
    mix = fit_loss_mixture(rng.permutation(losses))
    assert mix["clean_mean"] == pytest.approx(1.0, abs=0.1) and mix["noisy_mean"] == pytest.approx(8.0, abs=0.2)
    assert mix["clean_weight"] == pytest.approx(0.7, abs=0.03)
    post = clean_posterior(torch.tensor([0.5, 1.0, 7.0, 12.0]), mix)
    assert post[0] > 0.99 and post[1] > 0.99 and post[2] < 0.01 and post[3] < 0.01
    cut = gate_threshold(mix, 0.5)
    assert mix["clean_mean"] < cut < mix["noisy_mean"]
    assert float(clean_posterior(torch.tensor([cut], dtype=torch.float64), mix)) == pytest.approx(0.5, abs=1e-6)
    assert fit_loss_mixture(np.ones(10)) is None and fit_loss_mixture(np.array([np.nan, 1.0])) is None


def test_dlg_lc_gates_with_last_epochs_mixture_and_corrects_confident_predictions() -> None:
    gate = _gate("dlg_lc", dlg_clean_posterior=0.5, dlg_correct_confidence=0.9)
    assert isinstance(gate, DynamicLossGate)
    logits = torch.tensor([[9.0, 0.0, 0.0], [0.0, 0.0, 9.0], [1.0, 1.1, 1.0], [0.0, 9.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 1])
    losses = torch.tensor([0.2, 7.0, 7.5, 8.0])
    first = gate.select(losses, logits, labels)
    assert first.keep.all() and not first.corrected.any()  # no epoch seen yet: open
    rng = np.random.default_rng(1)
    gate.observe(torch.from_numpy(np.concatenate([rng.normal(0.5, 0.2, 300), rng.normal(7.5, 0.5, 100)])).float())
    stats = gate.end_epoch()
    assert stats["clean_mean"] < stats["threshold"] < stats["noisy_mean"]
    sel = gate.select(losses, logits, labels)
    # 0: low loss, kept; 1: high loss, confident in class 2: corrected to 2; 2: high loss, unsure: dropped;
    # 3: high loss but confident in its own label 1: kept, not corrected
    assert sel.keep.tolist() == [True, True, False, True]
    assert sel.corrected.tolist() == [False, True, False, False] and sel.labels.tolist() == [0, 2, 1, 1]
    assert gate.end_epoch()["corrected_fraction"] == pytest.approx(1 / 4)


def test_gate_state_round_trip_is_strict() -> None:
    gate = _gate("dlg_lc")
    gate.select(torch.tensor([0.1, 5.0, 0.2, 6.0]), torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]))
    gate.end_epoch()
    gate.select(torch.tensor([0.3, 4.0]), torch.zeros(2, 2), torch.tensor([0, 1]))
    twin = _gate("dlg_lc")
    twin.load_state_dict(gate.state_dict())
    assert twin.mixture == gate.mixture and twin.counts == gate.counts and twin.history == gate.history
    assert torch.equal(torch.cat(twin.epoch_losses), torch.cat(gate.epoch_losses))
    with pytest.raises(ValueError, match="checkpoint has loss gate 'dlg_lc', this run has 'lgl'"):
        _gate("lgl").load_state_dict(gate.state_dict())


def _noisy_features(seed: int, classes: int = 8, per_class: int = 40, dim: int = 16, noise_rate: float = 0.25):
    """Separable class clusters whose labels are flipped to another class for ``noise_rate`` of the samples."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim))
    true = np.repeat(np.arange(classes), per_class)
    feats = centres[true] + 0.35 * rng.standard_normal((true.size, dim))
    flipped = rng.random(true.size) < noise_rate
    given = np.where(flipped, (true + rng.integers(1, classes, true.size)) % classes, true)
    return (torch.tensor(feats, dtype=torch.float32), torch.tensor(given), torch.tensor(true), torch.tensor(flipped))


@pytest.mark.parametrize("gate_cfg", [{"gate": "lgl", "gate_threshold": 3.0},
                                      {"gate": "dlg_lc"}], ids=["lgl", "dlg_lc"])
def test_gate_keeps_clean_samples_at_a_clearly_higher_rate_than_mislabelled_ones(gate_cfg: dict) -> None:
    torch.manual_seed(0)
    feats, given, true, flipped = _noisy_features(seed=3)
    cfg = {"name": "aam", "margin": 0.2, "scale": 32.0, "margin_warmup_epochs": 0, "gate_warmup_epochs": 2,
           **gate_cfg}
    head = build_classification_loss(cfg, feats.shape[1], int(true.max()) + 1)
    gate = build_gate(cfg)
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    epochs, batch = 8, 32
    for epoch in range(epochs):
        order = torch.randperm(len(given))
        keep_all, corrected_all, idx_all, labels_all = [], [], [], []
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            gate.set_progress(epoch + start / len(order))
            losses, logits = head.per_sample(feats[idx], given[idx])
            sel = gate.select(losses, logits, given[idx])
            if sel.corrected.any():
                losses, _ = head.per_sample(feats[idx], sel.labels)
            keep = sel.keep.float()
            loss = (losses * keep).sum() / keep.sum().clamp(min=1.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            keep_all.append(sel.keep)
            corrected_all.append(sel.corrected)
            idx_all.append(idx)
            labels_all.append(sel.labels)
        gate.end_epoch()
    keep, idx, corrected = torch.cat(keep_all), torch.cat(idx_all), torch.cat(corrected_all)
    as_labelled = keep & ~corrected  # trains with the label it was given (last epoch)
    clean_rate = as_labelled[~flipped[idx]].float().mean().item()
    noisy_rate = as_labelled[flipped[idx]].float().mean().item()
    assert clean_rate > 0.9 and noisy_rate < clean_rate - 0.5, (clean_rate, noisy_rate)
    assert gate.history[-1]["kept_fraction"] == pytest.approx(keep.float().mean().item())
    assert gate.history[-1]["corrected_fraction"] == pytest.approx(corrected.float().mean().item())
    assert gate.history[0]["kept_fraction"] == 1.0  # warm-up epoch: open
    if gate.name == "dlg_lc":  # the corrections it makes are mostly right
        fixed = torch.cat(labels_all)[corrected] == true[idx][corrected]
        assert corrected.sum() > 0.3 * flipped.sum() and fixed.float().mean() > 0.9, (int(corrected.sum()), fixed)
    else:
        assert not corrected.any() and math.isclose(gate.history[-1]["corrected_fraction"], 0.0)
