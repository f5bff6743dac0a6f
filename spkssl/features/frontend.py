"""The network's input, in one object: log-mel fbank, then per-utterance CMN when ``features.cmn``.

Training crops (:mod:`spkssl.training.data`) and extraction
(:mod:`spkssl.embed.extract`) both go through a :class:`FeatureFrontend` built
from the same ``features`` config section, so the two can never drift apart: a
network trained on raw log-mel is fed raw log-mel at extraction, and a changed
default in ``spkssl/configs/features.yaml`` changes both.

Example:
    >>> import numpy as np
    >>> from spkssl.config import with_defaults
    >>> front = FeatureFrontend.from_config(with_defaults("features", {"num_mel_bins": 40}))
    >>> feats = front(np.zeros(16000, dtype=np.float32), 16000)
    >>> feats.shape, front.cmn
    ((100, 40), True)
    >>> plain = FeatureFrontend.from_config(with_defaults("features", {"cmn": False}))
    >>> plain.normalise(np.ones((2, 3), dtype=np.float32)).tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from spkssl.config import require_complete
from spkssl.features.fbank import apply_cmn, compute_fbank, fbank_cfg


@dataclass(frozen=True)
class FeatureFrontend:
    """Kaldi-compatible log-mel fbank (``fbank``: complete options) plus optional CMN (``cmn``)."""

    fbank: Mapping[str, Any]
    cmn: bool
    backend: str = "knf"  # features.backend: knf (kaldi-native-fbank) | torch (torch_fbank)

    @classmethod
    def from_config(cls, features_cfg: Mapping[str, Any] | None) -> "FeatureFrontend":
        """From a complete ``features`` section (:func:`spkssl.config.require_complete`).

        Raises:
            spkssl.config.ConfigError: a missing key (named).
        """
        full = require_complete("features", features_cfg)
        return cls(fbank=fbank_cfg(full), cmn=bool(full["cmn"]), backend=str(full["backend"]))

    def without_cmn(self) -> "FeatureFrontend":
        """The same fbank, never mean-normalised (e.g. for the log-mel statistics baseline)."""
        return FeatureFrontend(self.fbank, False, self.backend)

    def deterministic(self) -> "FeatureFrontend":
        """The same front-end with no dither, as extraction requires."""
        return FeatureFrontend({**self.fbank, "dither": 0.0}, self.cmn, self.backend)

    @property
    def sampling_rate(self) -> int:
        """The audio rate the fbank expects (Hz)."""
        return int(self.fbank["sampling_rate"])

    @property
    def frame_shift_ms(self) -> float:
        """Milliseconds between frames."""
        return float(self.fbank["frame_shift_ms"])

    @property
    def num_mel_bins(self) -> int:
        """Feature dimension."""
        return int(self.fbank["num_mel_bins"])

    def fbank_of(self, samples: np.ndarray, sampling_rate: int) -> np.ndarray:
        """Raw log-mel fbank ``[frames, num_mel_bins]`` of a float waveform in [-1, 1] (what stored features hold)."""
        if self.backend == "torch":
            from spkssl.features.torch_fbank import torch_fbank

            return torch_fbank(samples, sampling_rate, self.fbank)
        return compute_fbank(samples, sampling_rate, self.fbank)

    def normalise(self, feats: np.ndarray) -> np.ndarray:
        """Raw fbank (computed or stored) → the network input: CMN when ``cmn``, else unchanged."""
        return apply_cmn(feats) if self.cmn else feats

    def __call__(self, samples: np.ndarray, sampling_rate: int) -> np.ndarray:
        """Waveform → network input ``[frames, num_mel_bins]`` float32."""
        return self.normalise(self.fbank_of(samples, sampling_rate))
