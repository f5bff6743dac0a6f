"""Kaldi-compatible log-mel filterbank features computed with kaldi-native-fbank.

(:mod:`spkssl.features.torch_fbank` computes the same features several times
faster in torch, equal within a stated rounding tolerance; this module stays
the bit-exact kaldi-native-fbank reference.)

The waveform is scaled to the 16-bit integer range before analysis, as Kaldi's
``compute-fbank-feats`` sees it, so values match Kaldi/kaldi-native-fbank run on
the same audio.  Extraction is deterministic unless ``dither`` > 0.
``snip_edges`` defaults to False (frames = round(samples / shift), as Lhotse's
own ``Fbank``), so stored features agree with Lhotse's frame bookkeeping
(``lhotse.utils.compute_num_frames``).

Example:
    >>> import numpy as np
    >>> feats = compute_fbank(np.zeros(16000, dtype=np.float32), 16000, {"num_mel_bins": 40})
    >>> feats.shape
    (100, 40)
"""
from __future__ import annotations

from typing import Any, Mapping

import kaldi_native_fbank as knf
import numpy as np

from spkssl.config import section_defaults

INT16_SCALE = 32768.0


#: keys of the ``features`` section that are not fbank options (ignored by :func:`fbank_options`)
NON_FBANK_KEYS = frozenset({"cmn", "backend"})


def fbank_defaults() -> dict[str, Any]:
    """The fbank options of ``spkssl/configs/features.yaml`` (the only place they are set)."""
    return {k: v for k, v in section_defaults("features").items() if k not in NON_FBANK_KEYS}


def complete_fbank_cfg(cfg: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A (partial) fbank mapping completed with the defaults; unknown keys are an error.

    >>> complete_fbank_cfg({"num_mel_bins": 40})["frame_shift_ms"]
    10.0
    """
    defaults = fbank_defaults()
    c = {**defaults, **{k: v for k, v in (cfg or {}).items() if k not in NON_FBANK_KEYS}}
    unknown = set(c) - set(defaults)
    if unknown:
        raise ValueError(f"unknown fbank option(s): {sorted(unknown)}")
    return c


def fbank_options(cfg: Mapping[str, Any] | None = None) -> knf.FbankOptions:
    """Build ``knf.FbankOptions`` from a (partial) feature config mapping."""
    return _knf_options(complete_fbank_cfg(cfg))


def _knf_options(c: Mapping[str, Any]) -> knf.FbankOptions:
    opts = knf.FbankOptions()
    fo = opts.frame_opts
    fo.samp_freq = float(c["sampling_rate"])
    fo.frame_length_ms = float(c["frame_length_ms"])
    fo.frame_shift_ms = float(c["frame_shift_ms"])
    fo.dither = float(c["dither"])
    fo.snip_edges = bool(c["snip_edges"])
    fo.window_type = str(c["window_type"])
    fo.preemph_coeff = float(c["preemph_coeff"])
    fo.remove_dc_offset = bool(c["remove_dc_offset"])
    opts.mel_opts.num_bins = int(c["num_mel_bins"])
    opts.mel_opts.low_freq = float(c["low_freq"])
    opts.mel_opts.high_freq = float(c["high_freq"])
    opts.energy_floor = float(c["energy_floor"])
    opts.use_energy = False
    return opts


def compute_fbank(
    samples: np.ndarray, sampling_rate: int, cfg: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Log-mel fbank of a 1-D float waveform in [-1, 1] → ``(num_frames, num_mel_bins)`` float32."""
    c = complete_fbank_cfg(cfg)
    if int(sampling_rate) != int(c["sampling_rate"]):
        raise ValueError(
            f"audio at {sampling_rate} Hz but fbank configured for {c['sampling_rate']} Hz"
        )
    fb = knf.OnlineFbank(_knf_options(c))
    wave = np.asarray(samples, dtype=np.float32).reshape(-1) * INT16_SCALE
    # The binding copies into a std::vector element by element: from a list of
    # Python floats that is ~2x faster than from an ndarray (same float32 values).
    fb.accept_waveform(float(sampling_rate), wave.tolist())
    fb.input_finished()
    n = fb.num_frames_ready
    if n == 0:
        return np.zeros((0, int(c["num_mel_bins"])), dtype=np.float32)
    if hasattr(fb, "get_frames"):
        return np.asarray(fb.get_frames(list(range(n))), dtype=np.float32).reshape(n, -1)
    return np.array([fb.get_frame(i) for i in range(n)], dtype=np.float32)


def fbank_cfg(features_cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fbank options of a ``features`` section (drops its other keys, e.g. ``cmn``).

    >>> fbank_cfg({"num_mel_bins": 40, "cmn": False})
    {'num_mel_bins': 40}
    """
    return {k: v for k, v in (features_cfg or {}).items() if k not in NON_FBANK_KEYS}


def apply_cmn(feats: np.ndarray) -> np.ndarray:
    """Per-utterance cepstral mean normalisation (subtract the mean over time)."""
    if len(feats) == 0:
        return feats
    return feats - feats.mean(axis=0, keepdims=True)
