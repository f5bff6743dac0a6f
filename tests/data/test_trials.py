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
    assert convert_trials(src, out, IDS) == 2
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
