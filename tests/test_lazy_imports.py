"""Imports sit at the top of a module unless a heavy or optional dependency forces them into a function.

An import inside a function hides a dependency from a reader.  It is kept only where
moving it to the top would make the module load something heavy it does not load today
(torch, lhotse, scikit-learn, matplotlib, ONNX, TensorBoard, Silero: seconds each, so
``import spkssl``, ``spkssl --help`` and the ONNX inference path stay light) or need an
optional package.  The walk is static: what a module's top-level imports load, followed
through the package (:mod:`tests.test_layers` checks there is no cycle).
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

from tests.test_layers import PACKAGE, module_name, modules as _modules

#: third-party packages that take about a second or more to import, or are optional extras
HEAVY = {"torch", "torchaudio", "lhotse", "sklearn", "matplotlib", "onnx", "onnxruntime", "onnxscript",
         "silero_vad", "tensorboard"}


@functools.lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    """``spkssl`` module name → file (read once per run)."""
    return _modules()


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING" or (
        isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, this: str, is_package: bool) -> list[str]:
    """The dotted modules an import statement loads (``from a import b``: ``a.b`` when that is a module)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        package = this if is_package else this.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join(parts + ([base] if base else []))
    known = set(modules())
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]


@functools.lru_cache(maxsize=None)
def _top_level_imports(path: Path) -> list[str]:
    """What importing the module runs: its body's imports, outside functions and ``if TYPE_CHECKING``."""
    this, out = module_name(path), []
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                out.extend(_targets(node, this, path.name == "__init__.py"))
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
            elif isinstance(node, ast.ClassDef):
                walk(node.body)

    walk(tree.body)
    return out


def function_imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import inside a function of ``path``."""
    this, out = module_name(path), set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    out.update((node.lineno, t) for t in _targets(node, this, path.name == "__init__.py"))
    return sorted(out)


def _parents(name: str) -> list[str]:
    """``spkssl.a.b`` → ``spkssl``, ``spkssl.a``, ``spkssl.a.b``: importing a module runs its packages first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@functools.lru_cache(maxsize=None)
def heavy_loaded(name: str) -> frozenset[str]:
    """The heavy packages that ``import name`` loads (for a spkssl module: through its top-level imports)."""
    root = name.split(".")[0]
    if root != "spkssl":
        return frozenset({root} & HEAVY)
    mods = modules()
    found: set[str] = set()
    seen: set[str] = set()
    todo = [p for p in _parents(name) if p in mods]
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        for dep in _top_level_imports(mods[m]):
            if dep.split(".")[0] == "spkssl":
                todo.extend(p for p in _parents(dep) if p in mods)
            elif dep.split(".")[0] in HEAVY or dep.startswith("torch.utils.tensorboard"):
                found.add("tensorboard" if dep.startswith("torch.utils.tensorboard") else dep.split(".")[0])
    return frozenset(found)


def needless_function_imports() -> list[str]:
    """Every import inside a function that could sit at the top without loading anything heavier."""
    out = []
    for name, path in modules().items():
        here = heavy_loaded(name)
        for line, target in function_imports(path):
            extra = heavy_loaded(target if target.split(".")[0] == "spkssl" else target.split(".")[0])
            if target.startswith("torch.utils.tensorboard"):
                extra = frozenset({"tensorboard"})
            if not extra - here:
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target} inside a function, "
                           f"but {name} loads {sorted(extra) or 'nothing heavy'} for it anyway: import it at the top")
    return out


def test_the_walk_sees_what_a_module_loads() -> None:
    assert heavy_loaded("spkssl.config") == frozenset()
    assert heavy_loaded("spkssl.cli") == heavy_loaded("spkssl.cli.config") == frozenset()  # `spkssl --help`, `spkssl config …`
    assert "torch" in heavy_loaded("spkssl.models")
    assert "lhotse" in heavy_loaded("spkssl.data.manifests")
    assert heavy_loaded("spkssl") == frozenset()  # `import spkssl` stays light: load_model is exported lazily


def test_imports_inside_functions_are_only_those_a_heavy_dependency_forces() -> None:
    bad = needless_function_imports()
    assert not bad, "\n".join(bad)
