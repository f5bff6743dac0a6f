"""Every example in the package's docstrings runs: one test per module of spkssl/ (the README's test command).

``python -m pytest --doctest-modules spkssl`` runs the same examples.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import spkssl

MODULES = ["spkssl"] + sorted(m.name for m in pkgutil.walk_packages(spkssl.__path__, "spkssl.")
                              if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_module_is_collected() -> None:
    files = {p for p in Path(spkssl.__file__).parent.rglob("*.py") if p.name != "__main__.py"}
    assert len(MODULES) == len(files)


def test_no_example_is_a_comment() -> None:
    """``>>> # call(...)`` can never fail: an example runs, or it is a ``Usage::`` block."""
    found = [f"{p}:{i}" for p in Path(spkssl.__file__).parent.rglob("*.py")
             for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if re.match(r"\s*>>> #", line)]
    assert not found, found


def test_load_model_is_exported_lazily() -> None:
    import subprocess
    import sys

    code = "import spkssl, sys; print('torch' in sys.modules); print(spkssl.load_model.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "spkssl.inference.model"]
