"""Tests for spkssl.synth.corpus: determinism, Kaldi-dir consistency, trials."""
from __future__ import annotations

import json
from math import comb
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spkssl.synth.corpus import CorpusSpec, generate_corpus, make_trials

SPEC = CorpusSpec(num_train_speakers=2, num_test_speakers=3, utts_per_speaker=3,
                  min_seconds=1.0, max_seconds=1.5, seed=5, trials_per_target=2)


def read_map(path: Path) -> dict[str, str]:
    return dict(line.split(maxsplit=1) for line in path.read_text().splitlines())


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    generate_corpus(out, SPEC, progress=False)
    return out


def test_same_seed_identical_bytes_other_seed_differs(corpus: Path, tmp_path: Path) -> None:
    generate_corpus(tmp_path / "again", SPEC, progress=False, num_jobs=2)  # parallel: same bytes
    assert all_bytes(corpus) == all_bytes(tmp_path / "again")
    other = CorpusSpec(**{**SPEC.__dict__, "seed": 6})
    generate_corpus(tmp_path / "other", other, progress=False)
    a, b = all_bytes(corpus), all_bytes(tmp_path / "other")
    assert a.keys() == b.keys()
    assert a["wav/spk0001/spk0001-utt0001.wav"] != b["wav/spk0001/spk0001-utt0001.wav"]


def test_kaldi_dirs_are_consistent(corpus: Path) -> None:
    seen_spk: dict[str, set[str]] = {}
    for name, n_spk in (("train", SPEC.num_train_speakers), ("test", SPEC.num_test_speakers)):
        d = corpus / name
        scp, utt2spk = read_map(d / "wav.scp"), read_map(d / "utt2spk")
        spk2utt = {k: v.split() for k, v in read_map(d / "spk2utt").items()}
        spk2gender = read_map(d / "spk2gender")
        lines = (d / "wav.scp").read_text().splitlines()
        assert lines == sorted(lines)
        assert scp.keys() == utt2spk.keys()
        assert len(scp) == n_spk * SPEC.utts_per_speaker
        assert set(spk2utt) == set(spk2gender) == set(utt2spk.values())
        assert len(spk2utt) == n_spk
        assert set(spk2gender.values()) <= {"m", "f"}
        for spk, utts in spk2utt.items():
            assert all(utt2spk[u] == spk and u.startswith(f"{spk}-utt") for u in utts)
        for utt, rel in scp.items():
            assert rel == f"wav/{utt2spk[utt]}/{utt}.wav"
            info = sf.info(str(corpus / rel))
            assert info.samplerate == SPEC.sampling_rate and info.subtype == "PCM_16"
            assert SPEC.min_seconds - 1e-3 <= info.duration <= SPEC.max_seconds + 1e-3
        seen_spk[name] = set(spk2utt)
    assert not seen_spk["train"] & seen_spk["test"]


def test_trials_reference_test_utterances_with_right_labels_and_counts(corpus: Path) -> None:
    utt2spk = read_map(corpus / "test" / "utt2spk")
    trials = [line.split() for line in (corpus / "trials" / "test.trials").read_text().splitlines()]
    assert all(len(t) == 3 for t in trials)
    pairs = [(a, b) for a, b, _ in trials]
    assert len(set(pairs)) == len(pairs)
    for a, b, label in trials:
        assert a in utt2spk and b in utt2spk and a < b
        assert label == ("target" if utt2spk[a] == utt2spk[b] else "nontarget")
    n_target = sum(t[2] == "target" for t in trials)
    assert n_target == SPEC.num_test_speakers * comb(SPEC.utts_per_speaker, 2)
    assert len(trials) - n_target == SPEC.trials_per_target * n_target


def test_summary_json_lists_voices(corpus: Path) -> None:
    meta = json.loads((corpus / "synth.json").read_text())
    assert meta["spec"]["seed"] == SPEC.seed
    assert [v["speaker_id"] for v in meta["speakers"]["test"]] == ["spk0003", "spk0004", "spk0005"]
    gender = read_map(corpus / "test" / "spk2gender")
    assert all(gender[v["speaker_id"]] == v["gender"] for v in meta["speakers"]["test"])


def test_audio_and_voices_do_not_depend_on_corpus_size(corpus: Path, tmp_path: Path) -> None:
    small = CorpusSpec(**{**SPEC.__dict__, "num_test_speakers": 2, "utts_per_speaker": 2})
    generate_corpus(tmp_path, small, progress=False)
    for rel in ("wav/spk0001/spk0001-utt0001.wav", "wav/spk0004/spk0004-utt0002.wav"):
        assert (tmp_path / rel).read_bytes() == (corpus / rel).read_bytes()
    big = json.loads((corpus / "synth.json").read_text())["speakers"]["train"]
    assert json.loads((tmp_path / "synth.json").read_text())["speakers"]["train"] == big


def test_make_trials_sampling_and_caps() -> None:
    spk2utt = {f"s{i}": [f"s{i}-u{j}" for j in range(4)] for i in range(3)}
    all_t = make_trials(spk2utt, np.random.default_rng(0), trials_per_target=1)
    assert sum(t[2] == "target" for t in all_t) == 18
    few = make_trials(spk2utt, np.random.default_rng(0), trials_per_target=2, max_target_trials=5)
    assert sum(t[2] == "target" for t in few) == 5 and len(few) == 15
    capped = make_trials(spk2utt, np.random.default_rng(0), trials_per_target=100)
    assert len(capped) - 18 == 48  # every cross-speaker pair, once
    assert make_trials(spk2utt, np.random.default_rng(1), 2) == make_trials(spk2utt, np.random.default_rng(1), 2)


def test_num_jobs_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="num_jobs"):
        generate_corpus(tmp_path, SPEC, progress=False, num_jobs=0)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "field, value, message",
    [("num_test_speakers", 1, "num_test_speakers"), ("utts_per_speaker", 1, "utts_per_speaker"),
     ("min_seconds", 5.0, "min_seconds"), ("sampling_rate", 4000, "sampling_rate"),
     ("max_target_trials", 0, "max_target_trials")],
)
def test_invalid_spec_is_rejected(tmp_path: Path, field: str, value: object, message: str) -> None:
    spec = CorpusSpec(**{**SPEC.__dict__, field: value})
    with pytest.raises(ValueError, match=message):
        generate_corpus(tmp_path, spec, progress=False)
    assert not (tmp_path / "test" / "wav.scp").exists()
