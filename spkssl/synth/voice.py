"""Synthetic speakers: a stable voice per speaker, drawn deterministically from a seed.

A :class:`Voice` holds everything that stays the same across one speaker's
utterances: the fundamental-frequency range (mean F0 and how far intonation may
move away from it), the vocal-tract length (one formant scaling factor plus small
per-formant idiosyncrasies), the spectral tilt of the glottal source, the
glottal open quotient, breathiness (aspiration noise level), jitter and shimmer.
Three voice classes (male-, female- and child-like) give overlapping ranges, so
the speakers of one class are told apart by the combination of cues, not by one.

Example:
    >>> import numpy as np
    >>> v = sample_voice(np.random.default_rng(0), "spk0001")
    >>> v.f0_min < v.f0_mean < v.f0_max
    True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# Voice classes: (probability, gender choices, F0 mean range in Hz, formant scale range).
# Formant scale 1.0 == the adult-male-like inventory in spkssl.synth.utterance.
VOICE_CLASSES: dict[str, dict[str, Any]] = {
    "male": {"prob": 0.45, "gender": ("m",), "f0": (85.0, 160.0), "vtl": (0.92, 1.06)},
    "female": {"prob": 0.40, "gender": ("f",), "f0": (160.0, 260.0), "vtl": (1.06, 1.22)},
    "child": {"prob": 0.15, "gender": ("m", "f"), "f0": (230.0, 330.0), "vtl": (1.20, 1.36)},
}


@dataclass(frozen=True)
class Voice:
    """The stable voice of one synthetic speaker.

    Attributes:
        speaker_id: the speaker's id (e.g. ``spk0003``).
        voice_class: ``male``, ``female`` or ``child``.
        gender: ``m`` or ``f`` (Kaldi ``spk2gender``).
        f0_mean: centre of the speaker's F0 range (Hz).
        f0_range_st: half-width of the F0 range in semitones; every F0 value the
            generator produces for this speaker lies in ``[f0_min, f0_max]``.
        formant_scale: vocal-tract-length factor multiplying all formant targets
            (shorter tract -> larger factor).
        formant_offsets: per-formant (F1..F4) multiplicative idiosyncrasies.
        bandwidth_scale: multiplies the formant bandwidths (damping).
        tilt: one-pole low-pass coefficient applied to the glottal source
            (0 = flat, larger = steeper spectral tilt).
        open_quotient: fraction of a glottal period the glottis is open.
        breathiness: aspiration-noise level relative to the voiced source.
        jitter: relative standard deviation of period-to-period F0 perturbation.
        shimmer: relative standard deviation of period-to-period amplitude.
    """

    speaker_id: str
    voice_class: str
    gender: str
    f0_mean: float
    f0_range_st: float
    formant_scale: float
    formant_offsets: tuple[float, float, float, float]
    bandwidth_scale: float
    tilt: float
    open_quotient: float
    breathiness: float
    jitter: float
    shimmer: float

    @property
    def f0_min(self) -> float:
        """Lowest F0 (Hz) this speaker ever produces."""
        return self.f0_mean * 2.0 ** (-self.f0_range_st / 12.0)

    @property
    def f0_max(self) -> float:
        """Highest F0 (Hz) this speaker ever produces."""
        return self.f0_mean * 2.0 ** (self.f0_range_st / 12.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dictionary (floats rounded for readability), with the F0 range."""
        out = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        out["formant_offsets"] = [round(x, 6) for x in self.formant_offsets]
        out["f0_min"] = round(self.f0_min, 3)
        out["f0_max"] = round(self.f0_max, 3)
        return out


def sample_voice(rng: np.random.Generator, speaker_id: str) -> Voice:
    """Draw one speaker's voice.

    Args:
        rng: the speaker's own generator (the corpus seeds one per speaker, so a
            speaker's voice does not depend on how many other speakers exist).
        speaker_id: id stored in the returned voice.

    Example:
        >>> a = sample_voice(np.random.default_rng([0, 1]), "spk0001")
        >>> b = sample_voice(np.random.default_rng([0, 1]), "spk0001")
        >>> a == b
        True
    """
    names = list(VOICE_CLASSES)
    probs = np.array([VOICE_CLASSES[n]["prob"] for n in names])
    voice_class = names[int(rng.choice(len(names), p=probs / probs.sum()))]
    spec = VOICE_CLASSES[voice_class]
    genders = spec["gender"]
    gender = genders[int(rng.integers(len(genders)))]
    lo, hi = spec["f0"]
    # Log-uniform F0 mean; the range half-width is 2.5-5 semitones.
    f0_mean = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    vlo, vhi = spec["vtl"]
    return Voice(
        speaker_id=speaker_id,
        voice_class=voice_class,
        gender=gender,
        f0_mean=f0_mean,
        f0_range_st=float(rng.uniform(2.5, 5.0)),
        formant_scale=float(rng.uniform(vlo, vhi)),
        formant_offsets=tuple(float(x) for x in rng.uniform(0.92, 1.08, size=4)),  # type: ignore[arg-type]
        bandwidth_scale=float(rng.uniform(0.7, 1.5)),
        tilt=float(rng.uniform(0.0, 0.85)),
        open_quotient=float(rng.uniform(0.4, 0.75)),
        breathiness=float(np.exp(rng.uniform(np.log(0.02), np.log(0.35)))),
        jitter=float(rng.uniform(0.002, 0.02)),
        shimmer=float(rng.uniform(0.01, 0.08)),
    )
