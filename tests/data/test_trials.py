"""Trial lists: official VoxCeleb → Kaldi, Kaldi copy, unknown ids and malformed lines."""
from __future__ import annotations

from pathlib import Path

import pytest

from spkssl.data.trials import TrialsError, convert_trials, voxceleb_path_to_id

IDS = {"id10270-x6uYqmx31kE-00001", "id10270-8jEAjG6SegY-00008", "id10300-ize_eiCFEg0-00003"}


def test_official_to_kaldi(tmp_path: Path) -> None:
    src = tmp_path / "veri.txt"
    src.write_text("1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav\n"
                   "0 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav\n\n")
    out = tmp_path / "trials" / "vox1_o.trials"
    assert convert_trials(src, out, IDS).num_trials == 2
    assert out.read_text().splitlines() == [
        "id10270-x6uYqmx31kE-00001 id10270-8jEAjG6SegY-00008 target",
        "id10270-x6uYqmx31kE-00001 id10300-ize_eiCFEg0-00003 nontarget",
    ]


def test_kaldi_form_is_copied(tmp_path: Path) -> None:
    src = tmp_path / "k.trials"
    src.write_text("a b target\nb c nontarget\n")
    out = tmp_path / "out.trials"
    convert_trials(src, out, {"a", "b", "c"})
    assert out.read_text() == src.read_text()


@pytest.mark.parametrize("text, message", [
    ("a b target\na zz nontarget\n", "k.trials:2: utterance 'zz' is not in the cut set"),
    ("a b\n", "k.trials:1: expected 3 fields"),
    ("a b maybe\n", "k.trials:1: cannot tell the format"),
    ("\n", "no trials found"),
])
def test_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    src = tmp_path / "k.trials"
    src.write_text(text)
    out = tmp_path / "out.trials"
    out.write_text("previous\n")
    with pytest.raises(TrialsError) as err:
        convert_trials(src, out, {"a", "b", "c"})
    assert message in str(err.value)
    assert out.read_text() == "previous\n"


def test_path_to_id() -> None:
    assert voxceleb_path_to_id("id10270/x6uYqmx31kE/00001.wav") == "id10270-x6uYqmx31kE-00001"


def _cuts(tmp_path: Path, speakers: dict[str, int], unlabelled: int = 0) -> Path:
    """A cut set (no audio is read) with ``n`` cuts per speaker, and some without a speaker."""
    from lhotse import CutSet, Recording, SupervisionSegment
    from lhotse.audio import AudioSource
    from lhotse.cut import MonoCut

    cuts = []
    owners = [(f"{spk}_{i}", spk) for spk, n in speakers.items() for i in range(n)]
    owners += [(f"x_{i}", None) for i in range(unlabelled)]
    for cid, spk in owners:
        rec = Recording(cid, [AudioSource("file", [0], f"{cid}.wav")], 16000, 16000, 1.0)
        cuts.append(MonoCut(cid, 0.0, 1.0, 0, recording=rec,
                            supervisions=[SupervisionSegment(cid, cid, 0.0, 1.0, speaker=spk)]))
    path = tmp_path / "cuts.jsonl.gz"
    CutSet.from_cuts(cuts).to_file(path)
    return path


def _make(*args: str):
    from click.testing import CliRunner

    from spkssl.cli import cli

    return CliRunner().invoke(cli, ["prepare", "trials", *args])


def test_make_pairs_every_speaker_as_val_trials_does(tmp_path: Path) -> None:
    from spkssl.data.trials import speaker_trials, validation_trials

    cuts = _cuts(tmp_path, {"a": 4, "b": 3, "c": 2, "d": 1})  # d: one utterance, no pair of its own
    out = tmp_path / "test.trials"
    res = _make("--make", str(out), "--cuts", str(cuts), "--nontargets-per-target", "2")
    assert res.exit_code == 0, res.output
    lines = [line.split() for line in out.read_text().splitlines()]
    targets = [(a, b) for a, b, lab in lines if lab == "target"]
    assert len(targets) == 6 + 3 + 1 and all(a.split("_")[0] == b.split("_")[0] and a < b for a, b in targets)
    nontargets = [(a, b) for a, b, lab in lines if lab == "nontarget"]
    assert len(nontargets) == 2 * 10 == len(set(nontargets))
    assert all(a.split("_")[0] != b.split("_")[0] and "d_0" not in (a, b) for a, b in nontargets)
    assert res.stdout.strip() == f"wrote 30 trials (10 target, 20 nontarget) to {out}"
    # the same rules as the validation trials: with every speaker drawn, the same target pairs and counts
    pairs = [(f"{s}_{i}", s) for s, n in {"a": 4, "b": 3, "c": 2, "d": 1}.items() for i in range(n)]
    val = validation_trials(pairs, 3, 0, 2)
    assert [t[:2] for t in val if t[2] == "target"] == targets and len(val) == len(lines)
    assert [" ".join(t) for t in speaker_trials(pairs, None, 0, 2)] == out.read_text().splitlines()


def test_make_per_speaker_targets_and_seed(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, {"a": 5, "b": 5, "c": 5})
    texts = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"t{len(texts)}.trials"
        res = _make("--make", str(out), "--cuts", str(cuts), "--targets-per-speaker", "2",
                    "--nontargets-per-target", "3", "--seed", seed)
        assert res.exit_code == 0, res.output
        texts.append(out.read_text())
    lines = [line.split() for line in texts[0].splitlines()]
    per_speaker = {s: sum(lab == "target" and a.startswith(s) for a, _, lab in lines) for s in "abc"}
    assert per_speaker == {"a": 2, "b": 2, "c": 2} and sum(lab == "nontarget" for *_, lab in lines) == 18
    assert texts[0] == texts[1] != texts[2]


@pytest.mark.parametrize("speakers, unlabelled, args, message", [
    ({"a": 2, "b": 2}, 1, [], "1 cut(s) have no speaker, e.g. 'x_0'; trials need speaker labels"),
    ({"a": 3, "b": 1}, 0, [], "need at least 2 speakers with 2 or more utterances for trials, found 1"),
    ({}, 2, [], "2 cut(s) have no speaker"),
    ({"a": 2, "b": 2}, 0, ["extra.trials"], "--make OUT writes OUT: give no LIST OUT"),
    ({"a": 2, "b": 2}, 0, ["--skip-missing", "true"], "--make OUT writes OUT: give no LIST OUT and no --skip-missing"),
    ({"a": 2, "b": 2}, 0, ["--targets-per-speaker", "0"], "0 is not in the range x>=1"),
])
def test_make_bad_input(tmp_path: Path, speakers: dict, unlabelled: int, args: list, message: str) -> None:
    cuts = _cuts(tmp_path, speakers, unlabelled)
    out = tmp_path / "out.trials"
    out.write_text("previous\n")
    res = _make("--make", str(out), "--cuts", str(cuts), *args)
    assert res.exit_code != 0 and message in res.output, res.output
    assert out.read_text() == "previous\n"
    if res.exit_code == 1:
        assert str(cuts) in res.output  # the cut set is named


def test_make_options_need_make_and_list_needs_out(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, {"a": 2, "b": 2})
    res = _make(str(tmp_path / "list"), str(tmp_path / "out"), "--cuts", str(cuts), "--seed", "3")
    assert res.exit_code == 2 and "go with --make" in res.output
    res = _make(str(tmp_path / "out"), "--cuts", str(cuts))
    assert res.exit_code == 2 and "give LIST and OUT" in res.output


def test_skip_missing_counts_the_trials_it_leaves_out(tmp_path: Path) -> None:
    src = tmp_path / "k.trials"
    src.write_text("a b target\na zz nontarget\nyy c nontarget\nb c nontarget\n")
    out = tmp_path / "out.trials"
    done = convert_trials(src, out, {"a", "b", "c"}, skip_missing=True)
    assert (done.num_trials, done.num_target, done.num_skipped) == (2, 1, 2)
    assert out.read_text() == "a b target\nb c nontarget\n"
    src.write_text("a zz target\n")
    with pytest.raises(TrialsError, match=r"no trials found \(1 skipped\)"):
        convert_trials(src, out, {"a"}, skip_missing=True)
    cuts = _cuts(tmp_path, {"a": 2})
    src.write_text("a_0 a_1 target\na_0 gone nontarget\n")
    res = _make(str(src), str(out), "--cuts", str(cuts), "--skip-missing", "true")
    assert res.exit_code == 0 and "skipped 1 naming utterances not in the cut set" in res.stdout, res.output
