"""Lhotse feature extractors for Kaldi log-mel filterbanks: "knf-fbank" and "torch-fbank".

Both are registered with Lhotse on import, so stored feature manifests of
either type can be recreated by name, and both take the options of
``configs/features.yaml`` (int16 scaling, Kaldi semantics).

* ``knf-fbank`` (:class:`KnfFbank`): kaldi-native-fbank; values equal
  :func:`spkssl.features.fbank.compute_fbank` bit for bit, on the fly or stored.
* ``torch-fbank`` (:class:`TorchFbank`): the batched torch implementation of
  :mod:`spkssl.features.torch_fbank`, several times faster; equal to
  kaldi-native-fbank within the tolerance stated there (rounding only).

Example:
    >>> from spkssl.features.extractor import KnfFbank, KnfFbankConfig
    >>> ext = KnfFbank(KnfFbankConfig(num_mel_bins=40))
    >>> import numpy as np
    >>> ext.extract(np.zeros(16000, dtype=np.float32), 16000).shape
    (100, 40)
    >>> import tempfile, pathlib, soundfile as sf
    >>> from lhotse import CutSet, Recording
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sf.write(d / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    >>> cuts = CutSet.from_cuts([Recording.from_file(d / "a.wav").to_cut()])
    >>> feats = cuts[0].compute_features(KnfFbank())  # on the fly
    >>> feats.shape, feats.dtype
    ((100, 80), dtype('float32'))
    >>> stored = cuts.compute_and_store_features(KnfFbank(), d / "fbank")  # stored
    >>> stored[0].features.type, stored[0].load_features().shape
    ('knf-fbank', (100, 80))
    >>> TorchFbank(TorchFbankConfig(num_mel_bins=40)).extract(np.zeros(16000, dtype=np.float32), 16000).shape
    (100, 40)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from lhotse.features.base import FeatureExtractor, register_extractor

from spkssl.features.fbank import compute_fbank, fbank_cfg, fbank_defaults
from spkssl.features.torch_fbank import torch_fbank, torch_fbank_batch


@dataclass
class KnfFbankConfig:
    """Options of :class:`KnfFbank`: the fbank keys of ``configs/features.yaml``.

    An option left as ``None`` takes its value from ``spkssl/configs/features.yaml``
    (the only place defaults are set), so ``KnfFbankConfig(num_mel_bins=40)`` is
    the default fbank with 40 bins.
    """

    sampling_rate: int | None = None  # Hz; audio at another rate is an error
    num_mel_bins: int | None = None
    frame_length_ms: float | None = None
    frame_shift_ms: float | None = None
    dither: float | None = None  # 0: deterministic
    snip_edges: bool | None = None  # must stay False for stored features (Lhotse frame count)
    low_freq: float | None = None
    high_freq: float | None = None  # <= 0: offset from Nyquist
    window_type: str | None = None
    preemph_coeff: float | None = None
    remove_dc_offset: bool | None = None
    energy_floor: float | None = None

    def __post_init__(self) -> None:
        defaults = fbank_defaults()
        missing = sorted(set(defaults) - {f.name for f in fields(self)})
        if missing:  # a key added to features.yaml must be added here too
            raise ValueError(f"KnfFbankConfig lacks fbank option(s) {missing} of configs/features.yaml")
        for f in fields(self):
            if getattr(self, f.name) is None:
                setattr(self, f.name, defaults[f.name])

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the options (Lhotse serialisation)."""
        return asdict(self)

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "KnfFbankConfig":
        """Build from a mapping; unknown keys are an error naming them."""
        known = {f.name for f in fields(KnfFbankConfig)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown knf-fbank option(s): {unknown}; known: {sorted(known)}")
        return KnfFbankConfig(**dict(data))


class _KaldiFbankExtractor(FeatureExtractor):
    """What both Kaldi fbank extractors share: options, frame shift, dimension (not registered)."""

    config_type = KnfFbankConfig

    def __init__(self, config: KnfFbankConfig | None = None) -> None:
        super().__init__(config)
        self._opts = self.config.to_dict()

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> "_KaldiFbankExtractor":
        """Extractor from a (partial) ``features`` config section (``cmn`` and ``backend`` are not fbank options)."""
        return cls(cls.config_type.from_dict(fbank_cfg(cfg)))

    @property
    def frame_shift(self) -> float:
        """Frame shift in seconds."""
        return self.config.frame_shift_ms / 1000.0

    def feature_dim(self, sampling_rate: int) -> int:
        """Number of mel bins (independent of the sampling rate)."""
        return int(self.config.num_mel_bins)


@register_extractor
class KnfFbank(_KaldiFbankExtractor):
    """Kaldi-compatible fbank via kaldi-native-fbank, usable wherever Lhotse takes an extractor."""

    name = "knf-fbank"
    config_type = KnfFbankConfig

    def extract(self, samples: np.ndarray, sampling_rate: int) -> np.ndarray:
        """``samples``: 1-D or ``(1, n)`` float in [-1, 1] → ``(frames, num_mel_bins)`` float32."""
        return compute_fbank(_mono(samples, self.name), int(sampling_rate), self._opts)


def _mono(samples: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    """1-D float32 view of 1-D or ``(1, n)`` samples; errors name the extractor."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:
        if x.shape[0] != 1:
            raise ValueError(f"{name} expects mono audio, got {x.shape[0]} channels")
        return x[0]
    if x.ndim != 1:
        raise ValueError(f"{name} expects 1-D or (1, n) samples, got shape {x.shape}")
    return x


@dataclass
class TorchFbankConfig(KnfFbankConfig):
    """Options of :class:`TorchFbank`: the keys of ``configs/features.yaml`` (as :class:`KnfFbankConfig`)."""

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> "TorchFbankConfig":
        """Build from a mapping; unknown keys are an error naming them."""
        return TorchFbankConfig(**KnfFbankConfig.from_dict(data).to_dict())


@register_extractor
class TorchFbank(_KaldiFbankExtractor):
    """Kaldi-compatible fbank computed in torch on whole utterances (and batches) at once."""

    name = "torch-fbank"
    config_type = TorchFbankConfig

    def extract(self, samples: np.ndarray | torch.Tensor, sampling_rate: int) -> np.ndarray:
        """``samples``: 1-D or ``(1, n)`` float in [-1, 1] → ``(frames, num_mel_bins)`` float32."""
        return torch_fbank(_mono(samples, self.name), int(sampling_rate), self._opts)

    def extract_batch(
        self, samples: Sequence[np.ndarray] | np.ndarray | torch.Tensor, sampling_rate: int,
        lengths: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    ) -> list[np.ndarray] | np.ndarray | torch.Tensor:
        """A list of waveforms → a list of feature matrices, their frames in shared FFT calls.

        Other input forms (a padded batch with ``lengths``, one array) follow
        Lhotse's default (one :meth:`extract` per item).
        """
        if lengths is not None or not isinstance(samples, list):
            return super().extract_batch(samples, sampling_rate, lengths)
        as_torch = any(isinstance(x, torch.Tensor) for x in samples)
        mono = [_mono(x, self.name) for x in samples]
        feats = torch_fbank_batch(mono, int(sampling_rate), self._opts)
        return [torch.from_numpy(f) for f in feats] if as_torch else feats


#: ``features.backend`` → the Lhotse extractor that stores features with it
EXTRACTORS: dict[str, type[FeatureExtractor]] = {"knf": KnfFbank, "torch": TorchFbank}


def extractor_for(backend: str, cfg: Mapping[str, Any] | None = None) -> FeatureExtractor:
    """The stored-feature extractor of ``features.backend`` with the fbank options of ``cfg``.

    >>> extractor_for("torch", {"num_mel_bins": 40}).name
    'torch-fbank'
    """
    if backend not in EXTRACTORS:
        raise ValueError(f"features.backend must be one of {sorted(EXTRACTORS)}, got {backend!r}")
    return EXTRACTORS[backend].from_config(cfg)
