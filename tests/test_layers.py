"""The package's import graph: no cycle (imports inside functions included), and the layers point one way.

Library packages (data, features, models, losses, training, embed, cluster, scoring,
report, inference, export, ...) know nothing of experiments: only ``spkssl.steps`` and
``spkssl.cli`` import ``spkssl.experiment``, and only the CLI imports the steps.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spkssl"
#: the layers above the library: each may import the ones before it, the library none of them
EXPERIMENT_LAYER = ("spkssl.experiment", "spkssl.steps", "spkssl.cli")
TOP = ("spkssl", "spkssl.__main__")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, known: set[str]) -> set[str]:
    """Every spkssl module ``path`` imports anywhere in its code (functions included)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != this}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, set(mods)) for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_walker_sees_imports_inside_functions(tmp_path: Path) -> None:
    src = PACKAGE / "cli" / "score.py"
    assert "spkssl.steps.score" in imports(src, set(modules()))  # imported inside _score_experiment


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package() -> None:
    found = cycles(graph())
    assert not found, "import cycles (counting imports inside functions): " + "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("upper", EXPERIMENT_LAYER)
def test_library_packages_do_not_import_the_experiment_steps_or_cli(upper: str) -> None:
    g = graph()
    allowed = EXPERIMENT_LAYER[EXPERIMENT_LAYER.index(upper):] + TOP
    bad = sorted(f"{m} imports {d}" for m, deps in g.items() for d in deps
                 if in_layer(d, upper) and not any(in_layer(m, a) for a in allowed))
    assert not bad, "\n".join(bad)
