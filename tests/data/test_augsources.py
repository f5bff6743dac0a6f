"""Augmentation sources: simulated RIR decay, noise colours, music, babble, manifests + CLI.

(``spkssl/augment/{rir,noise}.py`` are exercised here, as the generators of ``prepare aug-sources``.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from lhotse import CutSet, RecordingSet
from scipy.signal import welch

from spkssl.config import section_defaults, with_defaults
from spkssl.augment.noise import coloured_noise, harmonic_music, mix_babble
from spkssl.augment.rir import estimate_rt60, image_sources, random_room, simulate_rir
from spkssl.cli import cli
from spkssl.data.augsources import AugSourcesError, prepare_aug_sources

SR = 16000


@pytest.mark.parametrize("rt60", [0.25, 0.5, 0.75])
def test_rir_decay_matches_rt60(rt60: float) -> None:
    h = simulate_rir((6.0, 4.5, 3.0), (1.2, 1.0, 1.5), (4.1, 3.2, 1.3), rt60, SR, duration=0.6)
    assert h.shape == (int(0.6 * SR),) and np.max(np.abs(h)) == pytest.approx(1.0)
    assert estimate_rt60(h, SR) == pytest.approx(rt60, rel=0.2)
    # direct path first: nothing before the source-mic distance / c (minus filter spread)
    direct = np.linalg.norm(np.subtract((1.2, 1.0, 1.5), (4.1, 3.2, 1.3))) / 343.0 * SR
    assert np.max(np.abs(h[: int(direct) - 10])) < 0.05
    assert int(np.argmax(np.abs(h))) == pytest.approx(direct, abs=3)


def test_image_sources_geometry() -> None:
    dist, order = image_sources((4.0, 3.0, 2.5), (1.0, 1.0, 1.0), (2.0, 1.0, 1.0), max_dist=5.0)
    assert dist.min() == pytest.approx(1.0) and order[np.argmin(dist)] == 0
    # first-order image through the x=0 wall: source mirrored to x=-1 → distance 3
    assert np.any(np.isclose(dist, 3.0) & (order == 1))
    with pytest.raises(ValueError, match="outside the room"):
        image_sources((4.0, 3.0, 2.5), (5.0, 1.0, 1.0), (2.0, 1.0, 1.0), 5.0)


def test_random_rooms_valid(rng: np.random.Generator) -> None:
    for _ in range(5):
        room = random_room(rng, (0.3, 0.6))
        assert 0.3 <= room.rt60 <= 0.6
        assert all(0 < s < L for s, L in zip(room.source, room.size))


@pytest.mark.parametrize("colour, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_noise_colours(colour: str, slope: float, rng: np.random.Generator) -> None:
    x = coloured_noise(4 * SR, colour, rng)
    f, p = welch(x, SR, nperseg=2048)
    m = (f > 50) & (f < 4000)
    assert np.polyfit(np.log10(f[m]), np.log10(p[m]), 1)[0] == pytest.approx(slope, abs=0.15)
    assert np.sqrt(np.mean(x**2)) == pytest.approx(0.1, rel=1e-3)
    with pytest.raises(ValueError, match="unknown noise colour"):
        coloured_noise(100, "purple", rng)


def test_music_is_harmonic(rng: np.random.Generator) -> None:
    x = harmonic_music(2 * SR, SR, rng)
    f, p = welch(x, SR, nperseg=4096)
    assert f[np.argmax(p)] < 2000  # energy at note fundamentals / low harmonics, not flat like noise
    assert np.max(p) / np.median(p) > 100


def test_babble_is_mixture(rng: np.random.Generator) -> None:
    a, b = np.sin(np.arange(SR) * 0.1), 3 * np.sin(np.arange(SR // 2) * 0.37)
    mix = mix_babble([a, b], SR, rng)
    assert mix.shape == (SR,) and np.sqrt(np.mean(mix**2)) == pytest.approx(0.1, rel=1e-3)


def _train_cuts(tmp_path: Path, n: int = 8) -> Path:
    from lhotse import Recording
    from lhotse.cut import MonoCut

    cuts = []
    for i in range(n):
        p = tmp_path / "train" / f"u{i}.wav"
        p.parent.mkdir(exist_ok=True)
        sf.write(p, np.random.default_rng(i).uniform(-0.3, 0.3, SR).astype(np.float32), SR)
        rec = Recording.from_file(p)
        cuts.append(MonoCut(id=rec.id, start=0, duration=rec.duration, channel=0, recording=rec))
    path = tmp_path / "train_cuts.jsonl.gz"
    CutSet.from_cuts(cuts).to_file(path)
    return path


def test_prepare_generated_sources(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = with_defaults("data.aug_sources", {"num_rirs": 3, "num_noise": 3, "num_music": 2, "num_babble": 2,
                                             "duration": 1.0, "rir_duration": 0.3})
    out = tmp_path / "manifests"
    with caplog.at_level("INFO"):
        paths = prepare_aug_sources(out, train_cuts=_train_cuts(tmp_path), seed=1, cfg=cfg)
    assert set(paths) == {"noise", "music", "babble", "rir"}
    sizes = {k: len(RecordingSet.from_file(p)) for k, p in paths.items()}
    assert sizes == {"noise": 3, "music": 2, "babble": 2, "rir": 3}
    rec = RecordingSet.from_file(paths["babble"]).to_eager()[0]
    assert rec.sampling_rate == SR and rec.duration == pytest.approx(1.0)
    assert Path(rec.sources[0].source).is_relative_to(tmp_path / "aug_audio")
    assert "simulated coloured noise" in caplog.text and "simulated image-method" in caplog.text
    # same seed → same audio
    again = prepare_aug_sources(tmp_path / "m2", train_cuts=_train_cuts(tmp_path), seed=1, cfg=cfg,
                                audio_dir=tmp_path / "a2")
    r2 = RecordingSet.from_file(again["noise"]).to_eager()[0]
    rec_n = RecordingSet.from_file(paths["noise"]).to_eager()[0]
    np.testing.assert_array_equal(r2.load_audio(), rec_n.load_audio())


def test_cli_and_missing_babble_source(tmp_path: Path) -> None:
    with pytest.raises(AugSourcesError, match="babble needs MUSAN"):
        prepare_aug_sources(tmp_path, cfg=section_defaults("data")["aug_sources"])
    res = CliRunner().invoke(cli, ["prepare", "aug-sources", str(tmp_path / "m")])
    assert res.exit_code != 0 and "--train-cuts" in res.output
