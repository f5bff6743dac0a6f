"""provenance.json: what made a folder of embeddings, compared before the folder is used or overwritten."""
from __future__ import annotations

import pytest

from spkssl.embed.provenance import (BASELINE, Provenance, ProvenanceError, check_provenance, file_sha256,
                                     read_provenance, write_provenance)


def test_the_record_names_what_differs(tmp_path) -> None:
    (tmp_path / "m.pt").write_bytes(b"model")
    a = Provenance.of(tmp_path / "m.pt", [("u1", "a.wav"), ("u2", "b.wav")], {"infer.channel": None})
    assert a.model_sha256 == file_sha256(tmp_path / "m.pt") and a.num_inputs == 2
    assert a.differences(Provenance.of(tmp_path / "m.pt", [("u2", "b.wav"), ("u1", "a.wav")], {"infer.channel": None})) == []
    other_inputs = Provenance.of(tmp_path / "m.pt", [("u1", "a.wav")], {"infer.channel": 0})
    assert a.differences(other_inputs) == ["inputs (2 utterance(s) against 1)", "infer.channel=None against 0"]
    write_provenance(tmp_path / "e", a)
    assert read_provenance(tmp_path / "e") == a
    with pytest.raises(ProvenanceError, match="other inputs or settings than asked: inputs"):
        check_provenance(tmp_path / "e", other_inputs)
    check_provenance(tmp_path / "e", other_inputs, model_only=True)  # the same model: what verify checks


def test_the_baseline_and_folders_without_a_record(tmp_path) -> None:
    base = Provenance.of(None, [])
    assert base.model == BASELINE and base.maker() == BASELINE
    check_provenance(tmp_path, base)  # no record (e.g. Kaldi's xvectors): nothing to compare
    (tmp_path / "provenance.json").write_text("{not json")
    with pytest.raises(ProvenanceError, match="not a provenance record"):
        read_provenance(tmp_path)
