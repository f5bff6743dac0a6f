"""Recording-channel filters and background noise for the synthetic corpus.

Closed-form RBJ-cookbook biquads (no general-purpose filter design in the
per-utterance path, where ``scipy.signal.butter`` alone cost a millisecond), a
random channel built from them, and 1/f^beta coloured noise.

Example:
    >>> import numpy as np
    >>> butterworth_sos(2, 100.0, "highpass", 16000).shape
    (1, 6)
    >>> coloured_noise(np.random.default_rng(0), 100, 1.0).shape
    (100,)
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from spkssl.synth.variation import UtteranceConfig


def _biquad(kind: str, freq: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    """One RBJ-cookbook biquad as an sos row.

    ``kind`` is ``lowpass``, ``highpass``, ``bandpass`` (0 dB peak), ``peak``, ``lowshelf`` or
    ``highshelf``; ``gain_db`` only matters for the last three.
    """
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sr
    cw, alpha = np.cos(w0), np.sin(w0) / (2.0 * q)
    if kind in ("lowpass", "highpass"):
        edge = (1.0 - cw) / 2.0 if kind == "lowpass" else (1.0 + cw) / 2.0
        b = [edge, (2.0 * edge) if kind == "lowpass" else (-2.0 * edge), edge]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "bandpass":  # constant 0 dB peak gain; gain_db unused
        b = [alpha, 0.0, -alpha]
        a = [1 + alpha, -2 * cw, 1 - alpha]
    elif kind == "peak":
        b = [1 + alpha * amp, -2 * cw, 1 - alpha * amp]
        a = [1 + alpha / amp, -2 * cw, 1 - alpha / amp]
    else:
        sq = 2.0 * np.sqrt(amp) * alpha
        sign = 1.0 if kind == "lowshelf" else -1.0
        b = [amp * ((amp + 1) - sign * (amp - 1) * cw + sq),
             sign * 2 * amp * ((amp - 1) - sign * (amp + 1) * cw),
             amp * ((amp + 1) - sign * (amp - 1) * cw - sq)]
        a = [(amp + 1) + sign * (amp - 1) * cw + sq,
             -sign * 2 * ((amp - 1) + sign * (amp + 1) * cw),
             (amp + 1) + sign * (amp - 1) * cw - sq]
    return np.concatenate([np.array(b) / a[0], np.array(a) / a[0]])


def butterworth_sos(order: int, freq: float, kind: str, sr: int) -> np.ndarray:
    """An even-order Butterworth ``lowpass``/``highpass`` as RBJ biquads (bilinear, prewarped).

    The same filter as ``scipy.signal.butter(order, freq / (sr / 2), kind, output="sos")``
    (section order aside), without its general-purpose pole/zero machinery, which costs
    about a millisecond per call.

    Example:
        >>> butterworth_sos(4, 4000.0, "lowpass", 16000).shape
        (2, 6)
    """
    if order < 2 or order % 2:
        raise ValueError(f"Butterworth order must be even and >= 2, got {order}")
    qs = [1.0 / (2.0 * np.cos(np.pi * (2 * k + 1) / (2 * order))) for k in range(order // 2)]
    return np.stack([_biquad(kind, freq, 0.0, q, sr) for q in qs])


def random_channel(rng: np.random.Generator, sr: int, cfg: UtteranceConfig) -> np.ndarray:
    """A random recording channel as second-order sections: band limits, peaks and a shelf.

    ``cfg`` gives the ranges (``highpass_hz``, ``lowpass_hz``, ``num_eq_bands``, ``eq_gain_db``).

    Example:
        >>> from spkssl.synth.variation import UtteranceConfig
        >>> random_channel(np.random.default_rng(0), 16000, UtteranceConfig()).shape[1]
        6
    """
    nyq = sr / 2.0
    hp = rng.uniform(*cfg.highpass_hz)
    lp = min(rng.uniform(*cfg.lowpass_hz), 0.95 * nyq)
    rows = [butterworth_sos(2, hp, "highpass", sr), butterworth_sos(4, lp, "lowpass", sr)]
    g = cfg.eq_gain_db
    for _ in range(int(rng.integers(cfg.num_eq_bands[0], cfg.num_eq_bands[1] + 1))):
        freq = float(np.exp(rng.uniform(np.log(150.0), np.log(min(6000.0, 0.8 * nyq)))))
        rows.append(_biquad("peak", freq, rng.uniform(-g, g), rng.uniform(0.5, 2.5), sr)[None])
    kind = "lowshelf" if rng.random() < 0.5 else "highshelf"
    freq = rng.uniform(200.0, 600.0) if kind == "lowshelf" else rng.uniform(2000.0, min(5000.0, 0.8 * nyq))
    rows.append(_biquad(kind, freq, rng.uniform(-0.6 * g, 0.6 * g), 0.707, sr)[None])
    return np.concatenate(rows, axis=0)


def coloured_noise(rng: np.random.Generator, n: int, beta: float) -> np.ndarray:
    """Unit-RMS float32 noise with power spectrum ~ 1/f^beta (0 white, 1 pink, 2 brown).

    Drawn as a random-phase Gaussian spectrum of a fast FFT length >= ``n`` and
    cropped to ``n`` samples (an odd or prime ``n`` would make the FFT slow).

    Example:
        >>> x = coloured_noise(np.random.default_rng(0), 1000, 1.0)
        >>> x.dtype, round(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 5)
        (dtype('float32'), 1.0)
    """
    n_fft = scipy.fft.next_fast_len(n, real=True)
    spec = rng.standard_normal((2, n_fft // 2 + 1), np.float32)
    f = np.arange(n_fft // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    shape = (f ** (-beta / 2.0)).astype(np.float32)
    x = scipy.fft.irfft((spec[0] + 1j * spec[1]) * shape, n_fft)[:n]
    return x / np.float32(np.sqrt(np.mean(x * x, dtype=np.float64)) + 1e-12)
