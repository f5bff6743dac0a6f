"""Experiment configuration: package defaults + recipe YAML + command-line overrides.

Every section's defaults live in ``spkssl/configs/<section>.yaml`` and nowhere
else; a recipe's ``conf/*.yaml`` overrides a subset, and ``key.sub=value`` strings
override last.  :func:`load_config` is the one entry point every command uses, for
a recipe YAML and for an experiment's resolved ``config.yaml`` alike (resolving is
idempotent).  An unknown key anywhere is an error that names it (and the closest
known key), so a typo never silently falls back to a default.  Keys under a
mapping named ``kwargs``, ``extra``, ``trials`` or ``val_trials`` are free-form
(constructor options, or trial-list names).  Values are checked against the schema
each key declares on its line of the defaults (:mod:`spkssl.config_schema`): a
wrong type, a value out of range or outside an enumeration is an error naming the key.

Example:
    >>> cfg = load_config(None, ["train.epochs=3"])
    >>> cfg["train"]["epochs"]
    3
    >>> section_defaults("features")["num_mel_bins"]
    80
"""
from __future__ import annotations

import copy
import difflib
import functools
import os
import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from spkssl.config_schema import KeyDoc, declared_keys, load_schema, schema_problems
from spkssl.utils.io import write_text_atomic

CONFIG_DIR = Path(__file__).with_name("configs")
FREE_FORM_KEYS = {"kwargs", "extra", "trials", "val_trials"}
#: what a repetition seed (``spkssl config resolve --seed S``, ``run.sh --seeds``) offsets: all that is
#: random in training (initialisation, order, augmentation draws) and in k-means.  Data preparation
#: (``synth.seed``, ``data.validation.seed``, the generated augmentation sources) stays fixed, so every
#: repetition trains on the same data and is scored on the same trials.
REPETITION_SEED_KEYS = ("train.seed", "cluster.seed")


class ConfigError(ValueError):
    """A configuration file or override is malformed or names an unknown key."""


@functools.lru_cache(maxsize=8)
def _read_defaults(stamp: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    return {Path(name).stem: yaml.safe_load(Path(name).read_text()) or {} for name, _ in stamp}


@functools.lru_cache(maxsize=8)
def _default_files(config_dir: str, dir_mtime: int) -> tuple[str, ...]:
    return tuple(str(p) for p in sorted(Path(config_dir).glob("*.yaml")))


def _defaults() -> dict[str, Any]:
    """The parsed default files, re-read only when a file (or ``CONFIG_DIR``) changes."""
    files = _default_files(str(CONFIG_DIR), os.stat(CONFIG_DIR).st_mtime_ns)
    return _read_defaults(tuple((name, os.stat(name).st_mtime_ns) for name in files))


def load_defaults() -> dict[str, Any]:
    """All package defaults: one top-level section per ``configs/*.yaml`` file (a fresh copy)."""
    return copy.deepcopy(_defaults())


def config_keys() -> list[KeyDoc]:
    """Every declared key of every section, in file order: name, default, spec and doc.

    >>> next(d for d in config_keys() if d.key == "train.epochs").spec
    'int >= 1'
    """
    files = _default_files(str(CONFIG_DIR), os.stat(CONFIG_DIR).st_mtime_ns)
    return [d for name in files for d in declared_keys(Path(name).read_text(encoding="utf-8"), Path(name).stem)]


def section_defaults(section: str) -> dict[str, Any]:
    """The package defaults of one section (a fresh copy), e.g. ``section_defaults("score")``."""
    defaults = _defaults()
    if section not in defaults:
        raise ConfigError(f"no config section '{section}'; known: {sorted(defaults)}")
    return copy.deepcopy(defaults[section])


def with_defaults(section: str, partial: Mapping[str, Any] | None) -> dict[str, Any]:
    """A (possibly partial) section completed with its package defaults; unknown keys are errors.

    ``section`` is a top-level section or a dotted path to one inside it (``"loss.dino"``).
    This is where an API's caller-given settings are completed; library code below takes
    complete sections (:func:`require_complete`).

    >>> with_defaults("score", {"mean_sub": False})["asnorm"]["top_n"]
    300
    >>> with_defaults("loss.dino", {"out_dim": 16})["teacher_temp"]
    0.07
    """
    top, *inner = section.split(".")
    nested: dict[str, Any] = dict(partial or {})
    for part in reversed(inner):
        nested = {part: nested}
    cfg = {top: section_defaults(top)}
    _merge(cfg, {top: nested}, "", False)
    check_config(cfg)
    return _subsection(cfg, section)


def require_complete(path: str, cfg: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``cfg`` itself, once checked to hold every key of section ``path`` (``"score"``, ``"loss.dino"``).

    Library code takes its section complete (from :func:`load_config`, a model file's
    :func:`spkssl.models.io.model_config`, or :func:`with_defaults` at an API's edge) and checks it
    here instead of filling gaps itself, so a default has one place where it applies.

    >>> require_complete("loss.contrastive", with_defaults("loss", {})["contrastive"])["name"]
    'ntxent'
    >>> require_complete("loss.contrastive", {"name": "ntxent"})
    Traceback (most recent call last):
    ...
    spkssl.config.ConfigError: incomplete config section 'loss.contrastive': missing 'temperature' ...

    Raises:
        ConfigError: naming the section and every missing key.
    """
    missing = _missing_keys(_subsection(_defaults(), path), cfg or {}, "")
    if missing:
        raise ConfigError(f"incomplete config section '{path}': missing {', '.join(repr(k) for k in missing)} "
                          "(library code takes complete sections: resolve them with spkssl.config.load_config, "
                          "or complete a partial one with spkssl.config.with_defaults)")
    return cfg  # type: ignore[return-value]


def _subsection(tree: Mapping[str, Any], path: str) -> Any:
    """The mapping at dotted ``path`` of ``tree`` (``"loss.dino"``), or an error naming the path."""
    for part in path.split("."):
        if not isinstance(tree, Mapping) or not isinstance(tree.get(part), Mapping):
            raise ConfigError(f"no config section '{path}'")
        tree = tree[part]
    return tree


def _missing_keys(defaults: Mapping[str, Any], cfg: Mapping[str, Any], where: str) -> list[str]:
    out: list[str] = []
    for key, value in defaults.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in cfg:
            out.append(dotted)
        elif isinstance(value, Mapping) and key not in FREE_FORM_KEYS and isinstance(cfg[key], Mapping):
            out.extend(_missing_keys(value, cfg[key], dotted))
    return out


def check_config(cfg: dict[str, Any]) -> None:
    """Check every value of a (resolved) config against the specs of ``spkssl/configs/``, in place.

    Floats that YAML read as strings (``1e-4``) become floats; nothing else changes.

    >>> check_config({"train": {"lr": -1}})
    Traceback (most recent call last):
    ...
    spkssl.config.ConfigError: config key 'train.lr' must be a number > 0, got -1

    Raises:
        ConfigError: naming every key whose value does not fit, and what it must be.
    """
    problems = schema_problems(cfg, load_schema(CONFIG_DIR))
    if problems:
        raise ConfigError("; ".join(problems))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with an error naming the file when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(_binary_config_message(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def _binary_config_message(path: Path) -> str:
    """What to say about a binary file given as a config (a model file, most often)."""
    if zipfile.is_zipfile(path):
        return (f"{path} is a model file (final.pt or a TorchScript export), not a YAML config: give it where a "
                "model goes (e.g. `spkssl extract --model`, `spkssl embed MODEL`); a model's own config is "
                "inside it (`spkssl info MODEL` shows it)")
    return f"{path} is not a YAML config: it is a binary file (not UTF-8 text), e.g. a model or audio file"


def _merge(base: dict[str, Any], over: Mapping[str, Any], where: str, free: bool) -> None:
    for key, value in over.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in base and not free:
            hint = difflib.get_close_matches(str(key), [str(k) for k in base], n=1)
            extra = f" (did you mean '{where + '.' if where else ''}{hint[0]}'?)" if hint else ""
            raise ConfigError(f"unknown config key '{dotted}'{extra}")
        child_free = free or key in FREE_FORM_KEYS
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, dotted, child_free)
        elif isinstance(base.get(key), dict) and value is not None and not child_free:
            raise ConfigError(f"config key '{dotted}' is a section; got a {type(value).__name__}")
        else:
            base[key] = copy.deepcopy(value)


def parse_override(item: str) -> dict[str, Any]:
    """``"a.b.c=3"`` → ``{"a": {"b": {"c": 3}}}`` (value parsed as YAML)."""
    if "=" not in item:
        raise ConfigError(f"override '{item}' must look like section.key=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override '{item}' has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{item}': cannot parse value: {exc}") from exc
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    out: dict[str, Any] = {}
    node = out
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def resolve_config(
    path: str | Path | None, overrides: Iterable[str] = (), base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Defaults (or ``base``) ← YAML at ``path`` ← ``overrides``; unknown keys are errors."""
    cfg = copy.deepcopy(dict(base)) if base is not None else load_defaults()
    if path is not None:
        _merge(cfg, load_yaml(path), "", False)
    for item in overrides:
        _merge(cfg, parse_override(item), "", False)
    return cfg


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The configuration a command runs with: package defaults ← ``path`` ← ``overrides``.

    ``path`` is a recipe YAML or an experiment's resolved ``config.yaml``; ``None``
    means the package defaults alone.  Every ``spkssl`` command loads its config
    here, so ``--set a.b=v`` means the same everywhere.

    Raises:
        ConfigError: the file is missing or malformed, a key is unknown, or a value does
            not fit the schema (each named).
    """
    cfg = resolve_config(path, overrides)
    check_config(cfg)
    return cfg


def with_repetition_seed(cfg: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """A copy of ``cfg`` for repetition ``seed``: ``seed`` added to every key of :data:`REPETITION_SEED_KEYS`.

    Repetition 0 is ``cfg`` itself, so a one-seed run and seed 0 of ``--seeds "0 1 2"`` draw alike.

    >>> cfg = load_config(None, ["train.seed=10", "cluster.seed=0"])
    >>> rep = with_repetition_seed(cfg, 2)
    >>> rep["train"]["seed"], rep["cluster"]["seed"], rep["data"]["validation"]["seed"] == cfg["data"]["validation"]["seed"]
    (12, 2, True)
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"a repetition seed must be a whole number >= 0, got {seed!r}")
    out = copy.deepcopy(dict(cfg))
    for dotted in REPETITION_SEED_KEYS:
        section, key = dotted.split(".")
        value = out[section][key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{dotted}' must be a whole number to take a repetition seed, got {value!r}")
        out[section][key] = value + seed
    return out


def save_config(cfg: Mapping[str, Any], path: str | Path) -> None:
    """Write the resolved config atomically (the copy every later stage reads)."""
    write_text_atomic(path, yaml.safe_dump(dict(cfg), sort_keys=False))


def diff_configs(a: Mapping[str, Any], b: Mapping[str, Any], where: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved configs."""
    out: list[str] = []
    for key in sorted(set(a) | set(b), key=str):
        dotted = f"{where}.{key}" if where else str(key)
        va, vb = a.get(key), b.get(key)
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            out.extend(diff_configs(va, vb, dotted))
        elif va != vb:
            out.append(dotted)
    return out
