"""One synthetic utterance: phone-like content through a speaker's voice, a channel and noise.

The content is a random sequence of phone-like units (vowels and nasals from a
shared formant inventory, fricative-like noise, plosive closures with bursts,
pauses) at a random speaking rate.  A Rosenberg glottal pulse train (with the
speaker's F0 range, open quotient, jitter, shimmer, breathiness and spectral
tilt) excites a cascade of four time-varying formant resonators scaled by the
speaker's vocal-tract length; formant targets are smoothed into transitions.
Every utterance then gets its own loudness, a random recording channel
(band limits plus peaking/shelf biquads) and coloured background noise at a
random SNR.  Everything is vectorised with numpy/scipy; a 3 s utterance takes a
few milliseconds.

Example:
    >>> import numpy as np
    >>> from spkssl.synth.voice import sample_voice
    >>> voice = sample_voice(np.random.default_rng(0), "spk0001")
    >>> x = synthesize_utterance(voice, np.random.default_rng(1), 2.0, 16000)
    >>> x.shape, x.dtype
    ((32000,), dtype('float32'))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import signal

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


@dataclass(frozen=True)
class UtteranceConfig:
    """Ranges of the per-utterance variation (content, rate, loudness, channel, noise).

    Example:
        >>> UtteranceConfig(snr_db=(40.0, 40.0)).snr_db
        (40.0, 40.0)
    """

    rate: tuple[float, float] = (0.75, 1.35)  # speaking-rate factor (1 = nominal)
    level_dbfs: tuple[float, float] = (-32.0, -16.0)  # output RMS level
    snr_db: tuple[float, float] = (8.0, 30.0)  # background noise SNR
    noise_color: tuple[float, float] = (0.0, 2.0)  # noise spectrum ~ 1/f^beta
    num_eq_bands: tuple[int, int] = (1, 3)  # random peaking filters in the channel
    eq_gain_db: float = 8.0  # peaking / shelf gains drawn from [-g, g]
    highpass_hz: tuple[float, float] = (50.0, 300.0)  # channel low cut
    lowpass_hz: tuple[float, float] = (4000.0, 7800.0)  # channel high cut (capped below Nyquist)


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

    Returns ``(voiced, aspiration)`` per sample (same length as ``f0``).
    """
    n_periods = int(np.sum(f0) / sr) + 2
    period = np.floor(np.cumsum(f0) / sr).astype(np.int64)
    f0 = f0 * (1.0 + voice.jitter * rng.standard_normal(n_periods))[period]
    f0 = np.clip(f0, voice.f0_min, voice.f0_max)
    phase = np.cumsum(f0) / sr
    period = np.floor(phase).astype(np.int64)
    frac = phase - period
    tp = 0.65 * voice.open_quotient
    tn = 0.35 * voice.open_quotient
    flow = np.where(
        frac < tp,
        0.5 * (1.0 - np.cos(np.pi * frac / tp)),
        np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0),
    )
    flow = flow * (1.0 + voice.shimmer * rng.standard_normal(period[-1] + 2))[period]
    voiced = np.diff(flow, prepend=flow[0]) * sr / 1000.0
    scale = float(np.sqrt(np.mean(voiced**2))) or 1.0
    aspiration = voice.breathiness * scale * (0.3 + flow) * rng.standard_normal(len(f0))
    return voiced, aspiration


def _vocal_tract(x: np.ndarray, formants: np.ndarray, bandwidths: np.ndarray, sr: int) -> np.ndarray:
    """Time-varying cascade of four unit-DC-gain formant resonators (vectorised).

    The excitation is cut into Hann-windowed 40 ms frames (50 % overlap, which sums to
    one); each frame is convolved with the all-pole response of the formants at
    its centre via a zero-padded FFT long enough to hold the decaying tail, and
    the frames are overlap-added.  ``formants``/``bandwidths`` are control tracks
    sampled every ``HOP_SECONDS``.
    """
    n = len(x)
    ctl_hop = HOP_SECONDS * sr
    hop = max(1, int(round(4 * ctl_hop)))
    win_len = 2 * hop
    n_blocks = -(-(win_len + int(0.04 * sr)) // hop)  # frame + resonator tail, in hops
    n_fft = n_blocks * hop
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win_len) / win_len)  # periodic Hann
    n_frames = -(-n // hop) + 1
    padded = np.zeros((n_frames + 1) * hop)
    padded[hop : hop + n] = x  # frame i covers x[(i-1)*hop : (i+1)*hop], centred on i*hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_len)[::hop][:n_frames] * window
    ctl = np.clip(np.round(np.arange(n_frames) * hop / ctl_hop - 0.5).astype(np.int64),
                  0, formants.shape[0] - 1)
    r = np.exp(-np.pi * bandwidths[ctl] / sr)  # [T, 4]
    b_coef = 2.0 * r * np.cos(2.0 * np.pi * formants[ctl] / sr)
    c_coef = -(r**2)
    w = 2.0 * np.pi * np.arange(n_fft // 2 + 1) / n_fft
    z1, z2 = np.exp(-1j * w), np.exp(-2j * w)  # e^{-jw}, e^{-2jw}
    response = np.prod(1.0 - b_coef - c_coef, axis=1)[:, None] * np.ones(len(w), complex)
    for k in range(b_coef.shape[1]):  # [T, K] per formant keeps temporaries small
        response /= 1.0 - np.multiply.outer(b_coef[:, k], z1) - np.multiply.outer(c_coef[:, k], z2)
    out = scipy.fft.irfft(scipy.fft.rfft(frames, n_fft, axis=1) * response, n_fft, axis=1)
    out = out.reshape(n_frames, n_blocks, hop)
    y = np.zeros((n_frames + n_blocks, hop))
    for j in range(n_blocks):  # overlap-add: block j of frame i lands on hop i + j
        y[j : j + n_frames] += out[:, j]
    return y.ravel()[hop : hop + n]


def _frication(noise_segments: list[tuple[int, int, float, float]], voice: Voice,
               rng: np.random.Generator, n: int, hop: int, sr: int) -> np.ndarray:
    """Band-passed noise bursts with raised-cosine edges, one filter per segment."""
    out = np.zeros(n)
    nyq = sr / 2.0
    for start, end, centre, level in noise_segments:
        a, b = start * hop, min(end * hop, n)
        if b - a < 8:
            continue
        fc = min(centre * np.sqrt(voice.formant_scale), 0.8 * nyq)
        sos = np.stack([_biquad("bandpass", fc, 0.0, q, sr) for q in (1.0, 1.6)])
        seg = signal.sosfilt(sos, rng.standard_normal(b - a))
        ramp = min(len(seg) // 2, int(0.01 * sr))
        win = np.ones(len(seg))
        if ramp > 0:
            edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
            win[:ramp], win[len(seg) - ramp :] = edge, edge[::-1]
        out[a:b] += level * seg * win / (np.sqrt(np.mean(seg**2)) + 1e-12)
    return out


def _biquad(kind: str, freq: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    """One RBJ-cookbook biquad (``bandpass``, ``peak``, ``lowshelf``, ``highshelf``) as an sos row."""
    amp = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * np.pi * freq / sr
    cw, alpha = np.cos(w0), np.sin(w0) / (2.0 * q)
    if kind == "bandpass":  # constant 0 dB peak gain; gain_db unused
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


def random_channel(rng: np.random.Generator, sr: int, cfg: UtteranceConfig) -> np.ndarray:
    """A random recording channel as second-order sections: band limits, peaks and a shelf.

    Example:
        >>> random_channel(np.random.default_rng(0), 16000, UtteranceConfig()).shape[1]
        6
    """
    nyq = sr / 2.0
    hp = rng.uniform(*cfg.highpass_hz)
    lp = min(rng.uniform(*cfg.lowpass_hz), 0.95 * nyq)
    rows = [signal.butter(2, hp / nyq, btype="highpass", output="sos"),
            signal.butter(4, lp / nyq, btype="lowpass", output="sos")]
    g = cfg.eq_gain_db
    for _ in range(int(rng.integers(cfg.num_eq_bands[0], cfg.num_eq_bands[1] + 1))):
        freq = float(np.exp(rng.uniform(np.log(150.0), np.log(min(6000.0, 0.8 * nyq)))))
        rows.append(_biquad("peak", freq, rng.uniform(-g, g), rng.uniform(0.5, 2.5), sr)[None])
    kind = "lowshelf" if rng.random() < 0.5 else "highshelf"
    freq = rng.uniform(200.0, 600.0) if kind == "lowshelf" else rng.uniform(2000.0, min(5000.0, 0.8 * nyq))
    rows.append(_biquad(kind, freq, rng.uniform(-0.6 * g, 0.6 * g), 0.707, sr)[None])
    return np.concatenate(rows, axis=0)


def coloured_noise(rng: np.random.Generator, n: int, beta: float) -> np.ndarray:
    """Unit-RMS noise with power spectrum ~ 1/f^beta (0 white, 1 pink, 2 brown).

    Example:
        >>> x = coloured_noise(np.random.default_rng(0), 1000, 1.0)
        >>> round(float(np.sqrt(np.mean(x ** 2))), 6)
        1.0
    """
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / f ** (beta / 2.0), n)
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


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

    frame_t = (np.arange(n_frames) + 0.5) * hop
    t = np.arange(n)
    f0 = np.interp(t, frame_t, _f0_track(voice, rng, n_frames))
    env = np.interp(t, frame_t, _smooth(gain, 5))
    glottal, aspiration = _glottal_source(voice, rng, f0, sr)
    excitation = (glottal + aspiration) * env
    excitation = signal.lfilter([1.0 - voice.tilt], [1.0, -voice.tilt], excitation)
    speech = _vocal_tract(excitation, formants, bandwidths, sr)
    active = env > 0.1
    ref = float(np.sqrt(np.mean(speech[active] ** 2))) if active.any() else 1.0
    speech = speech / (ref + 1e-12) + _frication(noise_segments, voice, rng, n, hop, sr)

    active = active | (np.abs(speech) > 0.05)
    p_speech = float(np.mean(speech[active] ** 2)) if active.any() else 1.0
    snr = rng.uniform(*cfg.snr_db)
    noise = coloured_noise(rng, n, rng.uniform(*cfg.noise_color))
    x = speech + noise * np.sqrt(p_speech / 10.0 ** (snr / 10.0))
    x = signal.sosfilt(random_channel(rng, sr, cfg), x)

    level = 10.0 ** (rng.uniform(*cfg.level_dbfs) / 20.0)
    x = x * level / (np.sqrt(np.mean(x**2)) + 1e-12)
    peak = float(np.max(np.abs(x)))
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32)
