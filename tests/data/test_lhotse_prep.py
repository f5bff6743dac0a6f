"""``spkssl prepare lhotse``: lhotse's own LibriSpeech recipe, its manifest files, cut sets, and bad input.

The corpus is a LibriSpeech-layout tree (``tests/recipes/fake_librispeech.py``) of short
synthetic WAV sources written as FLAC, so these tests need no real speech.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner, Result
from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.recipes import prepare_librispeech

from spkssl.cli import cli
from spkssl.data.lhotse_prep import LhotsePrepError, build_cuts, from_cut_sets, run_recipe
from tests.recipes.fake_librispeech import FakeLibriSpeech, make_fake_librispeech

SR = 16000


def _sources(root: Path, speakers: int, utts: int, seed: int) -> dict[str, list[Path]]:
    rng = np.random.default_rng(seed)
    out: dict[str, list[Path]] = {}
    for s in range(speakers):
        out[f"s{s}"] = []
        for u in range(utts):
            path = root / f"src{seed}_{s}_{u}.wav"
            root.mkdir(parents=True, exist_ok=True)
            sf.write(path, rng.uniform(-0.3, 0.3, int(SR * (1.0 + 0.25 * u))).astype(np.float32), SR)
            out[f"s{s}"].append(path)
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> FakeLibriSpeech:
    tmp = tmp_path_factory.mktemp("libri")
    return make_fake_librispeech(tmp, {"train-clean-100": _sources(tmp / "a", 3, 4, 0),
                                       "test-clean": _sources(tmp / "b", 2, 3, 1)}, utts_per_chapter=2)


def _prepare(*args: str) -> Result:
    return CliRunner().invoke(cli, ["prepare", "lhotse", *args])


def test_recipe_form_runs_lhotse_librispeech(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    res = _prepare(str(out), "--prefix", "train", "--recipe", "librispeech", "--corpus-dir", str(tree.root),
                   "--part", "train-clean-100", "--nj", "2")
    assert res.exit_code == 0, res.output
    header, row, wrote = (line.split() for line in res.stdout.splitlines())  # the summary table, then "wrote ..."
    assert dict(zip(header, row))["speakers"] == "3" and dict(zip(header, row))["utterances"] == "12"
    cuts = CutSet.from_file(out / "train_cuts.jsonl.gz").to_eager()
    assert sorted(cuts.ids) == tree.utterances("train-clean-100")
    for cut in cuts:
        assert cut.supervisions[0].speaker == cut.id.split("-")[0] and cut.supervisions[0].id == cut.id
        assert cut.sampling_rate == SR and cut.load_audio().shape[1] == cut.num_samples
    assert sorted(RecordingSet.from_file(out / "train_recordings.jsonl.gz").ids) == sorted(cuts.ids)
    assert not (out / "lhotse_librispeech").exists()  # lhotse's own cache would hide a changed corpus
    # only the chosen part: the test speakers are not among the training cuts
    assert not set(cuts.ids) & set(tree.utterances("test-clean"))


def test_manifest_files_of_lhotse_prepare_give_the_same_cuts(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    lhotse_out = tmp_path / "lhotse"
    prepare_librispeech(tree.root, dataset_parts=["test-clean"], output_dir=lhotse_out)  # what `lhotse prepare` writes
    out = tmp_path / "manifests"
    res = _prepare(str(out), "--prefix", "test",
                   "--recordings", str(lhotse_out / "librispeech_recordings_test-clean.jsonl.gz"),
                   "--supervisions", str(lhotse_out / "librispeech_supervisions_test-clean.jsonl.gz"),
                   "--require-speakers", "true")
    assert res.exit_code == 0, res.output
    cuts = CutSet.from_file(out / "test_cuts.jsonl.gz").to_eager()
    _, _, direct = run_recipe("librispeech", tree.root, ["test-clean"])
    assert sorted(cuts.ids) == sorted(direct.ids) == tree.utterances("test-clean")
    assert all(cuts[c.id].supervisions[0].speaker == c.supervisions[0].speaker for c in direct)


def test_recordings_alone_are_an_unlabelled_corpus(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    lhotse_out = tmp_path / "lhotse"
    prepare_librispeech(tree.root, dataset_parts=["train-clean-100"], output_dir=lhotse_out)
    recs = str(lhotse_out / "librispeech_recordings_train-clean-100.jsonl.gz")
    out = tmp_path / "manifests"
    res = _prepare(str(out), "--prefix", "train", "--recordings", recs)
    assert res.exit_code == 0, res.output
    assert "12 of 12 cuts have no speaker" in res.output
    cuts = CutSet.from_file(out / "train_cuts.jsonl.gz").to_eager()
    assert len(cuts) == 12 and all(len(c.supervisions) == 1 and c.supervisions[0].speaker is None for c in cuts)
    # a test set must have its speakers: each cut without one is named, and nothing is left behind
    res = _prepare(str(out), "--prefix", "train", "--recordings", recs, "--require-speakers", "true")
    assert res.exit_code == 1 and "12 problem(s)" in res.output and "has no speaker" in res.output
    assert sorted(out.glob("train_*")) == []


def test_cut_sets_are_merged_and_keep_their_ids(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    out = tmp_path / "m"
    for part, prefix in (("train-clean-100", "a"), ("test-clean", "b")):
        assert _prepare(str(out), "--prefix", prefix, "--recipe", "librispeech", "--corpus-dir", str(tree.root),
                        "--part", part).exit_code == 0
    res = _prepare(str(out), "--prefix", "both", "--cuts", str(out / "a_cuts.jsonl.gz"),
                   "--cuts", str(out / "b_cuts.jsonl.gz"), "--require-speakers", "true")
    assert res.exit_code == 0, res.output
    both = CutSet.from_file(out / "both_cuts.jsonl.gz").to_eager()
    assert sorted(both.ids) == sorted(tree.utterances("train-clean-100") + tree.utterances("test-clean"))
    res = _prepare(str(out), "--prefix", "dup", "--cuts", str(out / "a_cuts.jsonl.gz"),
                   "--cuts", str(out / "a_cuts.jsonl.gz"))
    assert res.exit_code == 1 and "duplicate cut id" in res.output


def _rec(tmp_path: Path, name: str, seconds: float, sr: int = SR) -> Recording:
    path = tmp_path / f"{name}.wav"
    sf.write(path, np.random.default_rng(0).uniform(-0.3, 0.3, int(sr * seconds)).astype(np.float32), sr)
    return Recording.from_file(path, recording_id=name)


def _write(tmp_path: Path, recs: list[Recording], sups: list[SupervisionSegment]) -> tuple[str, str]:
    r, s = tmp_path / "recs.jsonl.gz", tmp_path / "sups.jsonl.gz"
    RecordingSet.from_recordings(recs).to_file(r)
    SupervisionSet.from_segments(sups).to_file(s)
    return str(r), str(s)


def test_overlapping_supervisions_are_named_or_dropped(tmp_path: Path) -> None:
    rec = _rec(tmp_path, "conv", 6.0)
    sups = [SupervisionSegment("u1", "conv", 0.0, 2.5, speaker="A"), SupervisionSegment("u2", "conv", 2.0, 2.0, speaker="B"),
            SupervisionSegment("u3", "conv", 4.5, 1.5, speaker="A")]
    recs, sup_file = _write(tmp_path, [rec], sups)
    out = tmp_path / "out"
    res = _prepare(str(out), "--prefix", "x", "--recordings", recs, "--supervisions", sup_file)
    assert res.exit_code == 1 and "'u1' and 'u2'" in res.output and "data.on_overlap" in res.output
    res = _prepare(str(out), "--prefix", "x", "--recordings", recs, "--supervisions", sup_file,
                   "--set", "data.on_overlap=drop")
    assert res.exit_code == 0, res.output
    assert list(CutSet.from_file(out / "x_cuts.jsonl.gz").ids) == ["u3"]
    assert list(SupervisionSet.from_file(out / "x_supervisions.jsonl.gz").ids) == ["u3"]
    cut = CutSet.from_file(out / "x_cuts.jsonl.gz")[0]
    assert (cut.start, cut.duration, cut.supervisions[0].start) == (4.5, 1.5, 0.0)


def test_sampling_rate_is_resampled_or_refused(tmp_path: Path) -> None:
    recs, sups = _write(tmp_path, [_rec(tmp_path, "low", 2.0, sr=8000)], [SupervisionSegment("u", "low", 0.0, 2.0)])
    out = tmp_path / "out"
    res = _prepare(str(out), "--prefix", "x", "--recordings", recs, "--supervisions", sups,
                   "--set", "data.on_sampling_rate_mismatch=refuse")
    assert res.exit_code == 1 and "cut 'u'" in res.output and "8000 Hz, expected 16000 Hz" in res.output
    assert _prepare(str(out), "--prefix", "x", "--recordings", recs, "--supervisions", sups).exit_code == 0
    cut = CutSet.from_file(out / "x_cuts.jsonl.gz")[0]
    assert cut.sampling_rate == SR and cut.load_audio().shape[1] == 2 * SR


@pytest.mark.parametrize("sup, message", [
    (SupervisionSegment("u", "nowhere", 0.0, 1.0), "supervision 'u' in "),
    (SupervisionSegment("u", "r", 1.5, 1.0), "span 1.500-2.500 s does not fit recording 'r' (0-2.000 s)"),
    (SupervisionSegment("u", "r", 0.0, 1.0, channel=1), "channel 1 is not among recording 'r''s channels [0]"),
])
def test_supervisions_that_do_not_fit_their_recordings(tmp_path: Path, sup: SupervisionSegment, message: str) -> None:
    recs, sups = _write(tmp_path, [_rec(tmp_path, "r", 2.0)], [sup])
    res = _prepare(str(tmp_path / "out"), "--prefix", "x", "--recordings", recs, "--supervisions", sups)
    assert res.exit_code == 1 and message in res.output, res.output
    assert "sups.jsonl.gz" in res.output  # the manifest is named


def test_bad_inputs_and_usage(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    recs, sups = _write(tmp_path, [_rec(tmp_path, "r", 2.0)], [SupervisionSegment("u", "r", 0.0, 1.0)])
    cases = [
        (["--recordings", sups], 1, "expected a recordings manifest, got a SupervisionSet"),
        (["--recordings", recs, "--recipe", "librispeech"], 2, "not --recordings and --recipe"),
        ([], 2, "give one of --recordings"),
        (["--supervisions", sups, "--cuts", recs], 2, "--supervisions goes with --recordings"),
        (["--recipe", "librispeech"], 2, "--recipe needs --corpus-dir"),
        (["--recipe", "librispeeh", "--corpus-dir", str(tree.root)], 1, "closest: librispeech"),
        (["--recipe", "librispeech", "--corpus-dir", str(tree.root), "--part", "dev-clean"], 1,
         "is each of dev-clean a part it finds there?"),
        (["--recipe", "librispeech", "--corpus-dir", str(tree.root)], 1, "choose with --part"),
        (["--recipe", "librispeech", "--corpus-dir", str(tree.root), "--part", "test-clean", "--recipe-arg", "x=1"],
         1, "recipe 'librispeech' has no option x"),
        (["--recipe", "librispeech", "--corpus-dir", str(tree.root), "--recipe-arg", "oops"], 2, "expected KEY=VALUE"),
    ]
    for args, code, message in cases:
        res = _prepare(str(tmp_path / "out"), "--prefix", "x", *args)
        assert res.exit_code == code and message in res.output, (args, res.output)


def test_a_cut_with_several_supervisions_is_refused(tmp_path: Path) -> None:
    rec = _rec(tmp_path, "r", 4.0)
    _, _, cuts = build_cuts(RecordingSet.from_recordings([rec]), None)
    cut = cuts[0].with_id("c")
    cut.supervisions.append(SupervisionSegment("v", "r", 2.0, 1.0, speaker="B"))  # a second voice in the cut
    path = tmp_path / "cuts.jsonl.gz"
    CutSet.from_cuts([cut]).to_file(path)
    with pytest.raises(LhotsePrepError, match="cut 'c' has 2 supervisions"):
        from_cut_sets([path])


def test_an_unlabelled_corpus_goes_through_round0_clustering_and_round1(tree: FakeLibriSpeech, tmp_path: Path) -> None:
    """Labels are optional: recordings alone train round 0, are clustered, and round 1 trains on the pseudo labels."""
    lhotse_out = tmp_path / "lhotse"
    prepare_librispeech(tree.root, dataset_parts=["train-clean-100"], output_dir=lhotse_out)
    man = tmp_path / "manifests"
    assert _prepare(str(man), "--prefix", "train", "--recordings",
                    str(lhotse_out / "librispeech_recordings_train-clean-100.jsonl.gz")).exit_code == 0
    cuts = str(man / "train_cuts.jsonl.gz")
    tiny = ["--set", "model.name=tdnn", "--set", "model.embed_dim=16", "--set", "model.kwargs={channels: 16}",
            "--set", "features.num_mel_bins=24", "--set", "train.batch_size=4", "--set", "train.segment_seconds=0.5",
            "--set", "train.num_workers=0", "--set", "train.average_last=1", "--set", "train.epochs=1",
            "--set", "train.save_every_steps=0", "--set", "cluster.num_clusters=3", "--set", "cluster.min_cluster_size=1",
            "--set", "extract.device=cpu", "--set", "cluster.device=cpu"]
    run = lambda *args: CliRunner().invoke(cli, [*args, *tiny])  # noqa: E731
    r0, r1 = tmp_path / "round0", tmp_path / "round1"
    res = run("train", "--cuts", cuts, "--out-dir", str(r0), "--objective", "contrastive", "--device", "cpu")
    assert res.exit_code == 0, res.output
    res = run("extract", "--model", str(r0 / "final.pt"), "--cuts", cuts, "--out-dir", str(r0 / "embeddings"))
    assert res.exit_code == 0, res.output
    res = run("cluster", "--embeddings", str(r0 / "embeddings" / "embeddings.npz"), "--cuts", cuts,
              "--out-dir", str(r1 / "pseudo"))
    assert res.exit_code == 0 and "nmi" not in res.stdout, res.output  # no true labels: nothing to measure
    pseudo = CutSet.from_file(r1 / "pseudo" / "cuts.jsonl.gz").to_eager()
    assert len(pseudo) == 12 and 2 <= len({c.supervisions[0].speaker for c in pseudo}) <= 3
    res = run("train", "--cuts", str(r1 / "pseudo" / "cuts.jsonl.gz"), "--out-dir", str(r1),
              "--objective", "classification", "--device", "cpu")
    assert res.exit_code == 0 and (r1 / "final.pt").is_file(), res.output
