"""One synthetic utterance: phone-like content through a speaker's voice, a channel and noise.

The content is a random sequence of phone-like units (vowels and nasals from a
shared formant inventory, fricative-like noise, plosive closures with bursts,
pauses) at a random speaking rate.  A Rosenberg glottal pulse train (with the
speaker's F0 range, open quotient, jitter, shimmer, breathiness and spectral
tilt) excites a cascade of four time-varying formant resonators scaled by the
speaker's vocal-tract length; formant targets are smoothed into transitions.
Every utterance then gets its own loudness, a random recording channel
(band limits plus peaking/shelf biquads) and coloured background noise at a
random SNR (see :mod:`spkssl.synth.channel`).  Everything is vectorised with numpy/scipy, and the audio path runs in
float32 (control tracks and the glottal phase stay float64); a 3 s utterance
takes about 20 ms of CPU.

Example:
    >>> import numpy as np
    >>> from spkssl.synth.voice import sample_voice
    >>> voice = sample_voice(np.random.default_rng(0), "spk0001")
    >>> x = synthesize_utterance(voice, np.random.default_rng(1), 2.0, 16000)
    >>> x.shape, x.dtype
    ((32000,), dtype('float32'))
"""
from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import signal

from spkssl.synth.channel import coloured_noise, random_channel
from spkssl.synth.variation import UtteranceConfig
from spkssl.synth.voice import Voice

# Adult-male-like formant targets F1..F4 (Hz), roughly Peterson & Barney.
VOWELS: np.ndarray = np.array(
    [
        [270, 2290, 3010, 3600],  # i
        [390, 1990, 2550, 3500],  # I
        [530, 1840, 2480, 3500],  # E
        [660, 1720, 2410, 3400],  # ae
        [730, 1090, 2440, 3400],  # a
        [570, 840, 2410, 3300],  # o
        [440, 1020, 2240, 3300],  # U
        [300, 870, 2240, 3300],  # u
        [640, 1190, 2390, 3400],  # V
        [490, 1350, 1690, 3300],  # er
    ],
    dtype=np.float64,
)
NASALS: np.ndarray = np.array([[250, 1100, 2300, 3300], [280, 1500, 2500, 3400]], dtype=np.float64)
BANDWIDTHS: np.ndarray = np.array([70.0, 100.0, 140.0, 200.0])
HOP_SECONDS = 0.005  # frame hop of the control tracks (formants, F0, gains)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average along axis 0 with edge padding (same length)."""
    if width <= 1:
        return x
    kernel = np.ones(width) / width
    pad = width // 2
    xp = np.pad(x, [(pad, width - 1 - pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, kernel, mode="valid")
    return np.stack([np.convolve(xp[:, i], kernel, mode="valid") for i in range(x.shape[1])], 1)


def _upsample(track: np.ndarray, hop: int, n: int) -> np.ndarray:
    """Linearly interpolate a frame track (frame ``i`` centred on sample ``(i + 0.5) * hop``).

    The same values as ``np.interp(np.arange(n), (np.arange(len(track)) + 0.5) * hop, track)``
    (held constant before the first and after the last centre), computed block-wise on the
    regular grid, which is several times faster.  ``track`` needs ``ceil(n / hop)`` frames.
    """
    n_frames = -(-n // hop)
    v = np.concatenate([track[:1], track[:n_frames], track[n_frames - 1 : n_frames]])
    frac = np.arange(hop) / hop - 0.5  # sample j of block i sits at frame position i + frac[j]
    cur = v[1:-1, None]
    slope = np.where(frac < 0.0, cur - v[:-2, None], v[2:, None] - cur)
    return (cur + slope * frac).ravel()[:n]


def _plan_content(
    rng: np.random.Generator, n_frames: int, rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, float, float]]]:
    """Lay out phone-like units on the frame grid.

    Returns:
        voiced_gain [F], frame formant targets [F, 4] (NaN where unvoiced),
        a "voiced" boolean [F], and noise segments ``(start, end, centre_hz, level)``.
    """
    fps = 1.0 / HOP_SECONDS
    gain = np.zeros(n_frames)
    targets = np.full((n_frames, 4), np.nan)
    noise: list[tuple[int, int, float, float]] = []

    def frames(lo: float, hi: float) -> int:
        return max(1, int(round(rng.uniform(lo, hi) / rate * fps)))

    t = frames(0.08, 0.3)  # leading silence
    end = n_frames - int(rng.uniform(0.08, 0.25) * fps)  # trailing silence
    while t < end:
        u = rng.random()
        if u < 0.22:  # fricative
            d = frames(0.06, 0.16)
            noise.append((t, min(t + d, end), float(rng.uniform(2500, 7000)), float(rng.uniform(0.15, 0.5))))
            t += d
        elif u < 0.36:  # plosive: closure then a short broadband burst
            t += frames(0.03, 0.07)
            d = frames(0.01, 0.025)
            noise.append((t, min(t + d, end), float(rng.uniform(1500, 5000)), float(rng.uniform(0.3, 0.8))))
            t += d
        elif u < 0.46:  # nasal murmur
            d = min(frames(0.05, 0.1), max(end - t, 1))
            gain[t : t + d] = rng.uniform(0.25, 0.4)
            targets[t : t + d] = NASALS[rng.integers(len(NASALS))]
            t += d
        elif u < 0.52:  # pause
            t += frames(0.08, 0.3)
        else:  # vowel
            d = min(frames(0.07, 0.24), max(end - t, 1))
            gain[t : t + d] = rng.uniform(0.7, 1.0)
            targets[t : t + d] = VOWELS[rng.integers(len(VOWELS))]
            t += d
    voiced = gain > 0
    return gain, targets, voiced, noise


def _f0_track(voice: Voice, rng: np.random.Generator, n_frames: int) -> np.ndarray:
    """Frame-level F0 (Hz): utterance offset, declination and smooth wiggles, inside the range."""
    r = voice.f0_range_st
    pos = np.linspace(0.0, 1.0, n_frames)
    offset = rng.uniform(-0.35, 0.35) * r
    declination = rng.uniform(0.0, 0.4) * r * (0.5 - pos)
    knots = max(2, int(n_frames * HOP_SECONDS / 0.2) + 2)
    wiggle = np.interp(pos, np.linspace(0, 1, knots), rng.normal(0.0, 0.3 * r, knots))
    st = np.clip(offset + declination + _smooth(wiggle, 9), -0.97 * r, 0.97 * r)
    return voice.f0_mean * 2.0 ** (st / 12.0)


def _glottal_source(
    voice: Voice, rng: np.random.Generator, f0: np.ndarray, sr: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rosenberg flow-derivative pulse train with jitter and shimmer, plus aspiration noise.

    ``f0`` is per sample (Hz, float64: the phase is accumulated in float64).
    Returns float32 ``(voiced, aspiration)`` per sample (same length as ``f0``).
    """
    step = f0 / sr
    period = np.cumsum(step).astype(np.int64)  # phase >= 0, so truncation is floor
    step = step * (1.0 + voice.jitter * rng.standard_normal(int(period[-1]) + 2))[period]
    step = np.clip(step, voice.f0_min / sr, voice.f0_max / sr)
    phase = np.cumsum(step)
    period = phase.astype(np.int64)
    frac = (phase - period).astype(np.float32)
    tp = 0.65 * voice.open_quotient
    tn = 0.35 * voice.open_quotient
    rise = 0.5 - 0.5 * np.cos(frac * np.float32(np.pi / tp))
    fall = np.cos(np.minimum(frac - np.float32(tp), np.float32(tn)) * np.float32(0.5 * np.pi / tn))
    flow = np.where(frac < tp, rise, np.maximum(fall, np.float32(0.0)))  # closed phase: 0
    flow *= (1.0 + voice.shimmer * rng.standard_normal(int(period[-1]) + 2, np.float32))[period]
    voiced = np.diff(flow, prepend=flow[0]) * np.float32(sr / 1000.0)
    scale = float(np.sqrt(np.mean(voiced * voiced, dtype=np.float64))) or 1.0
    noise = rng.standard_normal(len(f0), np.float32)
    aspiration = np.float32(voice.breathiness * scale) * (flow + np.float32(0.3)) * noise
    return voiced, aspiration


def _vocal_tract(x: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray, sr: int) -> np.ndarray:
    """Time-varying cascade of four unit-DC-gain formant resonators (vectorised, float32).

    The excitation is cut into Hann-windowed 40 ms frames (50 % overlap, which sums to
    one); each frame is convolved with the all-pole response of the formants at
    its centre via a zero-padded FFT long enough to hold the decaying tail, and
    the frames are overlap-added.  The frame's response is ``A(1) / A(e^jw)``, with
    ``A`` the product of the four resonators' denominators expanded into one
    8th-order polynomial (float64) whose spectrum is a single real FFT.
    ``formants``/``bandwidths`` are control tracks sampled every ``HOP_SECONDS``.
    """
    n = len(x)
    ctl_hop = HOP_SECONDS * sr
    hop = max(1, int(round(4 * ctl_hop)))
    win_len = 2 * hop
    n_blocks = -(-(win_len + int(0.04 * sr)) // hop)  # frame + resonator tail, in hops
    n_fft = n_blocks * hop
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_len) / win_len)).astype(np.float32)
    n_frames = -(-n // hop) + 1
    padded = np.zeros((n_frames + 1) * hop, np.float32)
    padded[hop : hop + n] = x  # frame i covers x[(i-1)*hop : (i+1)*hop], centred on i*hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_len)[::hop][:n_frames] * window
    ctl = np.clip(np.round(np.arange(n_frames) * hop / ctl_hop - 0.5).astype(np.int64),
                  0, formants.shape[0] - 1)
    r = np.exp(-np.pi * bandwidths[ctl] / sr)  # [T, K]
    b_coef = 2.0 * r * np.cos(2.0 * np.pi * formants[ctl] / sr)
    c_coef = -(r**2)
    # Formants are held through steady stretches, so few frames differ: one response each.
    coefs, inverse = np.unique(np.concatenate([b_coef, c_coef], axis=1), axis=0, return_inverse=True)
    n_res = b_coef.shape[1]
    poly = np.zeros((len(coefs), 2 * n_res + 1))  # A(z) = prod_k (1 - b_k z^-1 - c_k z^-2)
    poly[:, 0] = 1.0
    for k in range(n_res):
        prev = poly.copy()
        poly[:, 1:] -= coefs[:, k, None] * prev[:, :-1]
        poly[:, 2:] -= coefs[:, n_res + k, None] * prev[:, :-2]
    response = (poly.sum(axis=1)[:, None] / scipy.fft.rfft(poly, n_fft, axis=1)).astype(np.complex64)
    response = response[inverse.reshape(-1)]  # [T, n_fft // 2 + 1]
    live = np.flatnonzero(np.any(frames != 0.0, axis=1))  # silent frames stay silent: skip them
    out = np.zeros((n_frames, n_fft), np.float32)
    spec = scipy.fft.rfft(frames[live], n_fft, axis=1) * response[live]
    out[live] = scipy.fft.irfft(spec, n_fft, axis=1)
    out = out.reshape(n_frames, n_blocks, hop)
    y = np.zeros((n_frames + n_blocks, hop), np.float32)
    for j in range(n_blocks):  # overlap-add: block j of frame i lands on hop i + j
        y[j : j + n_frames] += out[:, j]
    return y.ravel()[hop : hop + n]


def _frication(noise_segments: list[tuple[int, int, float, float]], voice: Voice,
               rng: np.random.Generator, n: int, hop: int, sr: int) -> np.ndarray:
    """Band-passed noise bursts with raised-cosine edges (float32).

    Each segment is Gaussian noise shaped by two band-pass biquads (Q 1.0 and 1.6)
    around its centre frequency.  All segments are shaped at once in the frequency
    domain (random-phase Gaussian spectra times the biquads' magnitude response),
    then cropped to their lengths, normalised to unit RMS times their level and
    given raised-cosine edges.
    """
    out = np.zeros(n, np.float32)
    segs = [(start * hop, min(end * hop, n), centre, level)
            for start, end, centre, level in noise_segments if min(end * hop, n) - start * hop >= 8]
    if not segs:
        return out
    starts, ends, centres, levels = (np.array(v) for v in zip(*segs))
    lengths = ends - starts
    n_fft = scipy.fft.next_fast_len(int(lengths.max()), real=True)
    fc = np.minimum(centres * np.sqrt(voice.formant_scale), 0.4 * sr)
    z1 = np.exp(-2j * np.pi * np.arange(n_fft // 2 + 1) / n_fft)  # e^{-jw} on the rfft bins
    cw = np.cos(2.0 * np.pi * fc / sr)[:, None]
    mag = np.ones((len(segs), len(z1)))
    for q in (1.0, 1.6):  # RBJ band-pass, 0 dB peak: alpha (1 - z^-2) / ((1+alpha) - 2cos z^-1 + (1-alpha) z^-2)
        alpha = (np.sin(2.0 * np.pi * fc / sr) / (2.0 * q))[:, None]
        mag *= np.abs(alpha * (1.0 - z1 * z1) / ((1.0 + alpha) - 2.0 * cw * z1 + (1.0 - alpha) * z1 * z1))
    spec = rng.standard_normal((2, len(segs), len(z1)), np.float32)
    seg = scipy.fft.irfft((spec[0] + 1j * spec[1]) * mag.astype(np.float32), n_fft, axis=1)
    pos = np.arange(n_fft, dtype=np.float32)[None, :]
    dist = np.minimum(pos, (lengths - 1).astype(np.float32)[:, None] - pos)  # to the nearer end
    ramp = np.maximum(np.minimum(lengths // 2, int(0.01 * sr)), 1).astype(np.float32)[:, None]
    edge = np.float32(0.5) - np.float32(0.5) * np.cos(dist * (np.float32(np.pi) / ramp))
    win = np.where(dist < ramp, edge, np.float32(1.0))
    win[dist < 0.0] = 0.0  # past the segment's end
    power = np.sum(np.where(dist < 0.0, np.float32(0.0), seg * seg), axis=1, dtype=np.float64)
    seg *= win * (levels / (np.sqrt(power / lengths) + 1e-12)).astype(np.float32)[:, None]
    for i in range(len(segs)):  # segments never overlap (they follow each other in time)
        out[starts[i] : ends[i]] += seg[i, : lengths[i]]
    return out


def synthesize_utterance(
    voice: Voice,
    rng: np.random.Generator,
    duration: float,
    sampling_rate: int = 16000,
    cfg: UtteranceConfig | None = None,
) -> np.ndarray:
    """Synthesize one utterance of ``voice``; all randomness comes from ``rng``.

    Args:
        voice: the speaker (see :func:`spkssl.synth.voice.sample_voice`).
        rng: the utterance's own generator.
        duration: length in seconds (> 0.5).
        sampling_rate: output rate in Hz (>= 8000).
        cfg: ranges of the per-utterance variation (default :class:`UtteranceConfig`).

    Returns:
        float32 samples in [-1, 1], ``round(duration * sampling_rate)`` long.

    Raises:
        ValueError: for a too-short duration or too-low sampling rate.
    """
    if duration < 0.5:
        raise ValueError(f"utterance duration must be >= 0.5 s, got {duration}")
    if sampling_rate < 8000:
        raise ValueError(f"sampling rate must be >= 8000 Hz, got {sampling_rate}")
    cfg = cfg or UtteranceConfig()
    sr = sampling_rate
    n = int(round(duration * sr))
    hop = max(1, int(round(HOP_SECONDS * sr)))
    n_frames = -(-n // hop)
    rate = float(rng.uniform(*cfg.rate))

    gain, targets, voiced, noise_segments = _plan_content(rng, n_frames, rate)
    # Hold the last formant target through unvoiced stretches, then smooth into transitions.
    idx = np.where(voiced, np.arange(n_frames), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(voiced)) if voiced.any() else 0
    idx[: first] = first
    tracks = targets[idx] if voiced.any() else np.tile(VOWELS[4], (n_frames, 1))
    scale = voice.formant_scale * np.asarray(voice.formant_offsets)
    formants = _smooth(tracks * scale, max(1, int(0.04 / HOP_SECONDS)))
    formants = np.minimum(formants, 0.45 * sr - np.array([300.0, 200.0, 100.0, 0.0]))
    formants = np.maximum.accumulate(np.maximum(formants, 150.0), axis=1)  # keep F1<F2<F3<F4
    bandwidths = np.broadcast_to(BANDWIDTHS * voice.bandwidth_scale * np.sqrt(voice.formant_scale),
                                 formants.shape)

    f0 = _upsample(_f0_track(voice, rng, n_frames), hop, n)
    env = _upsample(_smooth(gain, 5), hop, n).astype(np.float32)
    glottal, aspiration = _glottal_source(voice, rng, f0, sr)
    excitation = (glottal + aspiration) * env
    tilt = np.float32(voice.tilt)
    excitation = signal.lfilter(np.array([1.0 - tilt], np.float32), np.array([1.0, -tilt], np.float32),
                                excitation)
    # The tilt filter's decay into silences ends in float32 subnormals, which make every
    # later FFT several times slower; flush them (and anything else below -400 dB) to 0.
    excitation[np.abs(excitation) < 1e-20] = 0.0
    speech = _vocal_tract(excitation, formants, bandwidths, sr)
    active = env > 0.1
    ref = float(np.sqrt(np.mean(speech[active] ** 2, dtype=np.float64))) if active.any() else 1.0
    speech = speech * np.float32(1.0 / (ref + 1e-12)) + _frication(noise_segments, voice, rng, n, hop, sr)

    active = active | (np.abs(speech) > 0.05)
    p_speech = float(np.mean(speech[active] ** 2, dtype=np.float64)) if active.any() else 1.0
    snr = rng.uniform(*cfg.snr_db)
    noise = coloured_noise(rng, n, rng.uniform(*cfg.noise_color))
    x = speech + noise * np.float32(np.sqrt(p_speech / 10.0 ** (snr / 10.0)))
    x = signal.sosfilt(random_channel(rng, sr, cfg).astype(np.float32), x)

    level = 10.0 ** (rng.uniform(*cfg.level_dbfs) / 20.0)
    gain_out = level / (np.sqrt(np.mean(x * x, dtype=np.float64)) + 1e-12)
    peak = float(np.max(np.abs(x))) * gain_out
    if peak > 0.99:
        gain_out *= 0.99 / peak
    return (x * np.float32(gain_out)).astype(np.float32)
