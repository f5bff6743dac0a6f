"""End to end: egs/voxceleb/run.sh, stages 0-7, on a tiny fake VoxCeleb made of real speech.

The fake tree (tests/recipes/fake_voxceleb.py) holds VoxCeleb2 dev 12 speakers x 8
utterances and VoxCeleb1 test 6 speakers x 4 utterances in the official layout, with a
Vox1-O-style trial list.  The recipe runs with conf/tiny_cpu.yaml (a small TDNN, 2
epochs, 1 round, 8 clusters) as a subprocess, exactly as a user would start it; its
data/ and exp/ go to tmp_path.  A second run must find everything done.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np
from lhotse import CutSet

from tests.recipes.fake_corpus import recipe_env
from tests.recipes.fake_voxceleb import FakeVoxCeleb, make_fake_voxceleb

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "egs" / "voxceleb" / "run.sh"
ROUNDS = (0, 1)


def _run(tree: FakeVoxCeleb, work: Path, env: dict[str, str]) -> str:
    cmd = [
        "bash", str(RECIPE),
        "--vox1-dir", str(tree.vox1),
        "--vox2-dir", str(tree.vox2),
        "--vox1-o-trials", str(tree.vox1_o_trials),
        "--vox2-flac-dir", str(work / "vox2_flac"),
        "--shard-size", "24",
        "--conf", "conf/tiny_cpu.yaml",
        "--overrides", "train.seed=7 cluster.seed=3",
        "--ngpu", "0",
        "--nj", "2",
        "--tag", "test",
        "--data-dir", str(work / "data"),
        "--exp-root", str(work / "exp"),
        "--stage", "0",
        "--stop-stage", "7",
    ]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"run.sh failed (exit {proc.returncode}):\n{out[-6000:]}"
    return out


def _mtimes(root: Path) -> dict[str, float]:
    """Modification times of every output (not the run's lock, which names each run that holds it)."""
    return {str(p.relative_to(root)): p.stat().st_mtime for p in root.rglob("*") if p.is_file() and p.name != ".lock"}


def _check_outputs(work: Path, tree: FakeVoxCeleb) -> None:
    data, exp = work / "data", work / "exp" / "test"
    man = data / "manifests"
    # stage 1: manifests (ids are lhotse's speaker-video-utt), FLAC copies, Kaldi-form trials
    vox2 = CutSet.from_file(man / "vox2_dev_cuts.jsonl.gz").to_eager()
    vox1 = CutSet.from_file(man / "vox1_test_cuts.jsonl.gz").to_eager()
    assert len(vox2) == tree.num_vox2_utts and len(vox1) == tree.num_vox1_utts
    assert all(re.fullmatch(r"id000\d\d-[\w-]{11}-\d{5}", c.id) for c in vox2)
    flac = CutSet.from_file(man / "vox2_dev_flac_cuts.jsonl.gz").to_eager()
    assert sorted(flac.ids) == sorted(vox2.ids)
    assert all(c.recording.sources[0].source.endswith(".flac") for c in flac)
    assert len(list((work / "vox2_flac").rglob("*.flac"))) == tree.num_vox2_utts
    trials = (data / "trials" / "vox1_o.trials").read_text().splitlines()
    assert len(trials) == len(tree.vox1_o_trials.read_text().splitlines())
    for line in trials:
        a, b, label = line.split()
        assert a in vox1.ids and b in vox1.ids and label == ("target" if a[:7] == b[:7] else "nontarget")
    # stage 2: augmentation sources
    for kind in ("noise", "music", "babble", "rir"):
        assert (man / f"aug_{kind}_recordings.jsonl.gz").is_file(), kind
    # stage 3: Shar shards of the training cuts (FLAC), which every round trains from
    index = json.loads((data / "shar" / "train" / "index.json").read_text())
    assert index["num_cuts"] == tree.num_vox2_utts and len(index["shards"]) == -(-tree.num_vox2_utts // 24)
    assert "audio from the shards" in (exp / "round1" / "log" / "train.log").read_text()
    # stage 3: stored fbank for the evaluation set
    fbank = CutSet.from_file(man / "vox1_test_cuts_fbank.jsonl.gz").to_eager()
    assert len(fbank) == tree.num_vox1_utts and all(c.has_features for c in fbank)
    assert fbank[0].load_features().shape[1] == 40
    # config: recipe YAML plus --overrides
    cfg = (exp / "config.yaml").read_text()
    assert re.search(r"^  seed: 7", cfg, re.M) and re.search(r"^  seed: 3", cfg, re.M)
    # stage 4: round 0 training
    r0 = exp / "round0"
    assert (r0 / "final.pt").is_file() and len(list((r0 / "checkpoints").glob("*.pt"))) >= 2
    assert list((r0 / "tensorboard").glob("events.out.tfevents.*"))
    # stages 5-6: every round embedded and scored; rounds >= 1 trained on pseudo labels
    eers = []
    for r in ROUNDS:
        rd = exp / f"round{r}"
        assert (rd / "final.pt").is_file(), rd
        for part, n in (("train", tree.num_vox2_utts), ("eval", tree.num_vox1_utts)):
            emb = rd / "embeddings" / part
            assert (emb / "xvector.ark").is_file() and (emb / "xvector.scp").is_file()
            assert len((emb / "xvector.scp").read_text().splitlines()) == n
            npz = np.load(emb / "embeddings.npz")
            vectors = npz[[k for k in npz.files if npz[k].ndim == 2][0]]
            assert vectors.shape == (n, 32) and np.isfinite(vectors).all()
        score = json.loads((rd / "scores" / "vox1_o.cosine.json").read_text())
        assert score["num_trials"] == len(trials) and 0.0 <= score["eer"] <= 100.0
        eers.append(score["eer"])
        if r >= 1:
            pseudo = rd / "pseudo"
            labels = dict(line.split() for line in (pseudo / "utt2spk").read_text().splitlines())
            assert set(labels) <= set(vox2.ids) and 2 <= len(set(labels.values())) <= 8
            assert len(CutSet.from_file(pseudo / "cuts.jsonl.gz")) == len(labels)
            stats = json.loads((pseudo / "cluster_stats.json").read_text())
            assert stats["clustering"]["kmeans_clusters"] == 8
    # stage 7: one RESULTS.md row per round, both figures
    results = (exp / "RESULTS.md").read_text()
    rows = [line for line in results.splitlines() if line.startswith("| round ")]
    assert [row.split("|")[1].strip() for row in rows] == [f"round {r}" for r in ROUNDS]
    for r, eer in zip(ROUNDS, eers):
        assert f"{eer:.2f}" in rows[r]
    assert (exp / "eer_by_round.png").stat().st_size > 0
    assert (exp / "det_all_rounds.png").stat().st_size > 0


def test_voxceleb_recipe_end_to_end(tmp_path: Path, speechocean_dir: Path) -> None:
    tree = make_fake_voxceleb(tmp_path / "corpora", speechocean_dir)
    work = tmp_path / "work"
    work.mkdir()
    env = recipe_env(tmp_path)

    out = _run(tree, work, env)
    for n in range(8):
        assert re.search(rf"\(run\.sh:\d+:main\) Stage {n}:", out), f"no 'Stage {n}' line:\n{out[-4000:]}"
    assert "Stage 7: " in out and "skipping" not in out.split("Stage 7: ")[-1].splitlines()[0]
    _check_outputs(work, tree)

    before = _mtimes(work)
    time.sleep(1.1)  # mtime resolution: anything rewritten would show a newer time
    again = _run(tree, work, env)
    for n in (1, 2, 3, 4, 5):
        assert f"Stage {n}:" not in again, f"stage {n} ran again:\n{again[-4000:]}"
    for r in ROUNDS[1:]:
        assert f"round {r} already finished" in again
    assert re.search(r"every RESULTS file is newer than every score; skipping", again)
    assert "spkssl train" not in again and "extract-part" not in again
    after = _mtimes(work)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert changed == [], f"second run rewrote {changed}"
    assert set(after) == set(before), f"second run added {sorted(set(after) - set(before))}"
