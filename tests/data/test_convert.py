"""Audio conversion to FLAC: lossless for PCM input, resumable, manifest written last."""
from __future__ import annotations

import numpy as np
import soundfile as sf
from lhotse import CutSet, MonoCut, Recording, SupervisionSegment

from spkssl.data.convert import convert_cuts_audio


def _cuts(tmp_path, n=3) -> CutSet:
    cuts = []
    rng = np.random.default_rng(0)
    for i in range(n):
        path = tmp_path / f"a{i}.wav"
        sf.write(path, (rng.standard_normal(8000) * 0.1).astype("float32"), 16000)
        rec = Recording.from_file(path, recording_id=f"id0000{i}-vid-0000{i}")
        sup = SupervisionSegment(id=rec.id, recording_id=rec.id, start=0, duration=rec.duration, speaker=f"id0000{i}")
        cuts.append(MonoCut(id=rec.id, start=0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup]))
    return CutSet.from_cuts(cuts)


def test_convert_is_lossless_and_keeps_ids(tmp_path) -> None:
    cuts = _cuts(tmp_path)
    cuts.to_file(tmp_path / "in.jsonl.gz")
    out = convert_cuts_audio(tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl.gz", tmp_path / "flac", num_jobs=2, batch_size=2)
    converted = CutSet.from_file(out)
    assert [c.id for c in converted] == [c.id for c in cuts]
    for a, b in zip(cuts, converted):
        assert b.recording.sources[0].source.endswith(".flac")
        assert b.supervisions[0].speaker == a.supervisions[0].speaker
        np.testing.assert_array_equal(a.load_audio(), b.load_audio())


def test_convert_reuses_finished_files(tmp_path) -> None:
    cuts = _cuts(tmp_path, n=2)
    cuts.to_file(tmp_path / "in.jsonl.gz")
    convert_cuts_audio(tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl.gz", tmp_path / "flac")
    first = sorted((tmp_path / "flac").rglob("*.flac"))
    mtimes = [p.stat().st_mtime_ns for p in first]
    (tmp_path / "out.jsonl.gz").unlink()  # as if killed before the manifest was written
    convert_cuts_audio(tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl.gz", tmp_path / "flac")
    assert [p.stat().st_mtime_ns for p in first] == mtimes
    assert len(CutSet.from_file(tmp_path / "out.jsonl.gz")) == 2
