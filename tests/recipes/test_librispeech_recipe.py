"""End to end: egs/librispeech/run.sh, stages 0-7, through lhotse's own LibriSpeech recipe on a tiny tree of real speech.

The tree (tests/recipes/fake_librispeech.py) has the official layout: train-clean-100
with 8 speakers x 6 utterances, test-clean and test-other with 4 other speakers x 4
each, FLAC audio from speechocean762.  The recipe runs as a user starts it, with the
shipped conf/resnet34.yaml scaled down by --overrides (the ResNet of 4 base channels
and one block per stage, one round of one epoch); its data/ and exp/ go to tmp_path.  A second run of the
data stages must find them done.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from lhotse import CutSet

from tests.recipes.fake_corpus import recipe_env, speechocean_speakers
from tests.recipes.fake_librispeech import FakeLibriSpeech, make_fake_librispeech

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs" / "librispeech" / "run.sh"
TESTS = ("test_clean", "test_other")

OVERRIDES = " ".join([
    "features.num_mel_bins=40",
    "model.embed_dim=32",
    "model.kwargs.base_channels=4",
    "model.kwargs.num_blocks=[1,1,1,1]",
    "train.epochs=1",
    "train.batch_size=16",
    "train.segment_seconds=1.0",
    "train.num_workers=0",
    "train.warmup_epochs=0.5",
    "train.average_last=1",
    "train.save_every_steps=0",
    "train.seed=7",
    "loss.classification.margin_warmup_epochs=0",
    "extract.chunk_seconds=20.0",
    "cluster.num_clusters=6",
    "cluster.max_iter=10",
    "rounds.num_rounds=1",
    "data.num_workers=2",
    "data.validation.num_speakers=4",
    "data.aug_sources.num_rirs=4",
    "data.aug_sources.num_noise=3",
    "data.aug_sources.num_music=2",
    "data.aug_sources.num_babble=3",
    "data.aug_sources.duration=2.0",
])


def _tree(tmp_path: Path, speechocean: Path) -> FakeLibriSpeech:
    train, test = speechocean_speakers(speechocean, "train"), speechocean_speakers(speechocean, "test")
    test_speakers = list(test.items())
    return make_fake_librispeech(tmp_path, {
        "train-clean-100": {spk: files[:6] for spk, files in list(train.items())[:8]},
        "test-clean": {spk: files[:4] for spk, files in test_speakers[:4]},
        "test-other": {spk: files[:4] for spk, files in test_speakers[4:8]},
    })


def _run(tree: FakeLibriSpeech, work: Path, env: dict[str, str], stop_stage: int) -> str:
    cmd = [
        "bash", str(RECIPE),
        "--corpus-dir", str(tree.root),
        "--train-parts", "train-clean-100",
        "--test-parts", "test-clean test-other",
        "--shar", "false",
        "--overrides", OVERRIDES,
        "--ngpu", "0",
        "--nj", "1",
        "--tag", "test",
        "--data-dir", str(work / "data"),
        "--exp-root", str(work / "exp"),
        "--stop-stage", str(stop_stage),
    ]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"run.sh failed (exit {proc.returncode}):\n{out[-6000:]}"
    return out


def _check_data(work: Path, tree: FakeLibriSpeech) -> None:
    man, trials = work / "data" / "manifests", work / "data" / "trials"
    train = CutSet.from_file(man / "train_cuts.jsonl.gz").to_eager()
    assert sorted(train.ids) == tree.utterances("train-clean-100")  # lhotse's ids: <spk>-<chapter>-<utt>
    assert {c.supervisions[0].speaker for c in train} == set(tree.parts["train-clean-100"])
    test = CutSet.from_file(man / "test_cuts.jsonl.gz").to_eager()
    assert sorted(test.ids) == sorted(tree.utterances("test-clean") + tree.utterances("test-other"))
    for name, part in zip(TESTS, ("test-clean", "test-other")):
        lines = [line.split() for line in (trials / f"{name}.trials").read_text().splitlines()]
        utts = set(tree.utterances(part))
        assert all(a in utts and b in utts for a, b, _ in lines)
        assert all((lab == "target") == (a.split("-")[0] == b.split("-")[0]) for a, b, lab in lines)
        assert sum(lab == "target" for *_, lab in lines) == 4 * 6  # every pair of each speaker's 4 utterances
        assert sum(lab == "nontarget" for *_, lab in lines) == 96  # 4 per target: every cross-speaker pair
    val = [line.split() for line in (trials / "val.trials").read_text().splitlines()]
    assert val and all(a in train.ids and b in train.ids for a, b, _ in val)
    fbank = CutSet.from_file(man / "test_cuts_fbank.jsonl.gz").to_eager()
    assert len(fbank) == len(test) and fbank[0].load_features().shape[1] == 40


def _check_method(work: Path) -> None:
    exp = work / "exp" / "test"
    for r in (0, 1):
        for name in TESTS:
            score = json.loads((exp / f"round{r}" / "scores" / f"{name}.cosine.json").read_text())
            assert score["num_trials"] == 120 and 0.0 <= score["eer"] <= 100.0
    assert len((exp / "round1" / "pseudo" / "utt2spk").read_text().splitlines()) >= 40
    for report in ("RESULTS.md", "RESULTS_test_other.md", "RESULTS_val.md"):
        rows = [line for line in (exp / report).read_text().splitlines() if line.startswith("| round ")]
        assert [row.split("|")[1].strip() for row in rows] == ["round 0", "round 1"], report


def _mtimes(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def test_librispeech_recipe_end_to_end(tmp_path: Path, speechocean_dir: Path) -> None:
    tree = _tree(tmp_path / "corpora", speechocean_dir)
    work = tmp_path / "work"
    work.mkdir()
    env = recipe_env(tmp_path)

    out = _run(tree, work, env, stop_stage=7)
    for n in range(8):
        assert re.search(rf"\(run\.sh:\d+:main\) Stage {n}:", out), f"no 'Stage {n}' line:\n{out[-4000:]}"
    _check_data(work, tree)
    _check_method(work)

    before = _mtimes(work / "data")
    time.sleep(1.1)  # mtime resolution: anything rewritten would show a newer time
    again = _run(tree, work, env, stop_stage=3)
    assert "Stage 0:" in again and not re.search(r"Stage [1-3]:", again), again[-3000:]
    assert _mtimes(work / "data") == before
