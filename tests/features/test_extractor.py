"""knf-fbank Lhotse extractor: shape, determinism, parity with kaldi-native-fbank, registration."""
from __future__ import annotations

from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import pytest
import yaml
from lhotse.features.base import FeatureExtractor, get_extractor_type

from spkssl.features.extractor import KnfFbank, KnfFbankConfig, TorchFbank
from spkssl.features.fbank import compute_fbank, fbank_defaults


def _direct_knf(x: np.ndarray, num_bins: int = 80) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = False
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = num_bins
    opts.mel_opts.low_freq = 20.0
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, (x * 32768.0).tolist())
    fb.input_finished()
    return np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)], dtype=np.float32)


def test_shape_determinism_and_parity(rng: np.random.Generator) -> None:
    x = rng.uniform(-0.5, 0.5, 16000 + 123).astype(np.float32)
    ext = KnfFbank()
    a, b = ext.extract(x, 16000), ext.extract(x[None, :], 16000)
    assert a.shape == (round(len(x) / 160), 80) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, _direct_knf(x))
    assert ext.frame_shift == 0.01 and ext.feature_dim(16000) == 80


@pytest.mark.parametrize("cls, name", [(KnfFbank, "knf-fbank"), (TorchFbank, "torch-fbank")])
def test_config_roundtrip_and_registry(cls, name) -> None:
    """Both extractors: options from a features section (cmn ignored), Lhotse round trip, registry."""
    ext = cls.from_config({"num_mel_bins": 40, "frame_shift_ms": 20.0, "cmn": True})
    assert ext.feature_dim(16000) == 40 and ext.frame_shift == 0.02
    again = FeatureExtractor.from_dict(ext.to_dict())
    assert type(again) is cls and again.config == ext.config
    assert get_extractor_type(name) is cls
    with pytest.raises(ValueError, match="unknown knf-fbank option"):
        cls.config_type.from_dict({"num_bins": 3})


def test_defaults_are_features_yaml(edit_defaults) -> None:
    yaml_path = Path(__file__).resolve().parents[2] / "spkssl" / "configs" / "features.yaml"
    section = yaml.safe_load(yaml_path.read_text())
    assert section.pop("cmn") is True  # not an fbank option: input normalisation of the network
    assert section.pop("backend") == "knf"  # not an fbank option: which implementation computes it
    assert KnfFbankConfig().to_dict() == section == fbank_defaults()
    edit_defaults("features", num_mel_bins=24, frame_shift_ms=20.0)  # no other copy of the defaults exists
    assert KnfFbankConfig().num_mel_bins == 24 and KnfFbank().frame_shift == 0.02
    assert compute_fbank(np.zeros(16000, dtype=np.float32), 16000).shape == (50, 24)


def test_errors(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="mono"):
        KnfFbank().extract(np.zeros((2, 1600), dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="8000 Hz"):
        KnfFbank().extract(np.zeros(1600, dtype=np.float32), 8000)
    assert compute_fbank(np.zeros(100, dtype=np.float32), 16000).shape[1] == 80
