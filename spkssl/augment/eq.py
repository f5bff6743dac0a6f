"""Equaliser tilt: a spectral slope of some dB per octave around 1 kHz, in numpy and in torch.

One channel property that differs from microphone to microphone and room to room is
the overall slope of the spectrum.  :func:`tilt` applies a slope to one signal (the
cross-channel test condition, :mod:`spkssl.data.channel`); :func:`tilt_batch` applies a
slope per row of a batch (the ``augment.eq_prob`` training augmentation), both with the
gain :func:`tilt_gain_db` gives each frequency, and both keep the signal's RMS level.

Example:
    >>> import numpy as np
    >>> tilt_gain_db(np.array([250.0, 1000.0, 4000.0]), 3.0).tolist()
    [-6.0, 0.0, 6.0]
"""
from __future__ import annotations

import numpy as np
import torch

MAX_EQ_DB = 15.0  # the gain is clipped to +- this many dB
LOWEST_HZ = 50.0  # below this the gain stays at its 50 Hz value


def tilt_gain_db(freqs: np.ndarray | torch.Tensor, db_per_octave: float | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Gain in dB at ``freqs`` (Hz) of a tilt of ``db_per_octave`` around 1 kHz, clipped to +- :data:`MAX_EQ_DB`."""
    if isinstance(freqs, torch.Tensor):
        octaves = torch.log2(freqs.clamp_min(LOWEST_HZ) / 1000.0)
        return (db_per_octave * octaves).clamp(-MAX_EQ_DB, MAX_EQ_DB)
    return np.clip(db_per_octave * np.log2(np.maximum(freqs, LOWEST_HZ) / 1000.0), -MAX_EQ_DB, MAX_EQ_DB)


def tilt(x: np.ndarray, sr: int, db_per_octave: float) -> np.ndarray:
    """1-D ``x`` with a tilt of ``db_per_octave`` (same length and RMS level, float64)."""
    x = np.asarray(x, dtype=np.float64)
    gain = 10.0 ** (tilt_gain_db(np.fft.rfftfreq(x.size, 1.0 / sr), db_per_octave) / 20.0)
    y = np.fft.irfft(np.fft.rfft(x) * gain, n=x.size)
    return y * _level(x) / (_level(y) or 1.0)


def _level(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def tilt_batch(wave: torch.Tensor, db_per_octave: torch.Tensor, sr: int) -> torch.Tensor:
    """Each row of ``wave`` ``[N, L]`` with its own tilt ``db_per_octave`` ``[N]`` (0: unchanged); RMS kept."""
    n, length = wave.shape
    x = wave.float()
    freqs = torch.fft.rfftfreq(length, 1.0 / sr, device=wave.device)
    gain = 10.0 ** (tilt_gain_db(freqs[None, :], db_per_octave.float()[:, None]) / 20.0)
    y = torch.fft.irfft(torch.fft.rfft(x, dim=1) * gain, n=length, dim=1)
    rms_x, rms_y = x.pow(2).mean(dim=1).sqrt(), y.pow(2).mean(dim=1).sqrt()
    y = y * torch.where(rms_y > 1e-12, rms_x / rms_y.clamp_min(1e-12), torch.ones_like(rms_x))[:, None]
    return torch.where((db_per_octave != 0)[:, None], y, x).to(wave.dtype)
