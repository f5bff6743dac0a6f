"""Tests for spkssl.synth.channel: closed-form filters, random channels, coloured noise."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from spkssl.synth.channel import butterworth_sos, coloured_noise, random_channel
from spkssl.synth.utterance import UtteranceConfig

SR = 16000


def test_channel_is_stable_and_noise_colour(rng: np.random.Generator) -> None:
    for seed in range(20):
        sos = random_channel(np.random.default_rng(seed), SR, UtteranceConfig())
        _, poles, _ = signal.sos2zpk(sos)
        assert np.all(np.abs(poles) < 1.0)
    white, brown = coloured_noise(rng, 16000, 0.0), coloured_noise(rng, 16000, 2.0)
    low = lambda x: np.sum(np.abs(np.fft.rfft(x))[1:400] ** 2) / np.sum(np.abs(np.fft.rfft(x)) ** 2)  # noqa: E731
    assert low(brown) > 5 * low(white)


@pytest.mark.parametrize("order, freq, kind", [(2, 50.0, "highpass"), (2, 300.0, "highpass"),
                                               (4, 4000.0, "lowpass"), (4, 7600.0, "lowpass")])
def test_butterworth_sos_matches_scipy(order: int, freq: float, kind: str) -> None:
    _, ours = signal.sosfreqz(butterworth_sos(order, freq, kind, SR), 2048)
    _, ref = signal.sosfreqz(signal.butter(order, freq / (SR / 2), kind, output="sos"), 2048)
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    with pytest.raises(ValueError, match="order"):
        butterworth_sos(3, freq, kind, SR)


def test_coloured_noise_is_unit_rms_float32_any_length(rng: np.random.Generator) -> None:
    for n in (1, 997, 16001):
        x = coloured_noise(rng, n, 1.0)
        assert x.shape == (n,) and x.dtype == np.float32
        assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-5)
