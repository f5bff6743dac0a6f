"""The batched training front-end: fbank parity with kaldi-native-fbank on real speech, CMN, shapes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from spkssl.config import with_defaults
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.features.fbank import INT16_SCALE, compute_fbank
from spkssl.features.torch_fbank import fbank_plan, frames_view, kaldi_tolerance


def _crops(corpus: Path, n: int, length: int) -> np.ndarray:
    lines = (corpus / "train" / "wav.scp").read_text().splitlines()[:n]
    out = []
    for line in lines:
        x, sr = sf.read(corpus / line.split()[1], dtype="float32")
        assert sr == 16000
        out.append(np.resize(x, length))  # loops short utterances, as training does
    return np.stack(out)


def test_batched_fbank_matches_kaldi_native_fbank_on_speech(speechocean_dir: Path) -> None:
    crops = _crops(speechocean_dir, 24, 32000)
    front = BatchFrontend(with_defaults("features", {"cmn": False}))
    got = front(torch.from_numpy(crops)).numpy()
    want = np.stack([compute_fbank(c, 16000) for c in crops])
    assert got.shape == want.shape == (24, 200, 80)
    diff = np.abs(got - want)
    print(f"batched fbank vs kaldi-native-fbank on {len(crops)} two-second speech crops: "
          f"max |diff| {diff.max():.3g}, mean |diff| {diff.mean():.3g}")
    plan = fbank_plan()
    for c, g, w in zip(crops, got, want):
        frames = frames_view(torch.from_numpy(c * INT16_SCALE), plan).double()
        frame_log_energy = frames.pow(2).sum(1).clamp_min(1e-30).log().numpy()
        assert (np.abs(g - w) <= kaldi_tolerance(w, frame_log_energy)).all()
    assert diff.mean() < 1e-4


def test_cmn_and_the_features_section() -> None:
    x = torch.randn(4, 8000) * 0.1
    a = BatchFrontend(with_defaults("features", {"num_mel_bins": 24}))(x)
    b = BatchFrontend(with_defaults("features", {"num_mel_bins": 24, "cmn": False}))(x)
    assert a.shape == (4, 50, 24) and torch.allclose(a, b - b.mean(dim=1, keepdim=True), atol=1e-5)
    assert BatchFrontend(with_defaults("features", {"frame_shift_ms": 20.0}))(x).shape == (4, 25, 80)


def test_training_dither_perturbs_the_features_and_the_default_front_end_does_not() -> None:
    wave = torch.zeros(2, 8000)
    wave[:, ::50] = 0.01
    plain = BatchFrontend(with_defaults("features", {"num_mel_bins": 24}))
    assert torch.equal(plain(wave), plain(wave))  # deterministic without dither
    torch.manual_seed(0)
    dithered = BatchFrontend(with_defaults("features", {"num_mel_bins": 24}), dither=1.0)(wave)
    assert dithered.shape == plain(wave).shape and not torch.allclose(dithered, plain(wave))
    silent = BatchFrontend(with_defaults("features", {"num_mel_bins": 24}), dither=1.0)(torch.zeros(1, 8000))
    assert torch.isfinite(silent).all() and silent.std() > 0.1  # silence becomes low-level noise, as Kaldi's dither
