"""Check a resolved config against the spec each key declares in its defaults file.

A config key is declared once, on its line of ``spkssl/configs/<section>.yaml``: name,
default, spec in backticks, one line of doc (:func:`declared_keys`)::

    epochs: 30      # `int >= 1` passes over the training cuts

Defaults, the checks here, the typo suggestions of :mod:`spkssl.config` and the key
reference of the documentation all come from those lines.  A spec says what the key may hold:

- ``int``, ``float``, ``bool``, ``str``: that type (``float`` takes integers; ``int`` never a bool);
- ``device``: ``auto``, ``cpu``, ``cuda``, ``cuda:N``;
- ``int >= 1``, ``float > 0``, ``float in (0, 1]``: a number in that range;
- ``a | b | c``: one of these words;
- ``list of SPEC``: a list whose items match SPEC;
- ``range of SPEC``: ``[low, high]`` with low <= high, both matching SPEC;
- ``map of SPEC``: a mapping with free-form keys whose values match SPEC;
- ``... or null``: also ``null``.

:func:`schema_problems` walks a resolved config and names every key whose value
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


_KEY_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*):([^#]*)(?:#\s*(.*))?$")
_SPEC = re.compile(r"^`([^`]+)`\s*(.*)$")


@dataclass(frozen=True)
class KeyDoc:
    """One declared config key: its dotted name, default (as written), spec and one line of doc."""

    key: str
    default: str
    spec: str
    doc: str


def declared_keys(text: str, where: str = "") -> list[KeyDoc]:
    """Every key declared in a defaults file: a line ``key: default  # `spec` doc`` (a section's line has no value).

    Comment lines that follow a key continue its doc.

    >>> text = "top_n: 300  # `int >= 2` cohort scores kept\\nplda:\\n  lda_dim: 200  # `int >= 1` LDA size"
    >>> [(d.key, d.default, d.spec, d.doc) for d in declared_keys(text, "score")]
    [('score.top_n', '300', 'int >= 2', 'cohort scores kept'), ('score.plda.lda_dim', '200', 'int >= 1', 'LDA size')]
    """
    out: list[KeyDoc] = []
    stack: list[tuple[int, str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            if out and stack and line.startswith(" " * (stack[-1][0] + 1)) and out[-1].key.endswith(stack[-1][1]):
                last = out[-1]
                out[-1] = KeyDoc(last.key, last.default, last.spec, f"{last.doc} {stripped.lstrip('#').strip()}")
            continue
        m = _KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        spec = _SPEC.match((m.group(4) or "").strip())
        if spec and m.group(3).strip():  # a section's line (no value) has no spec
            dotted = ".".join(([where] if where else []) + [k for _, k in stack])
            out.append(KeyDoc(dotted, m.group(3).strip(), spec.group(1).strip(), spec.group(2).strip()))
    return out


@functools.lru_cache(maxsize=8)
def _load(stamp: tuple[tuple[str, int], ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, _ in stamp:
        path = Path(name)
        tree: dict[str, Any] = {}
        for decl in declared_keys(path.read_text(encoding="utf-8")):
            node = tree
            *parents, leaf = decl.key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            try:
                node[leaf] = parse_spec(decl.spec)
            except SchemaError as exc:
                raise SchemaError(f"{path.name}:{decl.key}: {exc}") from None
        out[path.stem] = tree
    return out


def load_schema(config_dir: str | Path) -> dict[str, Any]:
    """The parsed schema of every section: the `` `spec` `` of each key in ``config_dir/<section>.yaml``."""
    paths = sorted(Path(config_dir).glob("*.yaml"))
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
            problems.append(f"config key '{dotted}' has no `spec` in its line of spkssl/configs/")
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
