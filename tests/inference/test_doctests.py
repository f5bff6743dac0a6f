"""The examples in the docstrings of spkssl.inference and spkssl.export run (the suite has no other doctest runner)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import spkssl.export
import spkssl.inference

MODULES = sorted({f"{pkg.__name__}.{m.name}" for pkg in (spkssl.inference, spkssl.export)
                  for m in pkgutil.iter_modules(pkg.__path__)} | {"spkssl.models.io"})


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_load_model_is_exported_lazily() -> None:
    import subprocess
    import sys

    code = "import spkssl, sys; print('torch' in sys.modules); print(spkssl.load_model.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "spkssl.inference.model"]
