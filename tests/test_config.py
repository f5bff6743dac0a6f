"""Config resolution: defaults ← YAML ← overrides, with typos reported by name."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import ConfigError, diff_configs, load_config, parse_override, resolve_config, with_repetition_seed

BASE = {"train": {"epochs": 2, "lr": 0.1}, "model": {"name": "tdnn", "kwargs": {}}}


def test_override_parsing_types() -> None:
    assert parse_override("train.epochs=3") == {"train": {"epochs": 3}}
    assert parse_override("train.lr=1e-3") == {"train": {"lr": 1e-3}}
    assert parse_override("model.name=resnet34") == {"model": {"name": "resnet34"}}
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_override("train.epochs")


def test_yaml_then_overrides(tmp_path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  epochs: 5\nmodel:\n  kwargs:\n    channels: 64\n")
    cfg = resolve_config(conf, ["train.lr=0.5"], base=BASE)
    assert cfg["train"] == {"epochs": 5, "lr": 0.5}
    assert cfg["model"]["kwargs"] == {"channels": 64}  # free-form section
    assert BASE["train"]["epochs"] == 2  # base not mutated


def test_typo_is_named_with_suggestion(tmp_path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  epocs: 5\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'train.epocs' \(did you mean 'train.epochs'\?\)"):
        resolve_config(conf, [], base=BASE)
    with pytest.raises(ConfigError, match="unknown config key 'trian'"):
        resolve_config(None, ["trian.epochs=1"], base=BASE)


def test_bad_yaml_names_file(tmp_path) -> None:
    conf = tmp_path / "bad.yaml"
    conf.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: invalid YAML"):
        resolve_config(conf, [], base=BASE)


def test_package_defaults_resolve() -> None:
    cfg = resolve_config(None, [])
    assert "rounds" in cfg and cfg["rounds"]["num_rounds"] >= 1


def test_diff_configs() -> None:
    assert diff_configs(BASE, BASE) == []
    other = {"train": {"epochs": 3, "lr": 0.1}, "model": BASE["model"]}
    assert diff_configs(BASE, other) == ["train.epochs"]


def test_cli_resolve_refuses_changed_config(tmp_path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("rounds:\n  num_rounds: 2\n")
    out = tmp_path / "exp" / "config.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "resolve", str(conf), str(out)]).exit_code == 0
    again = runner.invoke(cli, ["config", "resolve", str(conf), str(out)])
    assert again.exit_code == 0 and "unchanged" in again.output
    changed = runner.invoke(cli, ["config", "resolve", str(conf), str(out), "--set", "rounds.num_rounds=4"])
    assert changed.exit_code != 0 and "rounds.num_rounds" in changed.output
    assert "--overwrite" not in changed.output and "run.sh --tag" in changed.output  # what run.sh accepts


def test_repetition_seed_offsets_the_training_and_clustering_seeds_only(tmp_path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  seed: 100\n")
    runner = CliRunner()
    paths = {s: tmp_path / f"exp_seed{s}" / "config.yaml" for s in (0, 2)}
    for s, out in paths.items():
        assert runner.invoke(cli, ["config", "resolve", str(conf), str(out), "--seed", str(s)]).exit_code == 0
    zero, two = (load_config(paths[s]) for s in (0, 2))
    assert zero == load_config(conf)  # repetition 0 is the configured run
    assert diff_configs(zero, two) == ["cluster.seed", "train.seed"]
    assert (two["train"]["seed"], two["cluster"]["seed"]) == (102, zero["cluster"]["seed"] + 2)
    again = runner.invoke(cli, ["config", "resolve", str(conf), str(paths[2]), "--seed", "2"])
    assert again.exit_code == 0 and "unchanged" in again.output
    other = runner.invoke(cli, ["config", "resolve", str(conf), str(paths[2]), "--seed", "1"])
    assert other.exit_code != 0 and "train.seed" in other.output
    with pytest.raises(ConfigError, match="repetition seed must be a whole number >= 0"):
        with_repetition_seed(zero, -1)
    with pytest.raises(ConfigError, match="'train.seed' must be an integer, got None"):
        with_repetition_seed(load_config(None, ["train.seed=null"]), 1)


def test_cli_get(tmp_path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("rounds:\n  num_rounds: 2\n  init_from: previous\n")
    out = tmp_path / "config.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["config", "resolve", str(conf), str(out)]).exit_code == 0
    assert runner.invoke(cli, ["config", "get", str(out), "rounds.num_rounds"]).output.strip() == "2"
    assert runner.invoke(cli, ["config", "get", str(out), "rounds.init_from"]).output.strip() == "previous"
    bad = runner.invoke(cli, ["config", "get", str(out), "rounds.nope"])
    assert bad.exit_code != 0 and "rounds.nope" in bad.output


#: where settings from outside the package are completed: a recipe's config, a model file's, an API caller's
COMPLETING_EDGES = {"spkssl/config.py", "spkssl/models/io.py", "spkssl/inference/model.py"}


def test_library_code_takes_complete_sections_and_completes_them_only_at_the_edges() -> None:
    """A default applies in one place: library code checks its section (require_complete), never re-fills it."""
    root = Path(__file__).resolve().parents[1]
    callers = {str(p.relative_to(root)) for p in (root / "spkssl").rglob("*.py")
               if any("with_defaults(" in line and not line.lstrip().startswith((">>>", "...", "def "))
                      for line in p.read_text(encoding="utf-8").splitlines())}
    assert callers <= COMPLETING_EDGES, sorted(callers - COMPLETING_EDGES)


def test_require_complete_names_every_missing_key_and_with_defaults_takes_a_dotted_section() -> None:
    from spkssl.config import require_complete, with_defaults

    full = with_defaults("loss.dino", {"out_dim": 16})
    assert require_complete("loss.dino", full) is full and full["out_dim"] == 16
    partial = {k: v for k, v in full.items() if k not in ("teacher_temp", "student_temp")}
    with pytest.raises(ConfigError, match="incomplete config section 'loss.dino': missing 'student_temp', 'teacher_temp'"):
        require_complete("loss.dino", partial)
    with pytest.raises(ConfigError, match="missing 'asnorm.top_n'"):
        score = with_defaults("score", {})
        del score["asnorm"]["top_n"]
        require_complete("score", score)
    with pytest.raises(ConfigError, match="unknown config key 'loss.dino.out_dims'"):
        with_defaults("loss.dino", {"out_dims": 16})
    with pytest.raises(ConfigError, match="no config section 'loss.dinos'"):
        require_complete("loss.dinos", {})
