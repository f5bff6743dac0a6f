"""Batched augmentation (torch) against the per-segment numpy one, and the statistics of the drawn choices."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spkssl.augment.augment import AugmentDraw, Augmentor, load_sources
from spkssl.augment.batched import augment_batch, collate_draws, fast_fft_length
from spkssl.config import section_defaults
from tests.training.conftest import make_sources

L = 16000


def _draws(augmentor: Augmentor, n: int, seed: int = 0) -> list[AugmentDraw]:
    rng = np.random.default_rng(seed)
    return [augmentor.draw(L, rng) for _ in range(n)]


@pytest.fixture(scope="module")
def augmentor(tmp_path_factory) -> Augmentor:
    return Augmentor(load_sources(make_sources(tmp_path_factory.mktemp("aug"))), section_defaults("augment"), 16000)


def test_batch_equals_one_segment_at_a_time(augmentor: Augmentor) -> None:
    draws = _draws(augmentor, 64)
    assert any(d.rir is not None for d in draws) and any(d.noise is not None for d in draws)
    wave = np.random.default_rng(1).standard_normal((64, L)).astype(np.float32) * 0.1
    ref = np.stack([augmentor.apply(w, d) for w, d in zip(wave, draws)])
    out = augment_batch(torch.from_numpy(wave), collate_draws(draws, L)).numpy()
    assert np.abs(out - ref).max() < 1e-5 * np.abs(ref).max()


def test_the_equaliser_tilt_is_the_same_in_a_batch_and_one_at_a_time_and_off_by_default(tmp_path: Path) -> None:
    sources = load_sources(make_sources(tmp_path))
    off = _draws(Augmentor(sources, section_defaults("augment"), 16000), 200, seed=3)
    assert all(d.eq_db == 0.0 for d in off)
    eq = Augmentor(sources, {**section_defaults("augment"), "eq_prob": 0.5, "eq_tilt": [-3.0, 3.0]}, 16000)
    draws = _draws(eq, 200, seed=3)
    tilted = np.array([d.eq_db for d in draws if d.eq_db != 0.0])
    assert 0.35 < tilted.size / 200 < 0.65 and tilted.min() >= -3.0 and tilted.max() <= 3.0
    wave = np.random.default_rng(2).standard_normal((200, L)).astype(np.float32) * 0.1
    ref = np.stack([eq.apply(w, d) for w, d in zip(wave, draws)])
    out = augment_batch(torch.from_numpy(wave), collate_draws(draws, L)).numpy()
    assert np.abs(out - ref).max() < 1e-4 * np.abs(ref).max()
    only = [AugmentDraw(eq_db=6.0), AugmentDraw()]
    flat = np.random.default_rng(4).standard_normal((2, L)).astype(np.float32)
    y = augment_batch(torch.from_numpy(flat), collate_draws(only, L)).numpy()
    spec = np.abs(np.fft.rfft(y[0])) / np.abs(np.fft.rfft(flat[0]))
    f = np.fft.rfftfreq(L, 1 / 16000)
    ratio_db = 20 * np.log10(np.median(spec[(f > 3800) & (f < 4200)]) / np.median(spec[(f > 950) & (f < 1050)]))
    assert abs(ratio_db - 12.0) < 0.5 and np.array_equal(y[1], flat[1])  # +6 dB/octave over 2 octaves


def test_the_drawn_choices_follow_the_configured_distributions(augmentor: Augmentor) -> None:
    """Today's distributions (augment.yaml): reverb 0.3; noise/music/babble 0.2 each at their SNR ranges."""
    cfg = section_defaults("augment")
    draws = _draws(augmentor, 4000, seed=7)
    n = len(draws)
    reverb = np.mean([d.rir is not None for d in draws])
    assert abs(reverb - cfg["reverb_prob"]) < 4 * np.sqrt(0.3 * 0.7 / n)
    for kind in ("noise", "music", "babble"):
        snr = np.array([d.snr_db for d in draws if d.additive == kind])
        p = cfg[f"{kind}_prob"]
        assert abs(len(snr) / n - p) < 4 * np.sqrt(p * (1 - p) / n), kind
        lo, hi = cfg[f"{kind}_snr"]
        assert lo <= snr.min() and snr.max() <= hi, kind
        assert abs(snr.mean() - (lo + hi) / 2) < 4 * (hi - lo) / np.sqrt(12 * len(snr)), kind  # uniform
    assert all(d.noise is None for d in draws if d.additive is None)


def test_the_applied_snr_is_the_drawn_one(augmentor: Augmentor) -> None:
    draws = [d for d in _draws(augmentor, 200, seed=3) if d.noise is not None][:32]
    wave = torch.randn(len(draws), L) * 0.05
    batch = collate_draws(draws, L)
    out = augment_batch(wave, batch)
    reverbed = augment_batch(wave, collate_draws([AugmentDraw(rir=d.rir) for d in draws], L))
    snr = 10 * torch.log10(reverbed.pow(2).mean(1) / (out - reverbed).pow(2).mean(1))
    assert torch.allclose(snr, batch.snr_db, atol=1e-3)


def test_reverberation_keeps_length_level_and_alignment() -> None:
    rir = np.zeros(800, np.float32)
    rir[100] = 1.0  # a pure delay: aligned on its peak, the output is the input
    wave = torch.randn(2, L)
    out = augment_batch(wave, collate_draws([AugmentDraw(rir=rir), AugmentDraw()], L))
    assert out.shape == wave.shape and torch.allclose(out, wave, atol=1e-5)
    assert fast_fft_length(L + 799) >= L + 799
