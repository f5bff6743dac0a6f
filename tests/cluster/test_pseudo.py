import json

import numpy as np
import pytest
from click.testing import CliRunner
from lhotse import CutSet, MonoCut, Recording, SupervisionSegment
from lhotse.audio import AudioSource

from spkssl.cli import cli
from spkssl.cluster.pseudo import make_pseudo_labels, outputs_complete
from spkssl.embed.io import write_embeddings
from tests.cluster.conftest import make_blobs


def _cuts(n: int, speakers: list[str] | None) -> CutSet:
    cuts = []
    for i in range(n):
        rec = Recording(id=f"rec{i:03d}", sources=[AudioSource("file", [0], f"/nonexistent/{i}.wav")],
                        sampling_rate=16000, num_samples=16000, duration=1.0)
        sup = SupervisionSegment(id=f"utt{i:03d}", recording_id=rec.id, start=0, duration=1.0,
                                 speaker=speakers[i] if speakers else None, gender="f")
        cuts.append(MonoCut(id=f"utt{i:03d}", start=0, duration=1.0, channel=0, recording=rec,
                            supervisions=[sup]))
    return CutSet.from_cuts(cuts)


@pytest.fixture
def setup(tmp_path):
    x, y = make_blobs(4, 15, seed=7)
    spk = [f"spk{v}" for v in y]
    cuts = _cuts(len(x), spk)
    cuts_path = tmp_path / "train_cuts.jsonl.gz"
    cuts.to_file(cuts_path)
    perm = np.random.default_rng(0).permutation(len(x))  # embeddings in another order
    write_embeddings(tmp_path / "emb", [f"utt{i:03d}" for i in perm], x[perm])
    return tmp_path, cuts_path, tmp_path / "emb" / "embeddings.npz", spk


def test_round_trip_cuts_utt2spk_and_stats(setup):
    tmp, cuts_path, emb, spk = setup
    out = tmp / "round1" / "pseudo"
    stats = make_pseudo_labels(emb, cuts_path, out, {"num_clusters": 4, "purify_fraction": 0.8,
                                                     "device": "cpu"})
    assert outputs_complete(out)
    new = CutSet.from_file(out / "cuts.jsonl.gz").to_eager()
    utt2spk = dict(line.split() for line in (out / "utt2spk").read_text().splitlines())
    assert {c.id: c.supervisions[0].speaker for c in new} == utt2spk
    assert len(utt2spk) == stats["num_kept"] == 4 * 12
    assert all(s.startswith("pseudo0000") for s in utt2spk.values())
    assert new[next(iter(utt2spk))].supervisions[0].gender == "f"  # other fields kept
    spk2utt = {l.split()[0]: l.split()[1:] for l in (out / "spk2utt").read_text().splitlines()}
    assert sorted(u for us in spk2utt.values() for u in us) == sorted(utt2spk)
    # pseudo labels agree with the truth on these blobs
    truth = {f"utt{i:03d}": s for i, s in enumerate(spk)}
    pairs = {(truth[u], p) for u, p in utt2spk.items()}
    assert len(pairs) == 4
    saved = json.loads((out / "cluster_stats.json").read_text())
    m = saved["true_label_metrics"]
    assert m["all_before_purification"]["num_utterances"] == 60
    assert m["kept_after_purification"]["num_utterances"] == 48
    assert m["all_before_purification"]["nmi"] > 0.99 and saved["num_clusters"] == 4
    assert saved["kept_fraction"] == pytest.approx(0.8)
    assert saved["sizes"]["min"] == saved["sizes"]["max"] == 12
    # corpus cut set untouched
    assert CutSet.from_file(cuts_path).to_eager()["utt000"].supervisions[0].speaker == spk[0]


def test_skip_when_complete_unless_forced(setup):
    tmp, cuts_path, emb, _ = setup
    out = tmp / "pseudo"
    make_pseudo_labels(emb, cuts_path, out, {"num_clusters": 4, "device": "cpu"})
    (out / "utt2spk").write_text("sentinel\n")
    make_pseudo_labels(emb, cuts_path, out, {"num_clusters": 2, "device": "cpu"})
    assert (out / "utt2spk").read_text() == "sentinel\n"
    stats = make_pseudo_labels(emb, cuts_path, out, {"num_clusters": 2, "device": "cpu"}, force=True)
    assert stats["num_clusters"] == 2 and (out / "utt2spk").read_text() != "sentinel\n"


def test_missing_embedding_names_the_cut(tmp_path):
    x, _ = make_blobs(2, 5)
    cuts_path = tmp_path / "cuts.jsonl.gz"
    _cuts(10, None).to_file(cuts_path)
    write_embeddings(tmp_path / "emb", [f"utt{i:03d}" for i in range(9)], x[:9])
    with pytest.raises(ValueError, match="cut 'utt009'.*no embedding"):
        make_pseudo_labels(tmp_path / "emb" / "embeddings.npz", cuts_path, tmp_path / "o", {})
    write_embeddings(tmp_path / "emb2", [f"utt{i:03d}" for i in range(10)] + ["ghost"],
                     np.vstack([x, x[:1]]))
    with pytest.raises(ValueError, match="embedding 'ghost'.*no cut"):
        make_pseudo_labels(tmp_path / "emb2" / "embeddings.npz", cuts_path, tmp_path / "o", {})
    assert not (tmp_path / "o" / "cluster_stats.json").exists()


def test_cli_same_seed_same_labels_and_no_truth_metrics(tmp_path):
    x, _ = make_blobs(3, 10, spread=1.0)
    cuts_path = tmp_path / "cuts.jsonl.gz"
    _cuts(30, None).to_file(cuts_path)
    write_embeddings(tmp_path / "emb", [f"utt{i:03d}" for i in range(30)], x)
    outs = []
    for name in ("a", "b"):
        r = CliRunner().invoke(cli, ["cluster", "--embeddings", str(tmp_path / "emb" / "embeddings.npz"),
                                     "--cuts", str(cuts_path), "--out-dir", str(tmp_path / name),
                                     "--set", "cluster.num_clusters=5", "--set", "cluster.seed=11", "--set", "cluster.device=cpu"])
        assert r.exit_code == 0, r.output
        outs.append((tmp_path / name / "utt2spk").read_text())
        stats = json.loads((tmp_path / name / "cluster_stats.json").read_text())
        assert "true_label_metrics" not in stats and stats["parameters"]["seed"] == 11
    assert outs[0] == outs[1]
    r = CliRunner().invoke(cli, ["cluster", "--embeddings", str(tmp_path / "emb" / "embeddings.npz"),
                                 "--cuts", str(cuts_path), "--out-dir", str(tmp_path / "c"),
                                 "--set", "cluster.purify_fractio=0.5"])
    assert r.exit_code != 0 and "purify_fraction" in r.output


def test_more_clusters_than_utterances_is_an_error_and_writes_nothing(setup):
    tmp, cuts_path, emb, _ = setup
    out = tmp / "round1" / "pseudo"
    res = CliRunner().invoke(cli, ["cluster", "--embeddings", str(emb), "--cuts", str(cuts_path), "--out-dir", str(out),
                                   "--set", "cluster.num_clusters=500", "--set", "cluster.device=cpu"])
    assert res.exit_code != 0
    assert f"{emb}: cluster.num_clusters=500 is more than the 60 utterances to cluster" in res.output
    assert not outputs_complete(out) and not (out / "cuts.jsonl.gz").exists()


def test_purification_that_keeps_no_cluster_is_an_error(setup):
    tmp, cuts_path, emb, _ = setup
    with pytest.raises(ValueError, match=r"left 0 pseudo speaker\(s\) of 60 cluster\(s\); a classification round "
                                         "needs at least 2: purification .* lower cluster.min_cluster_size"):
        make_pseudo_labels(emb, cuts_path, tmp / "p", {"num_clusters": 60, "min_cluster_size": 2, "device": "cpu"})
    assert not outputs_complete(tmp / "p")


def test_identical_embeddings_are_refused_with_the_reason(tmp_path, caplog):
    cuts_path = tmp_path / "cuts.jsonl.gz"
    _cuts(20, None).to_file(cuts_path)
    write_embeddings(tmp_path / "emb", [f"utt{i:03d}" for i in range(20)], np.ones((20, 8), np.float32))
    with pytest.raises(ValueError, match=r"left 1 pseudo speaker\(s\) of 1 cluster\(s\).*point in only 1 distinct "
                                         "direction"):
        make_pseudo_labels(tmp_path / "emb" / "embeddings.npz", cuts_path, tmp_path / "p",
                           {"num_clusters": 4, "device": "cpu"})
    assert "k-means found 1 non-empty cluster(s) of the 4 asked" in caplog.text


def test_partly_collapsed_embeddings_warn_with_what_was_kept(tmp_path, caplog):
    cuts_path = tmp_path / "cuts.jsonl.gz"
    _cuts(30, None).to_file(cuts_path)
    x = np.repeat(np.eye(8, dtype=np.float32)[:3], 10, axis=0)  # three distinct directions, six clusters asked
    write_embeddings(tmp_path / "emb", [f"utt{i:03d}" for i in range(30)], x)
    stats = make_pseudo_labels(tmp_path / "emb" / "embeddings.npz", cuts_path, tmp_path / "p",
                               {"num_clusters": 6, "device": "cpu"})
    assert stats["num_clusters"] == 3 and stats["clustering"]["collapsed"] == {
        "asked": 6, "found": 3, "distinct_embeddings": 3}
    assert "k-means found 3 non-empty cluster(s) of the 6 asked" in caplog.text and "keeping 3" in caplog.text


def test_the_true_label_reference_round_gets_the_true_speakers_through_spkssl_cluster(setup):
    from spkssl.config import load_config, save_config

    tmp, cuts_path, emb, spk = setup
    exp = tmp / "exp"
    save_config(load_config(None, [f"inputs.train_cuts={cuts_path}", "rounds.round_labels=true_speakers",
                                   "rounds.num_rounds=1"]), exp / "config.yaml")
    (exp / "round0" / "embeddings" / "train").mkdir(parents=True)
    (exp / "round0" / "embeddings" / "train" / "embeddings.npz").write_bytes(emb.read_bytes())
    res = CliRunner().invoke(cli, ["cluster", "--exp", str(exp), "--round", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1]) == {"num_clusters": 4, "num_utterances": 60, "num_kept": 60,
                                                               "kept_fraction": 1.0}
    lines = (exp / "round1" / "pseudo" / "utt2spk").read_text().splitlines()
    assert lines[:2] == [f"utt000 {spk[0]}", f"utt001 {spk[1]}"] and len(lines) == 60
    assert outputs_complete(exp / "round1" / "pseudo")


def test_the_true_label_reference_refuses_an_unlabelled_cut_set(tmp_path):
    from spkssl.cluster.pipeline import ClusterError
    from spkssl.cluster.pseudo import write_true_labels

    path = tmp_path / "c.jsonl.gz"
    _cuts(3, None).to_file(path)
    with pytest.raises(ClusterError, match="needs a speaker on every cut"):
        write_true_labels(path, tmp_path / "out")
