"""Generated additive sources: coloured noise (white / pink / brown) and "music"-like tone sequences.

Used where MUSAN is absent.  Coloured noise has a power spectral density
proportional to ``1 / f**exponent`` (0 white, 1 pink, 2 brown), shaped in the
frequency domain.  Music is a sequence of notes from a random diatonic scale,
each a harmonic tone (decaying overtones, attack/release envelope), sometimes
as two- or three-note chords.  All outputs are float32 with RMS ``0.1``.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = coloured_noise(16000, "pink", rng)
    >>> x.shape, round(float(np.sqrt(np.mean(x ** 2))), 3)
    ((16000,), 0.1)
"""
from __future__ import annotations

import numpy as np

COLOUR_EXPONENTS = {"white": 0.0, "pink": 1.0, "brown": 2.0}
TARGET_RMS = 0.1
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)


def _normalise(x: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x**2)))
    return (x * (TARGET_RMS / rms) if rms > 0 else x).astype(np.float32)


def coloured_noise(num_samples: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with PSD ∝ 1/f**exponent for ``colour`` in white, pink, brown."""
    if colour not in COLOUR_EXPONENTS:
        raise ValueError(f"unknown noise colour {colour!r}; choose from {sorted(COLOUR_EXPONENTS)}")
    if num_samples <= 0:
        raise ValueError(f"num_samples must be > 0, got {num_samples}")
    spec = rng.standard_normal(num_samples // 2 + 1) + 1j * rng.standard_normal(num_samples // 2 + 1)
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0  # DC gets the lowest bin's weight, then is removed
    spec *= f ** (-COLOUR_EXPONENTS[colour] / 2.0)
    spec[0] = 0.0
    return _normalise(np.fft.irfft(spec, n=num_samples))


def _tone(freq: float, n: int, sampling_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sampling_rate
    out = np.zeros(n)
    n_harm = int(rng.integers(3, 9))
    decay = rng.uniform(0.4, 0.8)
    for h in range(1, n_harm + 1):
        if h * freq >= sampling_rate / 2:
            break
        out += decay ** (h - 1) * np.sin(2 * np.pi * h * freq * t + rng.uniform(0, 2 * np.pi))
    attack = max(1, int(0.01 * sampling_rate))
    env = np.exp(-t * rng.uniform(1.0, 6.0))  # plucked / sustained decay
    env[:attack] *= np.linspace(0.0, 1.0, attack)
    release = min(n, max(1, int(0.02 * sampling_rate)))
    env[-release:] *= np.linspace(1.0, 0.0, release)
    return out * env


def harmonic_music(num_samples: int, sampling_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A random melody of harmonic tones (notes 0.1–0.6 s, occasional chords) → float32."""
    if num_samples <= 0:
        raise ValueError(f"num_samples must be > 0, got {num_samples}")
    scale = _MAJOR if rng.random() < 0.5 else _MINOR
    root = int(rng.integers(45, 60))  # MIDI A2..B3
    out = np.zeros(num_samples)
    pos = 0
    while pos < num_samples:
        n = min(num_samples - pos, int(rng.uniform(0.1, 0.6) * sampling_rate))
        degrees = rng.choice(len(scale) * 2, size=int(rng.integers(1, 4)), replace=False)
        for d in degrees:
            midi = root + 12 * (d // len(scale)) + scale[d % len(scale)]
            out[pos : pos + n] += _tone(440.0 * 2 ** ((midi - 69) / 12), n, sampling_rate, rng)
        pos += n
    return _normalise(out)


def mix_babble(utterances: list[np.ndarray], num_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sum utterances (each RMS-equalised, looped/cropped at a random offset) into one babble."""
    if not utterances:
        raise ValueError("babble needs at least one utterance")
    out = np.zeros(num_samples)
    for u in utterances:
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        if u.size == 0:
            raise ValueError("babble got an empty utterance")
        reps = -(-num_samples // u.size) + 1
        start = int(rng.integers(0, u.size))
        seg = np.tile(u, reps)[start : start + num_samples]
        rms = np.sqrt(np.mean(seg**2))
        out += seg / rms if rms > 0 else seg
    return _normalise(out)
