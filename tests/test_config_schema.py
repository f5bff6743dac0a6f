"""The config specs (declared on each key's line of spkssl/configs/): types, ranges and enumerations, checked when a config is resolved."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import CONFIG_DIR, ConfigError, load_config, load_defaults, with_defaults
from spkssl.config_schema import SchemaError, load_schema, parse_spec, schema_problems

REPO = Path(__file__).resolve().parents[1]


def _keys(tree: dict, where: str = "") -> set[str]:
    out = set()
    for key, value in tree.items():
        dotted = f"{where}.{key}" if where else key
        out |= _keys(value, dotted) if isinstance(value, dict) and key != "kwargs" and not (
            where == "inputs") else {dotted}
    return out


def test_every_default_key_declares_a_spec_and_no_spec_is_stale() -> None:
    schema = load_schema(CONFIG_DIR)
    defaults = load_defaults()
    assert _keys(defaults) == _keys({s: {k: v if isinstance(v, dict) else 0 for k, v in t.items()}
                                     for s, t in schema.items()})
    assert schema_problems(defaults, schema) == []


@pytest.mark.parametrize("conf", sorted(REPO.glob("egs/*/conf/*.yaml")), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_recipe_conf_fits_the_schema(conf: Path) -> None:
    load_config(conf)


def test_enumerations_match_the_registries() -> None:
    from spkssl.losses import CLASSIFICATION, CONTRASTIVE
    from spkssl.models import MODELS
    from spkssl.models.pooling import POOLINGS
    from spkssl.experiment import ROUND0_OBJECTIVES
    from spkssl.scoring import BACKENDS

    schema = load_schema(CONFIG_DIR)
    assert set(schema["rounds"]["round0_objective"].choices) == set(ROUND0_OBJECTIVES)
    assert set(schema["model"]["name"].choices) == set(MODELS)
    assert set(schema["model"]["pooling"].choices) == set(POOLINGS)
    assert set(schema["score"]["backends"].item.choices) == set(BACKENDS)
    assert set(schema["loss"]["classification"]["name"].choices) == set(CLASSIFICATION)
    assert set(schema["loss"]["contrastive"]["name"].choices) == set(CONTRASTIVE)


@pytest.mark.parametrize("override, message", [
    ("train.epochs=abc", r"config key 'train.epochs' must be an integer >= 1, got 'abc' \(str\)"),
    ("train.epochs=2.5", "config key 'train.epochs' must be an integer >= 1, got 2.5"),
    ("train.epochs=true", "config key 'train.epochs' must be an integer >= 1, got True"),
    ("train.lr=-1", "config key 'train.lr' must be a number > 0, got -1"),
    ("train.lr=.nan", "config key 'train.lr' must be a number > 0, got nan"),
    ("data.on_sampling_rate_mismatch=ignore",
     r"config key 'data.on_sampling_rate_mismatch' must be one of resample, refuse, got 'ignore' \(str\)"),
    ("cluster.purify_fraction=0", r"config key 'cluster.purify_fraction' must be a number in \(0, 1\], got 0"),
    ("score.backends=[cosine,lda]", "config key 'score.backends' must be a list whose items are each one of cosine"),
    ("augment.noise_snr=[15,0]", r"config key 'augment.noise_snr' must be a \[low, high\] pair \(low <= high\)"),
    ("extract.device=gpu0", "config key 'extract.device' must be a device"),
    ("inputs.trials={test: 3}", "config key 'inputs.trials' must be a mapping of names to values that are each a string"),
])
def test_a_bad_value_is_refused_naming_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_every_bad_key_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, ["train.lr=-1", "train.epochs=abc"])
    assert "'train.lr'" in str(info.value) and "'train.epochs'" in str(info.value)


def test_floats_that_yaml_reads_as_strings_become_floats(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  min_lr: 1e-5\ncluster:\n  tol: 1e-3\n")
    cfg = load_config(conf)
    assert cfg["train"]["min_lr"] == 1e-5 and isinstance(cfg["cluster"]["tol"], float)


def test_null_only_where_the_schema_allows_it() -> None:
    assert load_config(None, ["cluster.num_clusters=null"])["cluster"]["num_clusters"] is None
    with pytest.raises(ConfigError, match="'train.batch_size' must be an integer >= 1, got None"):
        load_config(None, ["train.batch_size=null"])


def test_partial_sections_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="'score.asnorm.top_n' must be an integer >= 2, got 1"):
        with_defaults("score", {"asnorm": {"top_n": 1}})


def test_config_resolve_refuses_before_writing_anything(tmp_path: Path) -> None:
    conf = tmp_path / "c.yaml"
    conf.write_text("train:\n  epochs: 2\n")
    out = tmp_path / "exp" / "config.yaml"
    for bad in ("train.epochs=abc", "train.lr=-1", "data.on_sampling_rate_mismatch=ignore"):
        result = CliRunner().invoke(cli, ["config", "resolve", str(conf), str(out), "--set", bad])
        assert result.exit_code != 0 and f"'{bad.split('=')[0]}'" in result.output, result.output
        assert not out.exists()


@pytest.mark.parametrize("text, message", [
    ("int >= x", "cannot read the range"),
    ("str >= 1", "only int and float take a range"),
    ("range of str", "a range holds int or float"),
    ("not a spec!", "nor an enumeration"),
])
def test_a_malformed_schema_entry_is_a_schema_error(text: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        parse_spec(text)


def test_each_key_is_declared_once_and_listed_with_its_spec_and_doc() -> None:
    from spkssl.config import config_keys

    declared = config_keys()
    names = [d.key for d in declared]
    assert len(names) == len(set(names))
    assert set(names) == _keys(load_defaults())  # every default key declares a spec, and only those
    assert all(d.doc for d in declared), [d.key for d in declared if not d.doc]
    out = CliRunner().invoke(cli, ["config", "keys", "train.epochs"])
    assert out.exit_code == 0 and out.output.startswith("train.epochs = 30  [int >= 1]  "), out.output
    assert CliRunner().invoke(cli, ["config", "keys", "trian"]).exit_code == 1
