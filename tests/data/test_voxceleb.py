"""VoxCeleb via lhotse's recipe helpers on a tiny fake tree, then trial conversion against it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from lhotse import CutSet

from spkssl.cli import cli
from spkssl.data.voxceleb import VoxCelebError, prepare_voxceleb_sets

VOX1 = {"id10001": ("m", "dev"), "id10002": ("f", "dev"), "id10270": ("m", "test"),
        "id10300": ("f", "test")}


def _tree(root: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    for spk, (gender, split) in VOX1.items():
        rows.append(f"{spk}\tName_{spk}\t{gender}\tUSA\t{split}")
        for video in ("vidA", "vidB"):
            p = root / "wav" / spk / video / "00001.wav"
            p.parent.mkdir(parents=True)
            sf.write(p, rng.uniform(-0.2, 0.2, 12000).astype(np.float32), 16000)
    (root / "vox1_meta.csv").write_text("\n".join(rows) + "\n")
    return root


def test_vox1_sets_and_trials(tmp_path: Path) -> None:
    vox1 = _tree(tmp_path / "vox1")
    out = tmp_path / "manifests"
    sets = prepare_voxceleb_sets(out, vox1=vox1)
    assert sorted(sets) == ["vox1_dev", "vox1_test"]
    test = CutSet.from_file(out / "vox1_test_cuts.jsonl.gz").to_eager()
    assert sorted(test.ids) == ["id10270-vidA-00001", "id10270-vidB-00001",
                                "id10300-vidA-00001", "id10300-vidB-00001"]
    sup = test["id10300-vidA-00001"].supervisions[0]
    assert (sup.speaker, sup.gender) == ("id10300", "f")
    assert {s.speaker for c in sets["vox1_dev"] for s in c.supervisions} == {"id10001", "id10002"}

    veri = tmp_path / "veri_test.txt"
    veri.write_text("1 id10270/vidA/00001.wav id10270/vidB/00001.wav\n"
                    "0 id10270/vidA/00001.wav id10300/vidB/00001.wav\n")
    runner = CliRunner()
    res = runner.invoke(cli, ["prepare", "trials", str(veri), str(tmp_path / "vox1_o.trials"),
                              "--cuts", str(out / "vox1_test_cuts.jsonl.gz")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "vox1_o.trials").read_text().split("\n")[0] == \
        "id10270-vidA-00001 id10270-vidB-00001 target"
    veri.write_text("1 id10270/vidA/00001.wav id10001/vidA/00001.wav\n")  # dev speaker: not in test cuts
    res = runner.invoke(cli, ["prepare", "trials", str(veri), str(tmp_path / "x.trials"),
                              "--cuts", str(out / "vox1_test_cuts.jsonl.gz")])
    assert res.exit_code != 0 and "veri_test.txt:1" in res.output and "id10001-vidA-00001" in res.output


def test_layout_errors(tmp_path: Path) -> None:
    with pytest.raises(VoxCelebError, match="vox1_meta.csv"):
        prepare_voxceleb_sets(tmp_path, vox1=tmp_path)
    with pytest.raises(VoxCelebError, match="at least one"):
        prepare_voxceleb_sets(tmp_path)
