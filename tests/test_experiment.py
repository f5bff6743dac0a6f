"""Experiment: what each round trains, where the inputs are, which systems exist; errors name the key."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spkssl.config import ConfigError, load_config, save_config
from spkssl.experiment import Experiment, ExperimentError


def _exp(tmp_path: Path, *overrides: str) -> Experiment:
    save_config(load_config(None, ["inputs.data_dir=/d", "train.epochs=8", *overrides]), tmp_path / "config.yaml")
    return Experiment(tmp_path)


def test_round_plans(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "train.round0_epochs=16", "rounds.init_from=previous", "rounds.num_rounds=2")
    p0 = exp.train_plan(0)
    assert (p0.objective, p0.epochs, p0.labels, p0.init_from) == ("contrastive", 16, "none", None)
    assert p0.cuts == Path("/d/manifests/train_cuts.jsonl.gz") and p0.out_dir == tmp_path / "round0"
    p2 = exp.train_plan(2)
    assert (p2.objective, p2.epochs, p2.labels) == ("classification", 8, "pseudo")
    assert p2.cuts == tmp_path / "round2" / "pseudo" / "cuts.jsonl.gz"
    assert p2.init_from == tmp_path / "round1" / "final.pt"
    assert exp.train_config(p0)["train"]["epochs"] == 16 and exp.cfg["train"]["epochs"] == 8
    assert exp.cluster_paths(1) == (tmp_path / "round0" / "embeddings" / "train" / "embeddings.npz",
                                    Path("/d/manifests/train_cuts.jsonl.gz"), tmp_path / "round1" / "pseudo")


def test_round0_epochs_zero_means_train_epochs_and_from_scratch_rounds(tmp_path: Path) -> None:
    exp = _exp(tmp_path)
    assert exp.train_plan(0).epochs == 8 and exp.train_plan(1).init_from is None


def test_dino_round0_is_unlabelled_and_takes_round0_epochs(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.round0_objective=dino", "train.round0_epochs=16")
    plan = exp.train_plan(0)
    assert (plan.objective, plan.labels, plan.epochs, plan.init_from) == ("dino", "none", 16, None)
    assert exp.train_plan(1).objective == "classification"


def test_round0_overrides_reach_an_unlabelled_round0_only(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.round0_objective=dino", "train.lr=0.1",
               "rounds.round0_overrides=[train.lr=0.075, train.warmup_epochs=20, loss.dino.out_dim=4096]")
    r0, r1 = exp.train_config(exp.train_plan(0)), exp.train_config(exp.train_plan(1))
    assert (r0["train"]["lr"], r0["train"]["warmup_epochs"], r0["loss"]["dino"]["out_dim"]) == (0.075, 20, 4096)
    assert r1["train"]["lr"] == 0.1 and exp.cfg["train"]["lr"] == 0.1
    sup = _exp(tmp_path / "sup", "rounds.round0_objective=supervised", "rounds.round0_overrides=[train.lr=0.5]")
    assert sup.train_config(sup.train_plan(0))["train"]["lr"] == load_config(None)["train"]["lr"]


def test_supervised_reference_is_a_classification_round_on_true_labels(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.round0_objective=supervised", "train.round0_epochs=16", "rounds.num_rounds=0")
    plan = exp.train_plan(0)
    assert (plan.objective, plan.labels, plan.epochs) == ("classification", "true", 8)  # the rounds' budget
    assert [s.name for s in exp.systems()] == ["baseline", "round0"]


def test_inputs_resolve_against_data_dir(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "inputs.embed_cuts=null", "inputs.aug_dir=null", "inputs.trials.test=t/test.trials",
               "inputs.val_trials.val=/abs/val.trials")
    inputs = exp.inputs
    assert inputs.embed_cuts == inputs.train_cuts and inputs.aug_dir is None
    assert inputs.trials == {"test": Path("/d/t/test.trials")} and inputs.val_trials == {"val": Path("/abs/val.trials")}


def test_systems(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.num_rounds=2")
    base, r0, r2 = exp.system("baseline"), exp.system("round0"), exp.system("round2")
    assert base.model is None and base.utt2spk is None and base.dir == tmp_path / "baseline"
    assert r0.model == tmp_path / "round0" / "final.pt" and r0.utt2spk is None
    assert r2.utt2spk == tmp_path / "round2" / "pseudo" / "utt2spk"
    assert r2.eval_embeddings == tmp_path / "round2" / "embeddings" / "eval"


@pytest.mark.parametrize("override, message", [
    ("train.round0_epochs=2.5", "'train.round0_epochs' must be an integer >= 0, got 2.5"),
    ("train.epochs=abc", "'train.epochs' must be an integer >= 1, got 'abc'"),
    ("rounds.round0_objective=byol", "'rounds.round0_objective' must be one of contrastive, dino, supervised"),
    ("inputs.eval_cuts=null", "'inputs.eval_cuts' must be a string, got None"),
])
def test_a_hand_edited_config_yaml_is_checked_when_the_experiment_opens(tmp_path: Path, override, message) -> None:
    cfg = load_config(None)
    section, key, value = override.split(".", 1)[0], override.split(".", 1)[1].split("=")[0], override.split("=")[1]
    cfg[section][key] = yaml.safe_load(value)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=message):
        Experiment(tmp_path)


@pytest.mark.parametrize("overrides, call, message", [
    ([], lambda e: e.train_plan(4), r"round 4 is outside 0\.\.3"),
    ([], lambda e: e.system("round9"), r"round 9 is outside"),
    ([], lambda e: e.system("last"), "unknown system 'last'"),
    ([], lambda e: e.cluster_paths(0), "round 0 has no pseudo labels"),
    (["inputs.eval_cuts="], lambda e: e.inputs, "'inputs.eval_cuts' is not set"),
])
def test_errors_name_the_key(tmp_path: Path, overrides, call, message) -> None:
    with pytest.raises(ExperimentError, match=message):
        call(_exp(tmp_path, *overrides))


@pytest.mark.parametrize("value, message", [
    ("[train.lrr=0.1]", r"'rounds.round0_overrides': unknown config key 'train.lrr' \(did you mean 'train.lr'\?\)"),
    ("train.lr=0.1", "'rounds.round0_overrides' must be a list whose items are each a string"),
])
def test_bad_round0_overrides_are_named_when_the_experiment_opens(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):  # ExperimentError, or ConfigError from the schema
        _exp(tmp_path, f"rounds.round0_overrides={value}")


def test_missing_config_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="no config.yaml; write it with `spkssl config resolve"):
        Experiment(tmp_path / "nope")


def test_a_tag_whose_features_differ_from_the_stored_ones_stops_before_training(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from spkssl.cli import cli
    from spkssl.features.fbank import complete_fbank_cfg
    from spkssl.features.provenance import write_options

    data = tmp_path / "data"
    for name in ("train_cuts.jsonl.gz", "train_cuts_fbank.jsonl.gz", "test_cuts_fbank.jsonl.gz"):
        (data / "manifests").mkdir(parents=True, exist_ok=True)
        (data / "manifests" / name).write_bytes(b"")
    for name in ("train_cuts_fbank.jsonl.gz", "test_cuts_fbank.jsonl.gz"):  # stage 3 of the 80-bin tag
        write_options(data / "manifests" / name, complete_fbank_cfg({}), "knf-fbank", "x")
    root = tmp_path / "exp" / "mel40"
    save_config(load_config(None, [f"inputs.data_dir={data}", "features.num_mel_bins=40"]), root / "config.yaml")
    with pytest.raises(ExperimentError, match=r"train_cuts_fbank.jsonl.gz holds features made with "
                                              r"features.num_mel_bins=80 \(the config: 40\)"):
        Experiment(root).check_stored_features()
    res = CliRunner().invoke(cli, ["train", "--exp", str(root), "--round", "0"])
    assert res.exit_code != 0 and "features.num_mel_bins=80 (the config: 40)" in res.output
    assert not (root / "round0").exists()  # refused before any training
    save_config(load_config(None, [f"inputs.data_dir={data}"]), tmp_path / "exp" / "mel80" / "config.yaml")
    Experiment(tmp_path / "exp" / "mel80").check_stored_features()  # the tag that made them passes


def test_a_round_starts_from_round0_and_freezes_its_network_first(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.init_from=round0", "rounds.freeze_network_epochs=2", "rounds.num_rounds=3")
    plans = [exp.train_plan(r) for r in (1, 2, 3)]
    assert [p.init_from for p in plans] == [tmp_path / "round0" / "final.pt"] * 3
    assert [p.freeze_network_epochs for p in plans] == [2.0] * 3


def test_from_scratch_rounds_never_freeze(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.init_from=scratch", "rounds.freeze_network_epochs=2")
    plan = exp.train_plan(1)
    assert plan.init_from is None and plan.freeze_network_epochs == 0.0


def test_a_true_label_round_is_a_reference_on_the_true_speakers(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.round_labels=true_speakers", "rounds.init_from=round0")
    plan = exp.train_plan(1)
    assert plan.labels == "true" and plan.cuts == tmp_path / "round1" / "pseudo" / "cuts.jsonl.gz"
    assert _exp(tmp_path / "m").train_plan(1).labels == "pseudo"


def test_rounds_train_the_rounds_objective_and_round0_its_own(tmp_path: Path) -> None:
    exp = _exp(tmp_path, "rounds.objective=dino_classification", "rounds.round0_objective=dino",
               "rounds.init_from=round0", "rounds.round_labels=true_speakers")
    assert [exp.train_plan(r).objective for r in (0, 1, 2)] == ["dino", "dino_classification", "dino_classification"]
    assert exp.train_plan(1).labels == "true"  # the reference trains the same objective on the true speakers
    assert _exp(tmp_path / "m").train_plan(1).objective == "classification"
    with pytest.raises(ConfigError, match="rounds.objective"):
        _exp(tmp_path / "bad", "rounds.objective=dino")
