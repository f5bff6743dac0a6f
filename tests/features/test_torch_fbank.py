"""torch-fbank: same frames as kaldi-native-fbank, values within the stated tolerance, extractor plumbing."""
from __future__ import annotations

import os
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import pytest
import soundfile as sf
import torch

from spkssl.features.extractor import TorchFbank
from spkssl.features.fbank import INT16_SCALE, compute_fbank, fbank_options
from spkssl.features.torch_fbank import (
    fbank_plan, frames_view, kaldi_tolerance, resolve_fbank_cfg, torch_fbank, torch_fbank_batch,
)
from spkssl.synth.utterance import synthesize_utterance
from spkssl.synth.voice import sample_voice
from tests.conftest import SHARED_CORPUS

OPTION_SETS = [
    {},
    {"snip_edges": True},
    {"num_mel_bins": 40},
    {"num_mel_bins": 64, "window_type": "hanning"},
    {"window_type": "hamming", "preemph_coeff": 0.0, "remove_dc_offset": False},
    {"frame_length_ms": 20.0, "frame_shift_ms": 7.5, "low_freq": 100.0, "high_freq": -400.0},
    {"window_type": "blackman", "high_freq": 7000.0},
    {"window_type": "rectangular", "snip_edges": True, "num_mel_bins": 23},
]


def knf_direct(x: np.ndarray, cfg: dict, sr: int = 16000) -> np.ndarray:
    """kaldi-native-fbank called directly on the int16-scaled waveform."""
    fb = knf.OnlineFbank(fbank_options({**cfg, "sampling_rate": sr}))
    fb.accept_waveform(float(sr), (np.asarray(x, np.float32) * np.float32(INT16_SCALE)).tolist())
    fb.input_finished()
    n = fb.num_frames_ready
    dim = fbank_plan({**cfg, "sampling_rate": sr}).num_mel_bins
    return np.array([fb.get_frame(i) for i in range(n)], dtype=np.float32).reshape(n, dim)


def naive_frames(x: np.ndarray, cfg: dict) -> np.ndarray:
    """Kaldi ExtractWindow, one frame at a time (the reference for framing and frame energy)."""
    plan = fbank_plan(cfg)
    n = len(x)
    out = []
    for t in range(plan.num_frames(n)):
        start = t * plan.shift if plan.snip_edges else t * plan.shift + plan.shift // 2 - plan.window_size // 2
        frame = []
        for s in range(start, start + plan.window_size):
            while s < 0 or s >= n:
                s = -s - 1 if s < 0 else 2 * n - 1 - s
            frame.append(x[s])
        out.append(frame)
    return np.asarray(out, dtype=np.float64).reshape(-1, plan.window_size)


def assert_within_tolerance(x: np.ndarray, cfg: dict, sr: int = 16000) -> None:
    ours, ref = torch_fbank(x, sr, {**cfg, "sampling_rate": sr}), knf_direct(x, cfg, sr)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    if ref.size == 0:
        return
    frames = naive_frames(np.asarray(x, np.float64) * INT16_SCALE, {**cfg, "sampling_rate": sr})
    energy = np.log(np.maximum((frames ** 2).sum(axis=1), 1e-30))
    tol = kaldi_tolerance(ref.astype(np.float64), energy)
    diff = np.abs(ours.astype(np.float64) - ref)
    assert (diff <= tol).all(), f"max excess {np.max(diff - tol):.3g} at {np.unravel_index(np.argmax(diff - tol), diff.shape)}"
    assert np.median(tol) < 1e-3  # the check is not vacuous


def _speech_like(seed: int, seconds: float = 1.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return synthesize_utterance(sample_voice(rng, f"spk{seed}"), rng, seconds, 16000)


@pytest.mark.parametrize("cfg", OPTION_SETS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_matches_knf_on_speech_like_and_noise(cfg):
    rng = np.random.default_rng(1)
    for x in (_speech_like(0), _speech_like(1, 0.7),
              rng.uniform(-0.5, 0.5, 16123).astype(np.float32),
              (0.01 * rng.normal(size=5000)).astype(np.float32),
              np.r_[np.zeros(2000), 1e-3 * rng.normal(size=3000)].astype(np.float32)):
        assert_within_tolerance(x, cfg)


def _corpus() -> Path | None:
    for root in (SHARED_CORPUS, Path(os.environ.get("SPKSSL_SPEECHOCEAN762", "/nonexistent"))):
        if (root / "test" / "wav.scp").is_file():
            return root
    return None


@pytest.mark.skipif(_corpus() is None, reason="speechocean762 not found (set SPKSSL_SPEECHOCEAN762)")
@pytest.mark.parametrize("cfg", [{}, {"snip_edges": True, "num_mel_bins": 40}])
def test_matches_knf_on_real_speech(cfg):
    root = _corpus()
    for line in (root / "test" / "wav.scp").read_text().splitlines()[:8]:
        x, sr = sf.read(root / line.split()[1], dtype="float32")
        assert_within_tolerance(x, cfg, sr)


@pytest.mark.parametrize("snip", [False, True])
@pytest.mark.parametrize("n", [0, 1, 10, 79, 80, 159, 160, 240, 399, 400, 401, 561, 1000])
def test_short_inputs_frame_like_kaldi(n, snip):
    x = np.random.default_rng(n).uniform(-0.3, 0.3, n).astype(np.float32)
    cfg = {"snip_edges": snip}
    assert_within_tolerance(x, cfg)
    got = frames_view(torch.from_numpy(x.astype(np.float64)), fbank_plan(cfg)).numpy()
    np.testing.assert_array_equal(got, naive_frames(x.astype(np.float64), cfg))


def test_8khz_config():
    x = _speech_like(3)[::2].copy()
    assert_within_tolerance(x, {"num_mel_bins": 40, "high_freq": 3800.0}, sr=8000)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(4)
    batch = [rng.uniform(-0.4, 0.4, n).astype(np.float32) for n in (0, 300, 16000, 40000, 1234)] * 30
    together = torch_fbank_batch(batch, 16000)
    assert len(together) == len(batch)
    for x, feats in zip(batch, together):
        alone = torch_fbank(x, 16000)
        assert feats.shape == alone.shape and feats.flags["C_CONTIGUOUS"]
        np.testing.assert_allclose(feats, alone, rtol=0, atol=1e-5)


def test_dither_is_seeded_noise():
    x = np.zeros(8000, dtype=np.float32)
    cfg = {"dither": 1.0}
    a = torch_fbank(x, 16000, cfg, generator=torch.Generator().manual_seed(0))
    b = torch_fbank(x, 16000, cfg, generator=torch.Generator().manual_seed(0))
    c = torch_fbank(x, 16000, cfg, generator=torch.Generator().manual_seed(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # unit-variance dither on silence: band energies far above the log floor (-15.9)
    assert a.min() > -10.0 and torch_fbank(x, 16000).max() < -15.0


def test_errors_and_defaults():
    with pytest.raises(ValueError, match="8000 Hz"):
        torch_fbank(np.zeros(1600, np.float32), 8000)
    with pytest.raises(ValueError, match="unknown fbank option"):
        torch_fbank(np.zeros(1600, np.float32), 16000, {"num_bins": 40})
    cfg = resolve_fbank_cfg({"cmn": False})
    assert "cmn" not in cfg and cfg["num_mel_bins"] == 80


def test_extractor_batch():
    """(Registry and round trip: tests/features/test_extractor.py, for both extractors.)"""
    ext = TorchFbank.from_config({"num_mel_bins": 40, "frame_shift_ms": 20.0})
    rng = np.random.default_rng(5)
    waves = [rng.uniform(-0.5, 0.5, n).astype(np.float32) for n in (4000, 16000)]
    single = [ext.extract(w[None, :], 16000) for w in waves]
    batch = ext.extract_batch(waves, 16000)
    for a, b in zip(single, batch):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    as_torch = ext.extract_batch([torch.from_numpy(w) for w in waves], 16000)
    assert all(isinstance(t, torch.Tensor) for t in as_torch)
    with pytest.raises(ValueError, match="torch-fbank expects mono"):
        ext.extract(np.zeros((2, 100), np.float32), 16000)


def test_compute_fbank_stays_bit_exact_with_knf():
    x = np.random.default_rng(6).uniform(-0.5, 0.5, 12345).astype(np.float32)
    for cfg in ({}, {"snip_edges": True, "num_mel_bins": 40}):
        np.testing.assert_array_equal(compute_fbank(x, 16000, cfg), knf_direct(x, cfg))
