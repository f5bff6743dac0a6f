"""The ``spkssl`` command line: one click group, one module per job.

Example::

    spkssl --help
    spkssl prepare kaldi-dir data/train data/manifests --prefix train
"""
from __future__ import annotations

import importlib

import click

from spkssl.utils.logging import setup_logging

# Each module defines ``commands``: a list of click commands/groups added to ``cli``.
_MODULES = (
    "config",
    "data",
    "features",
    "train",
    "extract",
    "score",
    "cluster",
    "report",
    "synth",
)


@click.group()
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """spkssl: self-supervised speaker embeddings, Kaldi-style recipes on Lhotse."""
    setup_logging(log_level.upper())


for _name in _MODULES:
    try:
        _mod = importlib.import_module(f"spkssl.cli.{_name}")
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a module is absent
        if exc.name != f"spkssl.cli.{_name}":
            raise
        continue
    for _cmd in _mod.commands:
        cli.add_command(_cmd)
