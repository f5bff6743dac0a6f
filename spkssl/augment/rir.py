"""Room impulse responses from an image-method shoebox simulator (Allen & Berkley, 1979), in numpy.

Used where RIRS_NOISES is absent.  Walls share one reflection coefficient
``beta = sqrt(1 - alpha)``; the absorption ``alpha`` starts from Sabine's
formula ``RT60 = 0.161 V / (S alpha)`` and is refined so the simulated energy
decay has the target reverberation time.  Image sources inside the sphere the
sound travels in the RIR length are summed (early ones with a Hann-windowed-sinc
fractional delay).  :func:`estimate_rt60` measures the decay
(Schroeder backward integration, T20 line fit) for checks.

Example:
    >>> import numpy as np
    >>> h = simulate_rir((5.0, 4.0, 3.0), (1.0, 1.0, 1.5), (3.5, 2.5, 1.2), rt60=0.4,
    ...                  sampling_rate=8000, duration=0.4)
    >>> h.shape, int(np.argmax(np.abs(h))) < 200
    ((3200,), True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.signal import butter, sosfilt

SPEED_OF_SOUND = 343.0  # m/s
_SINC_HALF = 8  # fractional-delay filter half-length (samples)
HIGHPASS_HZ = 100.0  # removes the image method's low-frequency build-up
EARLY_MS = 50.0  # images this close to the direct path get a fractional delay


@dataclass(frozen=True)
class RoomSpec:
    """One simulated room: dimensions, source/mic positions (metres) and target RT60 (s)."""

    size: tuple[float, float, float]
    source: tuple[float, float, float]
    mic: tuple[float, float, float]
    rt60: float


def sabine_beta(size: Sequence[float], rt60: float) -> float:
    """Wall reflection coefficient giving ``rt60`` by Sabine's formula (alpha clipped to (0, 1])."""
    lx, ly, lz = (float(v) for v in size)
    volume = lx * ly * lz
    surface = 2.0 * (lx * ly + lx * lz + ly * lz)
    if rt60 <= 0:
        raise ValueError(f"rt60 must be > 0, got {rt60}")
    alpha = min(1.0, 0.161 * volume / (surface * rt60))
    return float(np.sqrt(1.0 - alpha))


def image_sources(
    size: Sequence[float], source: Sequence[float], mic: Sequence[float], max_dist: float
) -> tuple[np.ndarray, np.ndarray]:
    """Distances (m) to the microphone and reflection counts of all images closer than ``max_dist``.

    Raises:
        ValueError: when the source or microphone lies outside the room.
    """
    room = np.asarray(size, dtype=np.float64)
    src = np.asarray(source, dtype=np.float64)
    rcv = np.asarray(mic, dtype=np.float64)
    for name, p in (("source", src), ("mic", rcv)):
        if np.any(p <= 0) or np.any(p >= room):
            raise ValueError(f"{name} {tuple(p)} is outside the room {tuple(room)}")
    pos, refl = [], []
    for axis in range(3):  # per axis: image coordinate relative to the mic, wall reflections
        m = int(np.ceil(max_dist / (2 * room[axis]))) + 1
        n = np.arange(-m, m + 1)
        pos.append(np.concatenate([(1 - 2 * p) * src[axis] + 2 * n * room[axis] - rcv[axis]
                                   for p in (0, 1)]))
        refl.append(np.concatenate([np.abs(n - p) + np.abs(n) for p in (0, 1)]))
    dx, dy, dz = np.meshgrid(*pos, indexing="ij", sparse=True)
    dist = np.sqrt(dx**2 + dy**2 + dz**2)
    keep = dist < max_dist
    kx, ky, kz = np.meshgrid(*refl, indexing="ij", sparse=True)
    order = np.broadcast_to(kx + ky + kz, keep.shape)[keep]
    return dist[keep], order


def fit_beta(dist: np.ndarray, order: np.ndarray, rt60: float, beta0: float) -> float:
    """Reflection coefficient whose simulated energy decay (T20) gives ``rt60``.

    The image method decays more slowly than Sabine predicts (grazing paths
    reflect rarely), so Sabine's ``beta0`` is refined by bisection on the
    decay of the image energies (1 ms bins), which costs one small matmul per step.
    """
    tbin = (dist / SPEED_OF_SOUND * 1000.0).astype(np.int64)
    hist = np.zeros((int(tbin.max()) + 1, int(order.max()) + 1))
    np.add.at(hist, (tbin, order), 1.0 / np.maximum(dist, 1e-3) ** 2)
    k = np.arange(hist.shape[1])

    def rt(beta: float) -> float:
        try:
            return estimate_rt60(np.sqrt(hist @ beta ** (2 * k)), 1000)
        except ValueError:  # decays too fast to see 20 dB: treat as very short
            return 0.0

    lo, hi = 1e-3, 0.9999
    if rt(beta0) == rt60:
        return beta0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if rt(mid) < rt60 else (lo, mid)
    return 0.5 * (lo + hi)


def simulate_rir(
    size: Sequence[float],
    source: Sequence[float],
    mic: Sequence[float],
    rt60: float,
    sampling_rate: int = 16000,
    duration: float = 0.5,
    calibrate: bool = True,
) -> np.ndarray:
    """Image-method RIR of a shoebox room → 1-D float32 of ``duration`` seconds, peak ``|h| = 1``.

    Args:
        calibrate: refine the Sabine absorption so the measured decay matches ``rt60``.

    Images within ``EARLY_MS`` of the direct path get a windowed-sinc fractional
    delay; the dense late part is placed at the nearest sample; the result is
    high-passed at ``HIGHPASS_HZ``.
    """
    max_dist = duration * SPEED_OF_SOUND
    dist, order = image_sources(size, source, mic, max_dist)
    beta = sabine_beta(size, rt60)
    if calibrate:
        beta = fit_beta(dist, order, rt60, beta)
    amp = beta**order / (4.0 * np.pi * np.maximum(dist, 1e-3))
    delay = dist / SPEED_OF_SOUND * sampling_rate
    n_out = int(round(duration * sampling_rate))
    size_h = n_out + 2 * _SINC_HALF + 1
    early = delay < delay.min() + EARLY_MS * sampling_rate / 1000.0
    late_idx = np.rint(delay[~early]).astype(np.int64) + _SINC_HALF
    ok = late_idx < size_h
    h = np.bincount(late_idx[ok], weights=amp[~early][ok], minlength=size_h).astype(np.float64)
    base = np.floor(delay[early]).astype(np.int64)
    frac = delay[early] - base
    for k in range(-_SINC_HALF + 1, _SINC_HALF + 1):  # windowed-sinc fractional delay taps
        t = k - frac
        w = np.sinc(t) * 0.5 * (1.0 + np.cos(np.pi * t / _SINC_HALF))
        idx = base + k + _SINC_HALF
        ok = (idx >= 0) & (idx < size_h)
        h += np.bincount(idx[ok], weights=(amp[early] * w)[ok], minlength=size_h)
    h = h[_SINC_HALF : _SINC_HALF + n_out]
    # All image amplitudes are positive, so dense late images pile up a DC/low-frequency
    # build-up that lengthens the decay; Allen & Berkley remove it with a high-pass filter.
    h = sosfilt(butter(2, HIGHPASS_HZ, "highpass", fs=sampling_rate, output="sos"), h)
    peak = np.max(np.abs(h))
    return (h / peak if peak > 0 else h).astype(np.float32)


def random_room(rng: np.random.Generator, rt60_range: Sequence[float] = (0.2, 0.8)) -> RoomSpec:
    """Draw a room (3–10 × 3–8 × 2.5–4 m), source/mic ≥ 0.5 m from walls, RT60 in ``rt60_range``."""
    size = np.array([rng.uniform(3, 10), rng.uniform(3, 8), rng.uniform(2.5, 4)])
    margin = 0.5
    src = rng.uniform(margin, size - margin)
    mic = rng.uniform(margin, size - margin)
    lo, hi = (float(v) for v in rt60_range)
    return RoomSpec(tuple(size.round(3)), tuple(src.round(3)), tuple(mic.round(3)),
                    float(rng.uniform(lo, hi)))


def estimate_rt60(rir: np.ndarray, sampling_rate: int) -> float:
    """RT60 from the Schroeder energy decay curve: line fit between -5 and -25 dB (T20 × 3)."""
    e = np.asarray(rir, dtype=np.float64) ** 2
    edc = np.cumsum(e[::-1])[::-1]
    edc_db = 10.0 * np.log10(edc / edc[0] + 1e-30)
    sel = np.where((edc_db <= -5.0) & (edc_db >= -25.0))[0]
    if sel.size < 2:
        raise ValueError("RIR too short to measure a 20 dB decay")
    slope = np.polyfit(sel / sampling_rate, edc_db[sel], 1)[0]  # dB per second
    return float(-60.0 / slope)
