"""The cross-channel test condition: deterministic copies, one channel per utterance, trials over the copies."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from lhotse import CutSet

from spkssl.cli import cli
from spkssl.config import load_config
from spkssl.data.channel import CODECS, apply_channel, draw_channel, make_cross_channel, room_bank
from spkssl.data.trials import TrialsError
from tests.training.conftest import make_cuts


def _cfg(**kw: object) -> dict:
    return {**load_config(None)["data"]["cross_channel"], "num_rooms": 3, **kw}


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    cuts = make_cuts(tmp_path / "c", [1.0, 1.2, 0.9, 1.1, 0.8, 1.3], num_speakers=3)
    ids = [c.id for c in CutSet.from_file(cuts)]
    trials = tmp_path / "t.trials"
    trials.write_text(f"{ids[0]} {ids[3]} target\n{ids[0]} {ids[1]} nontarget\n{ids[4]} {ids[2]} nontarget\n")
    return cuts, trials


def test_the_copies_and_their_trials_are_the_same_on_every_run_and_for_any_number_of_jobs(
        corpus: tuple[Path, Path], tmp_path: Path) -> None:
    cuts, trials = corpus
    runs = []
    for name, nj in (("a", 1), ("b", 2)):
        out = tmp_path / name
        done = make_cross_channel(cuts, trials, out / "audio", out / "cuts.jsonl.gz", out / "x.trials", _cfg(), nj)
        assert done == {"utterances": 5, "trials": 3}
        runs.append(out)
    a, b = runs
    names = sorted(p.name for p in (a / "audio").glob("*.flac"))
    assert names == sorted(p.name for p in (b / "audio").glob("*.flac")) and len(names) == 5
    assert all((a / "audio" / n).read_bytes() == (b / "audio" / n).read_bytes() for n in names)
    assert (a / "x.trials").read_text() == (b / "x.trials").read_text()
    assert (a / "x.trials").read_text().splitlines()[0] == "utt000_xch utt003_xch target"
    channels = json.loads((a / "audio" / "channels.json").read_text())["channels"]
    assert channels == json.loads((b / "audio" / "channels.json").read_text())["channels"]
    copies = CutSet.from_file(a / "cuts.jsonl.gz")
    assert sorted(c.id for c in copies) == [n[:-5] for n in names]
    original = {c.id: c for c in CutSet.from_file(cuts)}
    for c in copies:  # same length and speaker (which only measures); the audio changed
        src = original[c.id[:-4]]
        assert c.supervisions[0].speaker == src.supervisions[0].speaker
        assert abs(c.duration - src.duration) < 1e-3
        assert not np.allclose(c.load_audio(), src.load_audio(), atol=1e-3)


def test_a_channel_depends_on_the_seed_and_the_id_only() -> None:
    cfg = _cfg(num_rooms=200)
    assert draw_channel("u1", cfg) == draw_channel("u1", dict(cfg))
    draws = {draw_channel(f"u{i}", cfg) for i in range(20)}
    assert len(draws) == 20 and len({d.codec for d in draws}) > 1 and len({d.room for d in draws}) > 1
    assert draw_channel("u1", {**cfg, "seed": 1}) != draw_channel("u1", cfg)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_every_codec_keeps_length_and_level(codec: str) -> None:
    sr = 16000
    t = np.arange(sr) / sr
    x = (0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    cfg = _cfg(codecs=[codec])
    y = apply_channel(x, sr, draw_channel("u", cfg), room_bank(cfg, sr))
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    assert 0.5 < np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)) < 2.0


def test_an_utterance_missing_from_the_cuts_is_named_and_nothing_is_written(corpus: tuple[Path, Path],
                                                                            tmp_path: Path) -> None:
    cuts, trials = corpus
    trials.write_text(trials.read_text() + "utt000 ghost nontarget\n")
    with pytest.raises(TrialsError, match=rf"{trials}:4: utterance 'ghost' is not in {cuts}"):
        make_cross_channel(cuts, trials, tmp_path / "o", tmp_path / "c.jsonl.gz", tmp_path / "x.trials", _cfg())
    assert not (tmp_path / "c.jsonl.gz").exists() and not (tmp_path / "x.trials").exists()


def test_the_command_writes_then_skips(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    cuts, trials = corpus
    args = ["prepare", "cross-channel", str(cuts), str(trials), str(tmp_path / "a"), str(tmp_path / "c.jsonl.gz"),
            str(tmp_path / "x.trials"), "--set", "data.cross_channel.num_rooms=2"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "wrote 5 cross-channel copies" in res.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "already in" in again.output
