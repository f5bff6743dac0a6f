"""`spkssl score` / `spkssl compute-metrics` end to end, and bad trial lists."""
from __future__ import annotations

import json

import kaldiio
import numpy as np
import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.embed.io import write_embeddings
from spkssl.scoring.io import read_scored_trials
from spkssl.scoring.trials import TrialsError, read_trials


@pytest.fixture
def setup(tmp_path, rng):
    """Train + test embeddings of Gaussian speakers, a trial list and a utt2spk."""
    centres = rng.normal(size=(30, 10))
    def make(prefix, spk_ids, n):
        ids, rows, spk = [], [], []
        for s in spk_ids:
            for k in range(n):
                ids.append(f"{prefix}{s}_{k}")
                rows.append(centres[s] + 0.5 * rng.normal(size=10))
                spk.append(f"s{s}")
        return ids, np.asarray(rows, np.float32), spk
    tr_ids, tr, tr_spk = make("tr", range(20), 5)
    te_ids, te, te_spk = make("te", range(20, 30), 3)
    write_embeddings(tmp_path / "train", tr_ids, tr)
    (tmp_path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in zip(tr_ids, tr_spk)))
    i, j = np.triu_indices(len(te_ids), 1)
    (tmp_path / "t.trials").write_text("".join(
        f"{te_ids[a]} {te_ids[b]} {'target' if te_spk[a] == te_spk[b] else 'nontarget'}\n" for a, b in zip(i, j)))
    # the test set as a Kaldi-made scp (kaldiio), as a Kaldi baseline would give it
    kaldiio.save_ark(str(tmp_path / "xvector.1.ark"), dict(zip(te_ids, te)), scp=str(tmp_path / "xvector.scp"))
    return tmp_path


def test_score_all_backends(setup):
    d = setup
    res = CliRunner().invoke(cli, [
        "score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "xvector.scp"),
        "--train-embeddings", str(d / "train"), "--train-utt2spk", str(d / "utt2spk"),
        "--backend", "cosine", "--backend", "asnorm", "--backend", "plda",
        "--out-dir", str(d / "scores"), "--name", "toy"])
    assert res.exit_code == 0, res.output
    assert res.output.count("| toy ") == 3
    for b in ("cosine", "asnorm", "plda"):
        m = json.loads((d / "scores" / f"toy.{b}.json").read_text())
        assert m["backend"] == b and m["num_trials"] == 435 and m["eer"] < 20.0
        assert (d / "scores" / f"toy.{b}.det.png").stat().st_size > 1000
        s, _ = read_scored_trials(d / "scores" / f"toy.{b}.score", d / "t.trials")
        assert s.shape == (435,)
    assert (d / "scores" / "toy.plda.plda.npz").is_file()
    res = CliRunner().invoke(cli, ["compute-metrics", str(d / "scores" / "toy.cosine.score"), str(d / "t.trials")])
    assert res.exit_code == 0 and "EER (Kaldi compute-eer)" in res.output
    assert f"{json.loads((d / 'scores' / 'toy.cosine.json').read_text())['eer_kaldi']:.4f}%" in res.output


def test_score_errors_name_line_and_id(setup):
    d = setup
    with open(d / "t.trials", "a") as f:
        f.write("te20_0 nobody target\n")
    res = CliRunner().invoke(cli, ["score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "xvector.scp"),
                                   "--out-dir", str(d / "s"), "--name", "x"])
    assert res.exit_code != 0 and "t.trials:436" in res.output and "'nobody'" in res.output
    assert not (d / "s").exists() or not list((d / "s").glob("*.json"))
    res = CliRunner().invoke(cli, ["score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "xvector.scp"),
                                   "--backend", "plda", "--out-dir", str(d / "s"), "--name", "x"])
    assert res.exit_code != 0


@pytest.mark.parametrize("text,msg", [
    ("", "is empty"), ("a b target\na b\n", r":2: expected"), ("a b maybe\n", r":1: label must be"),
    ("a b target extra\n", r":1: expected 'utt1 utt2"),
])
def test_bad_trial_lists(tmp_path, text, msg):
    (tmp_path / "t").write_text(text)
    with pytest.raises(TrialsError, match=msg):
        read_trials(tmp_path / "t")


def test_dimension_mismatch_names_the_files(setup):
    d = setup
    write_embeddings(d / "train8", [f"x{i}" for i in range(6)], np.zeros((6, 8), np.float32))
    res = CliRunner().invoke(cli, [
        "score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "xvector.scp"),
        "--train-embeddings", str(d / "train8"), "--backend", "cosine", "--out-dir", str(d / "s"), "--name", "toy"])
    assert res.exit_code != 0
    assert (f"embedding dimensions differ: embeddings ({d / 'xvector.scp'}) have 10, "
            f"train_embeddings ({d / 'train8'}) have 8") in res.output
    enroll = d / "enroll"
    write_embeddings(enroll, [f"te{s}_{k}" for s in range(20, 30) for k in range(3)], np.zeros((30, 4), np.float32))
    res = CliRunner().invoke(cli, [
        "score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "xvector.scp"),
        "--enroll-embeddings", str(enroll), "--backend", "cosine", "--out-dir", str(d / "s"), "--name", "toy"])
    assert res.exit_code != 0 and f"enroll_embeddings ({enroll}) have 4" in res.output
