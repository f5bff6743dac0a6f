"""Kaldi data dir import: files, pipes, segments, genders, malformed lines, CLI atomicity."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from lhotse import CutSet

from spkssl.cli import cli
from spkssl.data.kaldi_dir import KaldiDirError, import_kaldi_dir

SR = 16000


def _wav(path: Path, seconds: float, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(seed).uniform(-0.3, 0.3, int(seconds * SR)).astype(np.float32)
    sf.write(path, x, SR, subtype="PCM_16")
    return path


def _data_dir(root: Path, wav_scp: str, utt2spk: str, **extra: str) -> Path:
    d = root / "data" / "train"
    d.mkdir(parents=True, exist_ok=True)
    (d / "wav.scp").write_text(wav_scp)
    (d / "utt2spk").write_text(utt2spk)
    for name, text in extra.items():
        (d / name).write_text(text)
    return d


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    _wav(tmp_path / "data" / "audio" / "a.wav", 1.0, 1)
    _wav(tmp_path / "data" / "audio" / "b.wav", 2.0, 2)
    _wav(tmp_path / "c.wav", 1.5, 3)
    return tmp_path


def test_files_pipes_and_gender(corpus: Path) -> None:
    pipe = f"cat {corpus / 'c.wav'} |"
    d = _data_dir(corpus, f"u1 audio/a.wav\nu2 audio/b.wav\nu3 {pipe}\n",
                  "u1 s1\nu2 s1\nu3 s2\n", spk2gender="s1 m\ns2 f\n")
    recs, sups, cuts = import_kaldi_dir(d)
    assert sorted(cuts.ids) == ["u1", "u2", "u3"]
    assert cuts["u2"].duration == pytest.approx(2.0)
    assert cuts["u3"].recording.sources[0].type == "command"
    assert cuts["u3"].duration == pytest.approx(1.5)
    sup = cuts["u3"].supervisions[0]
    assert (sup.speaker, sup.gender, sup.id) == ("s2", "f", "u3")
    # audio of the pipe is the same as the file it cats
    np.testing.assert_allclose(cuts["u3"].load_audio()[0], sf.read(corpus / "c.wav")[0], atol=1e-6)
    assert Path(cuts["u1"].recording.sources[0].source).is_absolute()


def test_segments(corpus: Path) -> None:
    d = _data_dir(corpus, "recB audio/b.wav\n", "x1 s1\nx2 s2\n",
                  segments="x1 recB 0.0 0.5\nx2 recB 0.75 -1\n")
    recs, sups, cuts = import_kaldi_dir(d)
    assert len(recs) == 1 and sorted(cuts.ids) == ["x1", "x2"]
    assert cuts["x2"].start == pytest.approx(0.75) and cuts["x2"].duration == pytest.approx(1.25)
    assert cuts["x2"].supervisions[0].start == 0.0
    assert cuts["x1"].load_audio().shape[1] == int(0.5 * SR)


@pytest.mark.parametrize(
    "files, message",
    [
        ({"wav.scp": "u1\n", "utt2spk": "u1 s1\n"}, "wav.scp:1: expected '<key> <value>'"),
        ({"wav.scp": "u1 audio/a.wav\nu1 audio/b.wav\n", "utt2spk": "u1 s1\n"}, "wav.scp:2: duplicate key 'u1'"),
        ({"wav.scp": "u1 audio/a.wav\n", "utt2spk": "u1 s1 extra\n"}, "utt2spk:1: expected 2 fields"),
        ({"wav.scp": "u1 audio/a.wav\n", "utt2spk": "u9 s1\n"}, "1 utterance(s) have no speaker, e.g. 'u1'"),
        ({"wav.scp": "u1 audio/missing.wav\n", "utt2spk": "u1 s1\n"}, "wav.scp:1: cannot read audio of 'u1'"),
        ({"wav.scp": "u1 audio/a.wav\n", "utt2spk": "u1 s1\n", "spk2gender": "s1 x\n"}, "spk2gender:1: gender of 's1'"),
        ({"wav.scp": "r audio/a.wav\n", "utt2spk": "u1 s1\n", "segments": "u1 r 0.5 0.2\n"}, "segments:1: bad segment times"),
        ({"wav.scp": "u1 false |\n", "utt2spk": "u1 s1\n"}, "command exited with status"),
    ],
)
def test_malformed(corpus: Path, files: dict[str, str], message: str) -> None:
    d = _data_dir(corpus, files.pop("wav.scp"), files.pop("utt2spk"), **files)
    with pytest.raises(KaldiDirError, match=None) as err:
        import_kaldi_dir(d)
    assert message in str(err.value)


def test_corrupt_audio_named_and_older_manifests_removed(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    d = _data_dir(corpus, "u1 audio/a.wav\n", "u1 s1\n")
    runner = CliRunner()
    res = runner.invoke(cli, ["prepare", "kaldi-dir", str(d), str(out), "--prefix", "train"])
    assert res.exit_code == 0, res.output
    before = (out / "train_cuts.jsonl.gz").read_bytes()
    (corpus / "data" / "audio" / "bad.wav").write_bytes(b"RIFF not really a wav")
    (d / "wav.scp").write_text("u1 audio/a.wav\nu2 audio/bad.wav\n")
    (d / "utt2spk").write_text("u1 s1\nu2 s1\n")
    res = runner.invoke(cli, ["prepare", "kaldi-dir", str(d), str(out), "--prefix", "train"])
    assert res.exit_code != 0
    assert "'u2'" in res.output and "bad.wav" in res.output
    assert before and sorted(p.name for p in out.iterdir()) == []  # nothing a later stage could mistake for it


def test_real_corpus_few_files(speechocean_dir: Path, tmp_path: Path) -> None:
    src = speechocean_dir / "train"
    lines = (src / "wav.scp").read_text().splitlines()[:5]
    d = tmp_path / "so"
    d.mkdir()
    (d / "wav.scp").write_text("\n".join(lines) + "\n")
    utts = {ln.split()[0] for ln in lines}
    (d / "utt2spk").write_text("".join(ln + "\n" for ln in (src / "utt2spk").read_text().splitlines()
                                       if ln.split()[0] in utts))
    recs, sups, cuts = import_kaldi_dir(d, audio_root=speechocean_dir)
    assert set(cuts.ids) == utts
    cut = next(iter(cuts))
    assert cut.sampling_rate == 16000
    assert cut.load_audio().shape[1] == cut.recording.num_samples
    assert isinstance(CutSet.from_cuts(cuts), CutSet)


def test_without_utt2spk_the_corpus_is_unlabelled(corpus: Path, tmp_path: Path) -> None:
    d = _data_dir(corpus, "u1 audio/a.wav\nu2 audio/b.wav\n", "", spk2gender="s1 m\n")
    (d / "utt2spk").unlink()
    recs, sups, cuts = import_kaldi_dir(d)
    assert sorted(cuts.ids) == ["u1", "u2"]
    assert [c.supervisions[0].speaker for c in cuts] == [None, None]
    out = tmp_path / "manifests"
    res = CliRunner().invoke(cli, ["prepare", "kaldi-dir", str(d), str(out), "--prefix", "train"])
    assert res.exit_code == 0 and "2 of 2 cuts have no speaker" in res.stdout, res.output
    # a test set needs its speakers: refused, naming the cuts, and nothing left behind
    res = CliRunner().invoke(cli, ["prepare", "kaldi-dir", str(d), str(out), "--prefix", "train",
                                   "--require-speakers", "true"])
    assert res.exit_code == 1 and "cut 'u1'" in res.output and "has no speaker" in res.output
    assert sorted(out.iterdir()) == []
