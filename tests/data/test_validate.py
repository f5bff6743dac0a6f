"""Manifest validation: missing/short/sample-rate/duplicate problems and the summary table."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from lhotse import CutSet, Recording, SupervisionSegment
from lhotse.cut import MonoCut

from spkssl.config import with_defaults
from spkssl.cli import cli
from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts


def _cut(path: Path, seconds: float, sr: int = 16000, cid: str | None = None) -> MonoCut:
    if not path.exists():
        sf.write(path, np.zeros(int(seconds * sr), dtype=np.float32) + 0.01, sr)
    rec = Recording.from_file(path)
    cid = cid or rec.id
    sup = SupervisionSegment(id=cid, recording_id=rec.id, start=0, duration=rec.duration, speaker="s")
    return MonoCut(id=cid, start=0, duration=rec.duration, channel=0, recording=rec, supervisions=[sup])


def test_problems_are_named(tmp_path: Path) -> None:
    ok = _cut(tmp_path / "ok.wav", 1.0)
    short = _cut(tmp_path / "short.wav", 0.1)
    gone = _cut(tmp_path / "gone.wav", 1.0)
    (tmp_path / "gone.wav").unlink()
    dup = _cut(tmp_path / "ok.wav", 1.0, cid="ok")
    with pytest.raises(ManifestError) as err:
        validate_cuts(CutSet.from_cuts([ok, short, gone]) + CutSet([dup]), with_defaults("data", {"min_duration": 0.5}))
    msg = str(err.value)
    assert "duplicate cut id 'ok'" in msg
    assert "cut 'short'" in msg and "short.wav" in msg and "min_duration" in msg
    assert "cut 'gone': audio file missing" in msg and "gone.wav" in msg


def test_short_drop_and_sampling_rate_policies(tmp_path: Path) -> None:
    cuts = CutSet.from_cuts([_cut(tmp_path / "a.wav", 1.0), _cut(tmp_path / "b.wav", 0.2),
                             _cut(tmp_path / "c.wav", 1.0, sr=8000)])
    out = validate_cuts(cuts, with_defaults("data", {"on_short": "drop"}))
    assert sorted(out.ids) == ["a", "c"]
    assert out["c"].sampling_rate == 16000 and out["c"].load_audio().shape[1] == 16000
    with pytest.raises(ManifestError, match=r"cut 'c' .*8000 Hz, expected 16000 Hz"):
        validate_cuts(cuts, with_defaults("data", {"on_short": "drop", "on_sampling_rate_mismatch": "refuse"}))


def test_corrupt_audio_decode(tmp_path: Path) -> None:
    cut = _cut(tmp_path / "a.wav", 1.0)
    (tmp_path / "a.wav").write_bytes(b"garbage")
    with pytest.raises(ManifestError, match=r"cut 'a': audio unreadable .*a.wav"):
        validate_cuts(CutSet([cut]), with_defaults("data", {"check_audio": "decode"}))


def test_summary_on_real_files(speechocean_dir: Path, tmp_path: Path) -> None:
    lines = (speechocean_dir / "test" / "wav.scp").read_text().splitlines()[:4]
    cuts = CutSet.from_cuts(_cut(speechocean_dir / ln.split()[1], 0, cid=ln.split()[0]) for ln in lines)
    cuts = validate_cuts(cuts, with_defaults("data", {"check_audio": "decode"}))
    s = summarize_cuts(cuts)
    assert s["utterances"] == 4 and s["speakers"] == 1
    assert 0 < s["min"] <= s["p50"] <= s["max"]
    assert s["hours"] == pytest.approx(sum(c.duration for c in cuts) / 3600)
    table = format_summary(s, "test")
    assert table.splitlines()[0].split() == ["set", "speakers", "utterances", "hours",
                                             "min", "p5", "p50", "p95", "max"]
    path = tmp_path / "t_cuts.jsonl.gz"
    cuts.to_file(path)
    res = CliRunner().invoke(cli, ["prepare", "validate", str(path)])
    assert res.exit_code == 0, res.output
    assert "utterances" in res.output and "   4 " in res.output
