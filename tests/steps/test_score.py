"""Scoring an experiment's system (spkssl.steps.score): every back-end in every round, purified labels included."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import load_config, save_config
from spkssl.embed.io import write_embeddings
from spkssl.experiment import Experiment
from spkssl.steps.score import labelled_subset, score_system


@pytest.fixture
def experiment(tmp_path: Path, rng: np.random.Generator) -> Experiment:
    """exp/<tag> with round0 and round1 embeddings; round1's pseudo utt2spk misses the purified utterances."""
    centres = rng.normal(size=(16, 12))
    spk = np.repeat(np.arange(16), 6)
    train_ids = [f"tr{s:02d}_{k}" for s in range(8) for k in range(6)]
    eval_ids = [f"te{s:02d}_{k}" for s in range(8, 16) for k in range(6)]
    emb = (centres[spk] + 0.4 * rng.normal(size=(96, 12))).astype(np.float32)
    trials = [f"{a} {b} {'target' if a[:4] == b[:4] else 'nontarget'}\n"
              for i, a in enumerate(eval_ids) for b in eval_ids[i + 1:]]
    data = tmp_path / "data"
    (data / "trials").mkdir(parents=True)
    (data / "trials" / "test.trials").write_text("".join(trials))
    root = tmp_path / "exp"
    save_config(load_config(None, [f"inputs.data_dir={data}", "inputs.trials.test=trials/test.trials",
                                   "rounds.num_rounds=1", "score.backends=[cosine,asnorm,plda]",
                                   "score.asnorm.top_n=10", "score.plda.labels=trained"]), root / "config.yaml")
    for system in ("round0", "round1"):
        write_embeddings(root / system / "embeddings" / "train", train_ids, emb[:48])
        write_embeddings(root / system / "embeddings" / "eval", eval_ids, emb[48:])
    kept = [u for u in train_ids if not u.endswith(("_4", "_5"))]  # purification dropped two per speaker
    pseudo = root / "round1" / "pseudo"
    pseudo.mkdir(parents=True)
    (pseudo / "utt2spk").write_text("".join(f"{u} pseudo{u[2:4]}\n" for u in kept))
    return Experiment(root)


def test_every_backend_scores_a_round_whose_labels_were_purified(experiment: Experiment) -> None:
    results = {r["backend"]: r for r in score_system(experiment, experiment.system("round1"))}
    assert set(results) == {"cosine", "asnorm", "plda"}
    assert results["plda"]["num_train"] == 32 and results["plda"]["num_speakers"] == 8
    assert results["asnorm"]["cohort_size"] == 32  # the purified utterances are not in the cohort
    for r in results.values():
        assert r["eer"] < 25.0


def test_round0_has_no_labels_so_plda_is_skipped_and_asnorm_keeps_every_utterance(experiment: Experiment) -> None:
    results = {r["backend"]: r for r in score_system(experiment, experiment.system("round0"))}
    assert set(results) == {"cosine", "asnorm"} and results["asnorm"]["cohort_size"] == 48


def test_score_command_with_every_backend(experiment: Experiment) -> None:
    res = CliRunner().invoke(cli, ["score", "--exp", str(experiment.root), "--system", "round1"])
    assert res.exit_code == 0, res.output
    assert json.loads((experiment.root / "round1" / "scores" / "test.plda.json").read_text())["num_train"] == 32


def test_a_label_without_an_embedding_is_named(experiment: Experiment) -> None:
    utt2spk = experiment.root / "round1" / "pseudo" / "utt2spk"
    utt2spk.write_text(utt2spk.read_text() + "ghost pseudo00\n")
    with pytest.raises(ValueError, match=r"utt2spk: 1 utterance\(s\) have no training embedding in .*embeddings.npz, "
                                         "e.g. 'ghost'"):
        score_system(experiment, experiment.system("round1"))


def test_labelled_subset_keeps_the_embedding_order() -> None:
    ids, emb = labelled_subset(["c", "a", "b"], np.arange(6.0).reshape(3, 2), {"b": "s", "c": "s"},
                               Path("u"), Path("e"))
    assert ids == ["c", "b"] and emb.tolist() == [[0.0, 1.0], [4.0, 5.0]]


def _labelled_corpus(tmp_path: Path, rng: np.random.Generator, spread: float):
    """``data/`` with a test list over 8 eval speakers and training cuts of 8 labelled speakers; the embeddings."""
    from lhotse import CutSet, MonoCut, SupervisionSegment

    train_ids = [f"tr{s:02d}_{k}" for s in range(8) for k in range(6)]
    eval_ids = [f"te{s:02d}_{k}" for s in range(8, 16) for k in range(6)]
    centres = spread * rng.normal(size=(16, 12))
    emb = (centres[np.repeat(np.arange(16), 6)] + 0.4 * rng.normal(size=(96, 12))).astype(np.float32)
    data = tmp_path / "data"
    (data / "trials").mkdir(parents=True)
    (data / "trials" / "test.trials").write_text("".join(
        f"{a} {b} {'target' if a[:4] == b[:4] else 'nontarget'}\n" for i, a in enumerate(eval_ids) for b in eval_ids[i + 1:]))
    (data / "manifests").mkdir()
    CutSet.from_cuts(MonoCut(u, 0.0, 1.0, 0, supervisions=[SupervisionSegment(u, u, 0.0, 1.0, speaker=u[:4])])
                     for u in train_ids).to_file(data / "manifests" / "train_cuts.jsonl.gz")
    return data, train_ids, eval_ids, emb


def test_the_supervised_reference_trains_plda_on_the_true_labels(tmp_path: Path, rng: np.random.Generator) -> None:
    """A supervised round 0 has labels: its true speakers, written once as round0/utt2spk for PLDA."""
    data, train_ids, eval_ids, emb = _labelled_corpus(tmp_path, rng, spread=1.0)
    root = tmp_path / "exp"
    save_config(load_config(None, [f"inputs.data_dir={data}", "inputs.trials.test=trials/test.trials",
                                   "rounds.round0_objective=supervised", "rounds.num_rounds=0",
                                   "score.backends=[cosine,plda]", "score.plda.labels=trained"]), root / "config.yaml")
    write_embeddings(root / "round0" / "embeddings" / "train", train_ids, emb[:48])
    write_embeddings(root / "round0" / "embeddings" / "eval", eval_ids, emb[48:])
    exp = Experiment(root)
    results = {r["backend"]: r for r in score_system(exp, exp.system("round0"))}
    assert set(results) == {"cosine", "plda"}
    assert results["plda"]["num_train"] == 48 and results["plda"]["num_speakers"] == 8
    assert (root / "round0" / "utt2spk").read_text().splitlines()[0] == "tr00_0 tr00"


def test_label_free_plda_trains_on_clusters_of_the_systems_own_embeddings(tmp_path: Path,
                                                                          rng: np.random.Generator) -> None:
    """score.plda.labels=clusters: round 0 and the baseline get a PLDA too, from k-means of their training embeddings."""
    data, train_ids, eval_ids, emb = _labelled_corpus(tmp_path, rng, spread=3.0)
    root = tmp_path / "exp"
    save_config(load_config(None, [f"inputs.data_dir={data}", "inputs.trials.test=trials/test.trials",
                                   "rounds.num_rounds=0", "score.backends=[cosine,plda]", "score.plda.labels=clusters",
                                   "cluster.num_clusters=8", "cluster.device=cpu"]), root / "config.yaml")
    for system in ("baseline", "round0"):
        write_embeddings(root / system / "embeddings" / "train", train_ids, emb[:48])
        write_embeddings(root / system / "embeddings" / "eval", eval_ids, emb[48:])
    exp = Experiment(root)
    for system in ("baseline", "round0"):
        results = {r["backend"]: r for r in score_system(exp, exp.system(system))}
        assert set(results) == {"cosine", "plda"}
        assert results["plda"]["num_speakers"] == 8 and results["plda"]["sources"]["labels"] == "clusters"
        stats = json.loads((root / system / "backend_clusters" / "cluster_stats.json").read_text())
        assert stats["true_label_metrics"]["all_before_purification"]["nmi"] > 0.95  # measured only
        assert results["plda"]["eer"] < 10.0
    assert not (root / "round0" / "utt2spk").exists()  # the true labels were never read for training
