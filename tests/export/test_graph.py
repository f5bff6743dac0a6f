"""The exported graph's fbank (reshapes + one matrix product) equals kaldi-native-fbank within torch_fbank's stated tolerance."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from spkssl.config import with_defaults
from spkssl.export.graph import WaveFbank
from spkssl.features.fbank import INT16_SCALE
from spkssl.features.torch_fbank import kaldi_tolerance
from tests.features.test_torch_fbank import OPTION_SETS, _speech_like, knf_direct, naive_frames


def _check(x: np.ndarray, cfg: dict) -> None:
    graph = WaveFbank(with_defaults("features", cfg))
    ours = graph(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()
    ref = knf_direct(x, cfg)
    assert ours.shape == ref.shape
    frames = naive_frames(np.asarray(x, np.float64) * INT16_SCALE, {**cfg, "sampling_rate": 16000})
    tol = kaldi_tolerance(ref.astype(np.float64), np.log(np.maximum((frames ** 2).sum(axis=1), 1e-30)))
    diff = np.abs(ours.astype(np.float64) - ref)
    assert (diff <= tol).all(), f"max excess {np.max(diff - tol):.3g}"


@pytest.mark.parametrize("cfg", [c for c in OPTION_SETS if c.get("sampling_rate", 16000) == 16000],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "defaults")
def test_graph_fbank_matches_knf(cfg) -> None:
    rng = np.random.default_rng(1)
    for x in (_speech_like(0), rng.uniform(-0.5, 0.5, 16123).astype(np.float32),
              np.r_[np.zeros(2000), 1e-3 * rng.normal(size=3000)].astype(np.float32)):
        _check(x, cfg)


@pytest.mark.parametrize("n", [400, 401, 559, 560, 721])
def test_short_inputs_frame_like_kaldi(n: int) -> None:
    _check(np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32), {})
    _check(np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32), {"snip_edges": True})


def test_real_speech(speechocean_dir) -> None:
    for line in (speechocean_dir / "test" / "wav.scp").read_text().splitlines()[:4]:
        x, _ = sf.read(speechocean_dir / line.split()[1], dtype="float32")
        _check(x, {})
