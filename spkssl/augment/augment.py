"""On-the-fly waveform augmentation: additive noise / music / babble at a target SNR, reverberation, equaliser tilt.

This follows the Kaldi VoxCeleb recipe and wespeaker: each training segment is,
with configured probabilities, convolved with a random room impulse response
(RIR, direct path aligned, energy normalised) and/or mixed with one additive
source (MUSAN-style noise 0–15 dB, music 5–15 dB, or babble of 3–7 speakers at
13–20 dB); with ``eq_prob`` a spectral tilt of ``eq_tilt`` dB per octave
(:mod:`spkssl.augment.eq`), so that the overall slope of the spectrum, which differs
between channels, stops being a speaker cue.  Sources are Lhotse ``RecordingSet``\\ s (``aug_<kind>_recordings``);
they are small, so their audio is loaded once per process and kept in memory.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> speech = rng.standard_normal(16000).astype(np.float32)
    >>> noisy = add_noise_at_snr(speech, rng.standard_normal(16000), snr_db=10.0)
    >>> round(float(10 * np.log10(np.mean(speech**2) / np.mean((noisy - speech) ** 2))), 3)
    10.0
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from scipy.signal import fftconvolve

from spkssl.augment.eq import tilt
from spkssl.config import require_complete
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

ADDITIVE_KINDS = ("noise", "music", "babble")
SOURCE_KINDS = ADDITIVE_KINDS + ("rir",)
_EPS = 1e-12


class AugmentError(ValueError):
    """An augmentation source or configuration is unusable."""


def fit_length(x: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """Return exactly ``length`` samples of ``x``: a random crop if longer, looped if shorter."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if x.size == 0:
        raise AugmentError("cannot fit an empty signal to a length")
    if x.size >= length:
        start = int(rng.integers(0, x.size - length + 1))
        return x[start : start + length]
    reps = -(-length // x.size)
    start = int(rng.integers(0, x.size))
    return np.tile(x, reps + 1)[start : start + length]


def add_noise_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Mix ``noise`` (same length) into ``speech`` so that 10·log10(P_speech / P_noise) == ``snr_db``.

    A silent speech or noise signal leaves ``speech`` unchanged (the SNR is undefined).
    """
    speech = np.asarray(speech, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float64)
    if speech.shape != noise.shape:
        raise AugmentError(f"speech {speech.shape} and noise {noise.shape} differ in shape")
    p_speech = float(np.mean(speech.astype(np.float64) ** 2))
    p_noise = float(np.mean(noise**2))
    if p_speech < _EPS or p_noise < _EPS:
        return speech.copy()
    scale = np.sqrt(p_speech / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (speech + scale * noise).astype(np.float32)


def reverberate(speech: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with ``rir`` (energy normalised), aligned on its direct path (the peak).

    The output has the input's length and RMS level.
    """
    speech = np.asarray(speech, dtype=np.float32)
    rir = np.asarray(rir, dtype=np.float64).reshape(-1)
    energy = float(np.sqrt(np.sum(rir**2)))
    if energy < _EPS:
        raise AugmentError("RIR is all zeros")
    rir = rir / energy
    delay = int(np.argmax(np.abs(rir)))
    out = fftconvolve(speech.astype(np.float64), rir)[delay : delay + speech.size]
    rms_in = np.sqrt(np.mean(speech.astype(np.float64) ** 2))
    rms_out = np.sqrt(np.mean(out**2))
    if rms_out > _EPS:
        out *= rms_in / rms_out
    return out.astype(np.float32)


def load_sources(manifest_dir: str | Path | None) -> dict[str, Any]:
    """Read ``aug_<kind>_recordings.jsonl.gz`` for kind in noise/music/babble/rir (absent ones skipped)."""
    from lhotse import RecordingSet

    out: dict[str, Any] = {}
    if manifest_dir is None:
        return out
    manifest_dir = Path(manifest_dir)
    if not manifest_dir.is_dir():
        raise AugmentError(f"augmentation manifest dir not found: {manifest_dir}")
    for kind in SOURCE_KINDS:
        path = manifest_dir / f"aug_{kind}_recordings.jsonl.gz"
        if path.is_file():
            out[kind] = RecordingSet.from_file(path)
    log.info("augmentation sources in %s: %s", manifest_dir, {k: len(v) for k, v in out.items()} or "none")
    return out


def _range(cfg: Mapping[str, Any], key: str) -> tuple[float, float]:
    lo, hi = (float(v) for v in cfg[key])
    if lo > hi:
        raise AugmentError(f"augment.{key}: lower bound {lo} > upper bound {hi}")
    return lo, hi


@dataclass
class AugmentDraw:
    """The random choices of one segment's augmentation, drawn before any signal processing.

    Attributes:
        rir: the room impulse response to convolve with (raw, not normalised), or None.
        additive: kind (``noise``, ``music``, ``babble``) of the additive source, or None.
        noise: the additive signal, already cut (or looped) to the segment's length; a
            babble is the sum of its RMS-normalised parts.  None when ``additive`` is None.
        snr_db: the SNR to mix ``noise`` at.
        eq_db: the equaliser tilt in dB per octave (:mod:`spkssl.augment.eq`); 0: none.
    """

    rir: np.ndarray | None = None
    additive: str | None = None
    noise: np.ndarray | None = None
    snr_db: float = float("nan")
    eq_db: float = 0.0


class Augmentor:
    """Randomly reverberate and/or add one noise/music/babble source to a waveform.

    :meth:`draw` makes the random choices (which RIR, which source and where, which
    SNR); :meth:`apply` does the signal processing in numpy, and
    :class:`spkssl.augment.batched.BatchAugment` does the same for a whole batch in
    torch (on the training device).  ``augmentor(x, rng)`` is ``apply(x, draw(len(x), rng))``.

    Args:
        sources: kind (``noise``, ``music``, ``babble``, ``rir``) → Lhotse ``RecordingSet``;
            a missing or empty kind is never chosen.
        cfg: the complete ``augment`` config section (:func:`spkssl.config.require_complete`).
        sampling_rate: rate of the speech passed in; sources are resampled to it.

    Example:
        >>> from spkssl.config import with_defaults
        >>> aug = Augmentor({}, with_defaults("augment", {"enabled": False}), 16000)
        >>> aug(np.zeros(100, np.float32), np.random.default_rng(0)).shape
        (100,)
    """

    def __init__(self, sources: Mapping[str, Any], cfg: Mapping[str, Any], sampling_rate: int) -> None:
        self.cfg = require_complete("augment", cfg)
        self.enabled = bool(self.cfg["enabled"])
        self.sampling_rate = int(sampling_rate)
        unknown = set(sources) - set(SOURCE_KINDS)
        if unknown:
            raise AugmentError(f"unknown augmentation source kind(s) {sorted(unknown)}; known {SOURCE_KINDS}")
        # id → Recording per kind (works for lazy and eager RecordingSets alike).
        self.sources = {k: {r.id: r for r in v} for k, v in sources.items() if v is not None}
        self.sources = {k: v for k, v in self.sources.items() if v}
        self._ids = {k: sorted(v) for k, v in self.sources.items()}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        if not self.enabled:
            return
        self.probs = {k: float(self.cfg[f"{k}_prob"]) for k in ADDITIVE_KINDS}
        self.reverb_prob = float(self.cfg["reverb_prob"])
        self.eq_prob, self.eq_tilt = float(self.cfg["eq_prob"]), _range(self.cfg, "eq_tilt")
        for name, p in [*self.probs.items(), ("reverb", self.reverb_prob), ("eq", self.eq_prob)]:
            if not 0.0 <= p <= 1.0:
                raise AugmentError(f"augment.{name}_prob must be in [0, 1], got {p}")
        if sum(self.probs.values()) > 1.0 + 1e-9:
            raise AugmentError(f"augment noise/music/babble probabilities sum to {sum(self.probs.values())} > 1")
        self.snr = {k: _range(self.cfg, f"{k}_snr") for k in ADDITIVE_KINDS}
        lo, hi = (int(v) for v in self.cfg["babble_speakers"])
        if not 1 <= lo <= hi:
            raise AugmentError(f"augment.babble_speakers must be 1 <= min <= max, got {[lo, hi]}")
        self.babble_speakers = (lo, hi)
        missing = [k for k in SOURCE_KINDS if k not in self.sources and self._prob(k) > 0]
        if missing:
            log.warning("augmentation configured but no sources for: %s (skipped)", ", ".join(missing))

    def _prob(self, kind: str) -> float:
        return self.reverb_prob if kind == "rir" else self.probs[kind]

    def _audio(self, kind: str, rec_id: str) -> np.ndarray:
        key = (kind, rec_id)
        if key not in self._cache:
            rec = self.sources[kind][rec_id]
            if rec.sampling_rate != self.sampling_rate:
                rec = rec.resample(self.sampling_rate)
            try:
                audio = np.asarray(rec.load_audio(), dtype=np.float32)
            except Exception as exc:  # lhotse/soundfile raise many types
                raise AugmentError(f"cannot read {kind} source '{rec_id}': {exc}") from exc
            audio = audio[0] if audio.ndim == 2 else audio.reshape(-1)
            if audio.size == 0 or not np.all(np.isfinite(audio)):
                raise AugmentError(f"{kind} source '{rec_id}' is empty or not finite")
            self._cache[key] = audio
        return self._cache[key]

    def _pick(self, kind: str, rng: np.random.Generator) -> np.ndarray:
        ids = self._ids[kind]
        return self._audio(kind, ids[int(rng.integers(len(ids)))])

    def _additive(self, kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
        if kind != "babble":
            return fit_length(self._pick(kind, rng), n, rng)
        count = int(rng.integers(self.babble_speakers[0], self.babble_speakers[1] + 1))
        mix = np.zeros(n, dtype=np.float64)
        for _ in range(count):
            part = fit_length(self._pick("babble", rng), n, rng).astype(np.float64)
            mix += part / np.sqrt(np.mean(part**2) + _EPS)
        return mix.astype(np.float32)

    def draw(self, num_samples: int, rng: np.random.Generator) -> AugmentDraw:
        """The random choices for a segment of ``num_samples`` samples (every draw comes from ``rng``)."""
        out = AugmentDraw()
        if not self.enabled or num_samples == 0:
            return out
        if "rir" in self.sources and rng.random() < self.reverb_prob:
            out.rir = self._pick("rir", rng)
        if self.eq_prob > 0 and rng.random() < self.eq_prob:  # no draw at all when off: other draws unchanged
            out.eq_db = float(rng.uniform(*self.eq_tilt))
        u = rng.random()
        for kind in ADDITIVE_KINDS:
            p = self.probs[kind]
            if u < p:
                if kind in self.sources:
                    out.snr_db = float(rng.uniform(*self.snr[kind]))
                    out.additive, out.noise = kind, self._additive(kind, num_samples, rng)
                break
            u -= p
        return out

    def apply(self, samples: np.ndarray, draw: AugmentDraw) -> np.ndarray:
        """The augmented copy of 1-D ``samples`` (float32, same length): reverberation, equaliser, additive source."""
        out = np.asarray(samples, dtype=np.float32).reshape(-1)
        if draw.rir is not None:
            out = reverberate(out, draw.rir)
        if draw.eq_db != 0.0:
            out = tilt(out, self.sampling_rate, draw.eq_db).astype(np.float32)
        if draw.noise is not None:
            out = add_noise_at_snr(out, draw.noise, draw.snr_db)
        return out.copy() if out is samples else out

    def __call__(self, samples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return an augmented copy of 1-D ``samples`` (same length, float32)."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        return self.apply(samples, self.draw(samples.size, rng))
