"""The ``spkssl`` command line: one click group, one module per job.

Example::

    spkssl --help
    spkssl prepare kaldi-dir data/train data/manifests --prefix train
"""
from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from spkssl.version import __version__
from spkssl.launch.lifetime import die_with_parent
from spkssl.utils.logging import quiet_frameworks, setup_logging

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
    "infer",
)
# command name -> defining module, so one call imports only what it runs (torch, lhotse,
# scipy and matplotlib cost seconds each; recipes call the CLI dozens of times).  A name
# missing here still works: every module is then loaded.
_COMMAND_MODULES = {
    "config": "config",
    "prepare": "data",
    "compute-fbank": "features",
    "train": "train",
    "extract": "extract",
    "extract-part": "extract",
    "score": "score",
    "compute-metrics": "score",
    "cluster": "cluster",
    "report": "report",
    "synth": "synth",
    "embed": "infer", "verify": "infer", "export": "infer", "info": "infer",
}


class _LazyGroup(click.Group):
    """A group that imports a command's module only when that command is used."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._loaded: set[str] = set()

    def _load(self, name: str) -> None:
        if name in self._loaded:
            return
        self._loaded.add(name)
        mod = importlib.import_module(f"spkssl.cli.{name}")
        for cmd in mod.commands:
            self.add_command(cmd)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in _MODULES:
            self._load(name)
        return super().list_commands(ctx)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line; first, under a recipe, arrange to die with it (before any slow import)."""
        die_with_parent()
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a file-system error nothing checked before is one line naming the path (exit 1),
        not a traceback (``--log-level DEBUG`` shows it)."""
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if logging.getLogger("spkssl").isEnabledFor(logging.DEBUG):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMAND_MODULES.get(cmd_name)
        for name in [module] if module else _MODULES:
            self._load(name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="spkssl", message="%(prog)s %(version)s")
@click.option("--log-level", default="INFO", show_default=True, help="Python logging level.")
def cli(log_level: str) -> None:
    """spkssl: self-supervised speaker embeddings, Kaldi-style recipes on Lhotse."""
    setup_logging(log_level.upper())
    quiet_frameworks(log_level)
