"""TrainingAudio: crop-only reads equal full decoding followed by the crop, for WAV, FLAC, cuts inside
longer recordings and short (looped) cuts; RAM preload within its bound; other formats through Lhotse."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet, MonoCut, Recording

from spkssl.augment.augment import fit_length
from spkssl.data.audio import AudioError, load_cut_audio
from spkssl.training.audio import TrainingAudio

SR = 16000


def _cuts(tmp_path: Path, fmt: str) -> list[MonoCut]:
    rng = np.random.default_rng(0)
    cuts = []
    for i, seconds in enumerate((3.0, 0.3, 2.2)):
        path = tmp_path / f"rec{i}.{fmt}"
        sf.write(path, (0.2 * rng.standard_normal(int(seconds * SR))).astype(np.float32), SR,
                 subtype="PCM_16" if fmt in ("wav", "flac") else None)
        rec = Recording.from_file(path, recording_id=f"rec{i}")
        cuts.append(MonoCut(id=f"c{i}", start=0.0, duration=rec.duration, channel=0, recording=rec))
    long = cuts[0].recording  # a cut inside a longer recording
    cuts.append(MonoCut(id="inner", start=1.25, duration=1.5, channel=0, recording=long))
    return cuts


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_crop_only_equals_full_decoding_then_crop(tmp_path: Path, fmt: str) -> None:
    cuts = _cuts(tmp_path, fmt)
    audio = TrainingAudio(cuts, SR)
    assert audio.num_direct == len(cuts) and not audio.in_memory
    for i, cut in enumerate(cuts):
        assert np.array_equal(audio.full(i), load_cut_audio(cut)), cut.id
        for length in (800, 8000, 40000):  # inside the cut, and longer than it (looped)
            for seed in range(3):
                got = audio.crop(i, length, np.random.default_rng(seed))
                want = fit_length(load_cut_audio(cut), length, np.random.default_rng(seed))
                assert np.array_equal(got, want), (cut.id, length, seed)


def test_preload_within_its_bound_gives_the_same_crops(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, "flac")
    audio = TrainingAudio(cuts, SR)
    before = [audio.crop(i, 8000, np.random.default_rng(i)) for i in range(len(cuts))]
    assert not audio.preload(max_mb=0.01)  # 7 s of float32 is ~0.4 MiB
    assert audio.preload(max_mb=1.0, num_jobs=2) and audio.in_memory
    after = [audio.crop(i, 8000, np.random.default_rng(i)) for i in range(len(cuts))]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


def test_other_formats_are_decoded_by_lhotse(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, "ogg")
    audio = TrainingAudio(cuts, SR)
    assert audio.num_direct == 0
    got = audio.crop(0, 8000, np.random.default_rng(4))
    assert np.array_equal(got, fit_length(load_cut_audio(cuts[0]), 8000, np.random.default_rng(4)))
    assert audio.preload(max_mb=10.0) and np.array_equal(audio.full(0), load_cut_audio(cuts[0]))


def test_lazy_manifest_and_errors_name_the_cut(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, "wav")
    CutSet.from_cuts(cuts).to_file(tmp_path / "cuts.jsonl.gz")
    audio = TrainingAudio.from_file(tmp_path / "cuts.jsonl.gz", SR)
    assert list(audio.ids) == [c.id for c in cuts]
    (tmp_path / "rec2.wav").write_bytes(b"not audio")
    with pytest.raises(AudioError, match="cut 'c2'.*rec2.wav"):
        audio.crop(2, 8000, np.random.default_rng(0))
