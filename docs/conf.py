"""Sphinx configuration of the spkssl manual: ``sphinx-build -W -b html docs docs/_build/html``.

Sphinx because the neighbouring projects (lhotse, icefall) build their manuals with it, and its
extensions generate the references from the code: sphinx-click reads the ``spkssl`` click
commands, autodoc the package's docstrings, so neither reference can drift from the code.
MyST lets the pages stay Markdown, as the README and the recipes' RESULTS are.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spkssl.version import __version__  # noqa: E402

project = "spkssl"
author = "the spkssl developers"
version = release = __version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon", "sphinx_click"]
autosummary_generate = True
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False,
                           "ignore-module-all": True}  # a package's re-exports are documented where they live
autodoc_typehints = "none"  # signatures stay short; the docstrings say what each argument is
napoleon_google_docstring = True
napoleon_use_ivar = True  # "Attributes:" sections as fields, not a second description of each attribute
suppress_warnings = ["myst.xref_missing"]  # links into the repository (egs/, benchmarks/) are files, not pages
html_theme = "alabaster"
nitpicky = False
