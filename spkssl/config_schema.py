"""Check a resolved config against the schema beside the defaults (``spkssl/configs/schema/``).

Each ``spkssl/configs/schema/<section>.yaml`` has the keys of
``spkssl/configs/<section>.yaml``, and each value is a short spec of what the key may
hold (``int >= 1``, ``float in (0, 1]``, ``adamw | sgd``, ``list of float``,
``range of int >= 1``, ``map of str``, ``... or null``; the folder's README lists
them).  :func:`schema_problems` walks a resolved config and names every key whose value
does not fit (:func:`spkssl.config.load_config` raises them as one ``ConfigError``), so
``train.epochs=abc`` fails when the config is resolved, not rounds later.

Numbers that YAML 1.1 reads as strings (``1e-4`` in a YAML file) are turned into
floats where the schema asks for a float; nothing else is converted.

Example:
    >>> from spkssl.config import CONFIG_DIR, load_defaults
    >>> cfg = load_defaults()
    >>> cfg["train"]["epochs"] = "abc"
    >>> schema_problems(cfg, load_schema(CONFIG_DIR))
    ["config key 'train.epochs' must be an integer >= 1, got 'abc' (str)"]
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

TYPES = ("int", "float", "bool", "str", "device", "any")
_BOUND_RE = re.compile(r"^(>=|>|<=|<)\s*(-?[\d.e+-]+)$")
_INTERVAL_RE = re.compile(r"^in\s*([\[(])\s*(-?[\d.e+-]+)\s*,\s*(-?[\d.e+-]+)\s*([\])])$")
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_NOUN = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string",
         "device": "a device (auto, cpu, cuda or cuda:N)", "any": "anything"}


class SchemaError(ValueError):
    """A schema file itself is malformed (a bug in the package, named with its file and key)."""


@dataclass(frozen=True)
class Spec:
    """What one key may hold: a parsed schema string (see the module doc)."""

    text: str
    kind: str  # a name of TYPES, "enum", "list", "range" or "map"
    nullable: bool = False
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    item: "Spec | None" = None

    @property
    def description(self) -> str:
        """The spec in words, e.g. ``an integer >= 1`` or ``one of adamw, sgd``."""
        if self.kind == "enum":
            words = f"one of {', '.join(self.choices)}" if len(self.choices) > 1 else repr(self.choices[0])
        elif self.kind in ("list", "range", "map"):
            inner = self.item.description if self.item else "anything"
            words = {"list": f"a list whose items are each {inner}",
                     "range": f"a [low, high] pair (low <= high), each {inner}",
                     "map": f"a mapping of names to values that are each {inner}"}[self.kind]
        else:
            words = _NOUN[self.kind] + self._bounds()
        return words + (" or null" if self.nullable else "")

    def _bounds(self) -> str:
        if self.low is not None and self.high is not None:
            return (f" in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f" {'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f" {'<' if self.high_open else '<='} {self.high:g}"
        return ""


def parse_spec(text: str) -> Spec:
    """Parse one schema string.

    >>> parse_spec("float in (0, 1]").description
    'a number in (0, 1]'
    >>> parse_spec("list of cosine | plda").description
    'a list whose items are each one of cosine, plda'
    """
    raw = str(text).strip()
    nullable = raw.endswith(" or null")
    body = raw[: -len(" or null")].strip() if nullable else raw
    for kind in ("list", "range", "map"):
        if body.startswith(f"{kind} of "):
            item = parse_spec(body[len(kind) + 4:])
            if kind == "range" and item.kind not in ("int", "float"):
                raise SchemaError(f"'{raw}': a range holds int or float")
            return Spec(raw, kind, nullable, item=None if item.kind == "any" else item)
    head, _, rest = body.partition(" ")
    if head not in TYPES:
        choices = tuple(w.strip() for w in body.split("|"))
        if not all(re.fullmatch(r"[\w.:-]+", w) for w in choices):
            raise SchemaError(f"'{raw}': not a type ({', '.join(TYPES)}) nor an enumeration a | b")
        return Spec(raw, "enum", nullable, choices=choices)
    rest = rest.strip()
    if not rest:
        return Spec(raw, head, nullable)
    if head not in ("int", "float"):
        raise SchemaError(f"'{raw}': only int and float take a range")
    bound, interval = _BOUND_RE.match(rest), _INTERVAL_RE.match(rest)
    if bound:
        op, value = bound.group(1), float(bound.group(2))
        if op.startswith(">"):
            return Spec(raw, head, nullable, low=value, low_open=op == ">")
        return Spec(raw, head, nullable, high=value, high_open=op == "<")
    if interval:
        return Spec(raw, head, nullable, low=float(interval.group(2)), high=float(interval.group(3)),
                    low_open=interval.group(1) == "(", high_open=interval.group(4) == ")")
    raise SchemaError(f"'{raw}': cannot read the range '{rest}'")


def _number(value: Any, kind: str) -> Any:
    """``value`` as the number ``kind`` asks for, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if kind == "int":
        return value if isinstance(value, int) else None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 as a string
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _in_range(spec: Spec, x: float) -> bool:
    if isinstance(x, float) and not math.isfinite(x):
        return False
    if spec.low is not None and (x < spec.low or (spec.low_open and x == spec.low)):
        return False
    return not (spec.high is not None and (x > spec.high or (spec.high_open and x == spec.high)))


def check_value(spec: Spec, value: Any) -> tuple[bool, Any]:
    """``(fits, value)``; the value comes back converted where a float was given as a string."""
    if value is None:
        return spec.nullable or spec.kind == "any", value
    if spec.kind in ("int", "float"):
        x = _number(value, spec.kind)
        return (x is not None and _in_range(spec, x)), (value if x is None else x)
    checks: dict[str, Callable[[Any], bool]] = {
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "device": lambda v: isinstance(v, str) and bool(_DEVICE_RE.match(v)),
        "any": lambda v: True,
        "enum": lambda v: isinstance(v, str) and v in spec.choices,
    }
    if spec.kind in checks:
        return checks[spec.kind](value), value
    if spec.kind == "map":
        if not isinstance(value, Mapping):
            return False, value
        return _items(spec, dict(value), list(value))
    if not isinstance(value, (list, tuple)) or (spec.kind == "range" and len(value) != 2):
        return False, value
    ok, items = _items(spec, list(value), range(len(value)))
    if ok and spec.kind == "range" and items[0] > items[1]:
        return False, value
    return ok, items


def _items(spec: Spec, container: Any, keys: Any) -> tuple[bool, Any]:
    if spec.item is None:
        return True, container
    for key in keys:
        ok, container[key] = check_value(spec.item, container[key])
        if not ok:
            return False, container
    return True, container


def _shown(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})" if isinstance(value, str) else repr(value)


@functools.lru_cache(maxsize=8)
def _load(stamp: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, _ in stamp:
        path = Path(name)
        tree = yaml.safe_load(path.read_text()) or {}
        out[path.stem] = _parse_tree(tree, path.name)
    return out


def _parse_tree(tree: Mapping[str, Any], where: str) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in tree.items():
        here = f"{where}:{key}"
        if isinstance(value, Mapping):
            parsed[key] = _parse_tree(value, here)
        else:
            try:
                parsed[key] = parse_spec(value)
            except SchemaError as exc:
                raise SchemaError(f"{here}: {exc}") from None
    return parsed


def load_schema(config_dir: str | Path) -> dict[str, Any]:
    """The parsed schema of every section under ``config_dir/schema`` (re-read when a file changes)."""
    folder = Path(config_dir) / "schema"
    paths = sorted(folder.glob("*.yaml"))
    return _load(tuple((str(p), p.stat().st_mtime_ns) for p in paths))


def schema_problems(cfg: Mapping[str, Any], schema: Mapping[str, Any], where: str = "") -> list[str]:
    """One message per key of ``cfg`` whose value does not fit ``schema`` (floats given as strings are converted in place).

    A key without a schema entry is a problem too: every key the package reads is described.
    """
    problems: list[str] = []
    for key, value in cfg.items():
        dotted = f"{where}.{key}" if where else str(key)
        spec = schema.get(key)
        if spec is None:
            problems.append(f"config key '{dotted}' has no schema entry in spkssl/configs/schema/")
        elif isinstance(spec, Mapping):
            if isinstance(value, Mapping):
                problems += schema_problems(value, spec, dotted)
            else:
                problems.append(f"config key '{dotted}' must be a section, got {_shown(value)}")
        else:
            ok, converted = check_value(spec, value)
            if ok:
                cfg[key] = converted  # type: ignore[index]
            else:
                problems.append(f"config key '{dotted}' must be {spec.description}, got {_shown(value)}")
    return problems
