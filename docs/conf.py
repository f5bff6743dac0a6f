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
exclude_patterns = ["_build", "reference/_config_keys.md"]  # included by reference/config.md
myst_heading_anchors = 3
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False,
                           "ignore-module-all": True}  # a package's re-exports are documented where they live
autodoc_typehints = "none"  # signatures stay short; the docstrings say what each argument is
napoleon_google_docstring = True
napoleon_use_ivar = True  # "Attributes:" sections as fields, not a second description of each attribute
suppress_warnings = ["myst.xref_missing"]  # links to repository files (egs/, benchmarks/) are not pages; tests/docs/test_links.py checks every link
html_theme = "alabaster"
nitpicky = False


def write_config_reference(app) -> None:
    """Write ``reference/_config_keys.md`` (included by ``reference/config.md``) from the declared keys.

    Every key is declared once, on its line of ``spkssl/configs/<section>.yaml``; the page is generated
    from those declarations at each build, so it names exactly the keys the package checks.
    """
    from spkssl.config import config_keys

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines: list[str] = []
    section = None
    for d in config_keys():
        head = d.key.split(".", 1)[0]
        if head != section:
            section = head
            lines += ["", f"## {head}", "", f"Defaults in `spkssl/configs/{head}.yaml`.", "",
                      "| key | default | type / range | meaning |", "| --- | --- | --- | --- |"]
        lines.append(f"| `{d.key}` | `{cell(d.default)}` | `{cell(d.spec)}` | {cell(d.doc)} |")
    out = Path(app.srcdir) / "reference" / "_config_keys.md"
    text = "\n".join(lines).lstrip() + "\n"
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_config_reference)
    return {"parallel_read_safe": True}
