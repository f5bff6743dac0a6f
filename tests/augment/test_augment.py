"""Augmentor: lengths, exact SNR, reverberation alignment, config validation, source caching."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from spkssl.augment.augment import (
    AugmentError, Augmentor, add_noise_at_snr, fit_length, load_sources, reverberate,
)
from spkssl.config import ConfigError, load_defaults, with_defaults
from tests.training.conftest import make_sources


def _snr(clean: np.ndarray, noisy: np.ndarray) -> float:
    noise = noisy.astype(np.float64) - clean
    return float(10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2)))


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.5, 20.0])
def test_add_noise_hits_requested_snr(rng: np.random.Generator, snr: float) -> None:
    speech = np.sin(np.arange(8000) * 0.05).astype(np.float32)
    noise = 3.0 * rng.standard_normal(8000)
    out = add_noise_at_snr(speech, noise, snr)
    assert out.shape == speech.shape and out.dtype == np.float32
    assert _snr(speech, out) == pytest.approx(snr, abs=1e-3)


def test_add_noise_silent_and_shape_errors() -> None:
    speech = np.ones(10, np.float32)
    assert np.array_equal(add_noise_at_snr(speech, np.zeros(10), 5.0), speech)
    with pytest.raises(AugmentError, match="differ in shape"):
        add_noise_at_snr(speech, np.ones(9), 5.0)


def test_fit_length_crops_and_loops(rng: np.random.Generator) -> None:
    x = np.arange(10, dtype=np.float32)
    assert fit_length(x, 4, rng).shape == (4,)
    looped = fit_length(x, 25, rng)
    assert looped.shape == (25,)
    assert np.all(np.diff(looped)[np.diff(looped) != -9] == 1)  # consecutive samples, wrapping 9 -> 0
    with pytest.raises(AugmentError):
        fit_length(np.zeros(0), 3, rng)


def test_reverberate_is_aligned_and_level_preserving(rng: np.random.Generator) -> None:
    speech = rng.standard_normal(4000).astype(np.float32)
    rir = np.zeros(800)
    rir[100] = 1.0  # pure delayed direct path: output must equal the input
    assert np.allclose(reverberate(speech, rir), speech, atol=1e-5)
    rir[100:] += 0.3 * rng.standard_normal(700) * np.exp(-np.arange(700) / 100)
    out = reverberate(speech, rir)
    assert out.shape == speech.shape
    assert np.sqrt(np.mean(out**2)) == pytest.approx(np.sqrt(np.mean(speech**2)), rel=1e-4)
    assert np.corrcoef(out, speech)[0, 1] > 0.5  # still aligned on the direct path
    with pytest.raises(AugmentError, match="all zeros"):
        reverberate(speech, np.zeros(10))


def test_augmentor_keeps_length_and_changes_signal(tmp_path: Path) -> None:
    sources = load_sources(make_sources(tmp_path))
    assert set(sources) == {"noise", "music", "babble", "rir"}
    cfg = load_defaults()["augment"]
    aug = Augmentor(sources, cfg, 16000)
    speech = np.sin(np.arange(12000) * 0.03).astype(np.float32)
    changed = 0
    for seed in range(20):
        out = aug(speech, np.random.default_rng(seed))
        assert out.shape == speech.shape and out.dtype == np.float32 and np.all(np.isfinite(out))
        changed += not np.allclose(out, speech)
    assert 5 <= changed < 20  # default probabilities: most but not all segments are augmented
    assert len(aug._cache) > 0  # sources loaded once and cached
    # Same rng seed → same augmentation (reproducible across workers and resumes).
    assert np.array_equal(aug(speech, np.random.default_rng(3)), aug(speech, np.random.default_rng(3)))


def test_augmentor_only_noise_hits_configured_snr(tmp_path: Path) -> None:
    sources = load_sources(make_sources(tmp_path))
    cfg = {**load_defaults()["augment"], "noise_prob": 1.0, "music_prob": 0.0, "babble_prob": 0.0,
           "reverb_prob": 0.0, "noise_snr": [10, 10]}
    speech = np.sin(np.arange(12000) * 0.03).astype(np.float32)
    out = Augmentor(sources, cfg, 16000)(speech, np.random.default_rng(0))
    assert _snr(speech, out) == pytest.approx(10.0, abs=1e-3)


def test_augmentor_without_sources_or_disabled_is_identity() -> None:
    speech = np.random.default_rng(0).standard_normal(500).astype(np.float32)
    disabled = with_defaults("augment", {"enabled": False})
    for aug in (Augmentor({}, load_defaults()["augment"], 16000), Augmentor({}, disabled, 16000)):
        assert np.array_equal(aug(speech, np.random.default_rng(1)), speech)


def test_augmentor_rejects_bad_config(tmp_path: Path) -> None:
    base = load_defaults()["augment"]
    with pytest.raises(AugmentError, match="sum to"):
        Augmentor({}, {**base, "noise_prob": 0.6, "music_prob": 0.6}, 16000)
    with pytest.raises(ConfigError, match=r"config key 'augment.music_snr' must be a \[low, high\] pair"):
        with_defaults("augment", {**base, "music_snr": [15, 5]})  # the spec in spkssl/configs/augment.yaml says so
    with pytest.raises(AugmentError, match="not found"):
        load_sources(tmp_path / "missing")
    with pytest.raises(AugmentError, match="unknown augmentation source"):
        Augmentor({"wind": copy.deepcopy(load_sources(make_sources(tmp_path))["noise"])}, base, 16000)
