"""Tests for spkssl.synth.utterance: signal sanity, determinism, F0 inside the speaker's range."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from spkssl.synth.utterance import (
    UtteranceConfig,
    _frication,
    _upsample,
    _vocal_tract,
    synthesize_utterance,
)
from spkssl.synth.voice import Voice, sample_voice

SR = 16000


def estimate_f0(x: np.ndarray, sr: int = SR, fmin: float = 60.0, fmax: float = 500.0) -> float:
    """Median F0 over the most periodic frames, by (biased) normalised autocorrelation.

    The biased estimate decays with lag, which keeps the argmax off period multiples.
    """
    frame, hop = int(0.04 * sr), int(0.01 * sr)
    lo, hi = int(sr / fmax), int(sr / fmin)
    f0s, strengths = [], []
    for start in range(0, len(x) - frame, hop):
        seg = x[start : start + frame].astype(np.float64)
        seg = seg - seg.mean()
        energy = float(seg @ seg)
        if energy <= 0:
            continue
        ac = np.correlate(seg, seg, "full")[frame - 1 :] / energy
        lag = lo + int(np.argmax(ac[lo:hi]))
        f0s.append(sr / lag)
        strengths.append(ac[lag])
    order = np.argsort(strengths)[::-1][: max(5, len(f0s) // 5)]
    return float(np.median(np.asarray(f0s)[order]))


def voice_with(f0_mean: float, **kw: float) -> Voice:
    base = sample_voice(np.random.default_rng(7), "spk0001")
    fields = {**base.__dict__, "f0_mean": f0_mean, **kw}
    return Voice(**fields)


def test_shape_dtype_level_and_determinism() -> None:
    v = sample_voice(np.random.default_rng(1), "spk0001")
    x = synthesize_utterance(v, np.random.default_rng(5), 1.5, SR)
    y = synthesize_utterance(v, np.random.default_rng(5), 1.5, SR)
    z = synthesize_utterance(v, np.random.default_rng(6), 1.5, SR)
    assert x.shape == (24000,) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.max(np.abs(x)) <= 0.99 + 1e-6
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) > 1e-3
    np.testing.assert_array_equal(x, y)
    assert not np.allclose(x, z)


def test_bad_arguments_raise() -> None:
    v = sample_voice(np.random.default_rng(1), "spk0001")
    with pytest.raises(ValueError, match="duration"):
        synthesize_utterance(v, np.random.default_rng(0), 0.1, SR)
    with pytest.raises(ValueError, match="sampling rate"):
        synthesize_utterance(v, np.random.default_rng(0), 1.0, 4000)


def test_f0_stays_in_each_speakers_range_and_ranges_differ() -> None:
    low = voice_with(100.0, f0_range_st=3.0)
    high = voice_with(260.0, f0_range_st=3.0)
    assert low.f0_max < high.f0_min  # the two ranges do not overlap
    cfg = UtteranceConfig(snr_db=(20.0, 30.0))
    for voice, other in ((low, high), (high, low)):
        for seed in range(3):
            f0 = estimate_f0(synthesize_utterance(voice, np.random.default_rng(seed), 2.0, SR, cfg))
            assert voice.f0_min / 1.06 <= f0 <= voice.f0_max * 1.06, (voice.f0_mean, f0)
            assert not other.f0_min / 1.06 <= f0 <= other.f0_max * 1.06


FLAT_CHANNEL = UtteranceConfig(num_eq_bands=(0, 0), eq_gain_db=0.0, highpass_hz=(50.0, 60.0))


@pytest.mark.parametrize("seed", range(11, 19))
def test_f0_of_every_utterance_in_range_for_sampled_voices(seed: int) -> None:
    """Default noise, flat channel: every utterance's estimated F0 is in the speaker's range."""
    v = sample_voice(np.random.default_rng(seed), "spk0001")
    for u in range(3):
        x = synthesize_utterance(v, np.random.default_rng([seed, u]), 2.0, SR, FLAT_CHANNEL)
        f0 = estimate_f0(x)
        assert v.f0_min / 1.06 <= f0 <= v.f0_max * 1.06, (v.voice_class, v.f0_min, v.f0_max, f0)


def test_f0_mostly_in_range_with_default_channel() -> None:
    """Random channels can remove the fundamental, so allow rare octave errors of the estimator."""
    hits = total = 0
    for seed in range(11, 15):
        v = sample_voice(np.random.default_rng(seed), "spk0001")
        for u in range(4):
            f0 = estimate_f0(synthesize_utterance(v, np.random.default_rng([seed, u]), 2.0, SR))
            hits += v.f0_min / 1.06 <= f0 <= v.f0_max * 1.06
            total += 1
    assert hits >= 0.8 * total, (hits, total)


def test_vocal_tract_matches_recursive_filter_for_constant_formants(rng: np.random.Generator) -> None:
    x = rng.standard_normal(8000)
    formants = np.tile([500.0, 1500.0, 2500.0, 3500.0], (400, 1))
    bandwidths = np.tile([60.0, 90.0, 120.0, 200.0], (400, 1))
    r = np.exp(-np.pi * bandwidths[0] / SR)
    b, c = 2 * r * np.cos(2 * np.pi * formants[0] / SR), -(r**2)
    sos = np.zeros((4, 6))
    sos[:, 0], sos[:, 3], sos[:, 4], sos[:, 5] = 1 - b - c, 1.0, -b, -c
    ref = signal.sosfilt(sos, x)
    out = _vocal_tract(x, formants, bandwidths, SR)
    assert np.max(np.abs(out - ref)) < 1e-3 * np.max(np.abs(ref))




@pytest.mark.parametrize("hop, n", [(80, 800), (80, 803), (7, 50), (1, 5)])
def test_upsample_matches_np_interp(hop: int, n: int, rng: np.random.Generator) -> None:
    track = rng.standard_normal(-(-n // hop))
    ref = np.interp(np.arange(n), (np.arange(len(track)) + 0.5) * hop, track)
    np.testing.assert_allclose(_upsample(track, hop, n), ref, atol=1e-12)


def test_vocal_tract_skips_silence_and_tracks_formant_changes(rng: np.random.Generator) -> None:
    x = np.zeros(16000, np.float32)
    x[4000:12000] = rng.standard_normal(8000)
    formants = np.tile([500.0, 1500.0, 2500.0, 3500.0], (200, 1))
    formants[100:] = [300.0, 2200.0, 3000.0, 3600.0]
    bandwidths = np.tile([60.0, 90.0, 120.0, 200.0], (200, 1))
    y = _vocal_tract(x, formants, bandwidths, SR)
    assert y.dtype == np.float32 and np.all(y[:3000] == 0.0)
    assert np.max(np.abs(y[13500:])) < 1e-3 * np.max(np.abs(y))  # only the resonators' tail
    spec = lambda seg: np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2  # noqa: E731
    first, second = spec(y[5000:7000]), spec(y[9000:11000])
    f1 = lambda p: np.argmax(p[: 800 * len(p) // (SR // 2)]) * (SR / 2) / len(p)  # noqa: E731
    assert abs(f1(first) - 500.0) < 120.0 and abs(f1(second) - 300.0) < 120.0


def test_frication_segments_are_placed_normalised_and_band_limited(rng: np.random.Generator) -> None:
    voice = sample_voice(np.random.default_rng(3), "spk0001")
    hop = 80
    segs = [(10, 30, 4000.0, 0.5), (50, 52, 2000.0, 0.8), (60, 61, 3000.0, 1.0)]
    out = _frication(segs, voice, rng, 8000, hop, SR)
    assert out.dtype == np.float32 and out.shape == (8000,)
    assert np.all(out[: 10 * hop] == 0.0) and np.all(out[30 * hop : 50 * hop] == 0.0)
    assert np.all(out[61 * hop :] == 0.0)
    seg = out[10 * hop : 30 * hop].astype(np.float64)
    centre = seg[160:-160]  # inside the raised-cosine edges
    assert 0.4 < np.sqrt(np.mean(centre**2)) < 0.6
    power = np.abs(np.fft.rfft(seg)) ** 2
    freqs = np.fft.rfftfreq(len(seg), 1 / SR)
    peak = np.sum(freqs * power) / np.sum(power)
    assert 2500.0 < peak < 6500.0
    assert not _frication([], voice, rng, 100, hop, SR).any()
