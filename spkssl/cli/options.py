"""Options every ``spkssl`` command shares, and the one way a command loads its config.

* ``--config FILE`` and ``--set a.b=v`` (repeatable) on every command: defaults ←
  FILE ← overrides, through :func:`spkssl.config.load_config`.
* ``--exp DIR`` on the method commands: the experiment folder, whose
  ``config.yaml`` (with ``--set`` on top, for this command only) decides the rest.
* ``--force true|false`` on the commands that skip finished work: the recipe
  passes its own ``--force`` value on, so a forced stage recomputes everything.
* ``--nj N`` wherever work runs in parallel.

Example::

    @click.command("cluster")
    @config_options
    def cluster_cmd(config, overrides): cfg = load_cli_config(config, overrides)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import click

from spkssl.config import ConfigError, load_config
from spkssl.experiment import Experiment, ExperimentError
from spkssl.utils.io import OutputError, check_writable

F = Callable[..., Any]


def config_options(f: F) -> F:
    """Add ``--config`` and ``--set`` (passed as ``config`` and ``overrides``)."""
    f = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                     help="Config override, e.g. --set train.epochs=5 (repeatable).")(f)
    return click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None,
                        help="Config YAML: a recipe conf or an experiment's config.yaml [default: package defaults].")(f)


class OutputPath(click.Path):
    """An output path, checked when the command line is parsed: before any work, a folder that cannot be
    made or written (a parent that is a file, a read-only place) is a usage error naming it (exit 2)."""

    def __init__(self, folder: bool = False) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        value = super().convert(value, param, ctx)
        try:
            check_writable(value, folder=self.folder)
        except OutputError as exc:
            self.fail(str(exc), param, ctx)
        return value


class DeviceName(click.ParamType):
    """A device (``auto``, ``cpu``, ``cuda``, ``cuda:N``), checked when the command line is parsed: a GPU
    this machine does not have is a usage error (exit 2) before any work."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from spkssl.utils.device import DeviceError, check_device

        try:
            check_device(value)
        except DeviceError as exc:
            self.fail(str(exc), param, ctx)
        return value


def load_cli_config(config: str | None, overrides: Iterable[str]) -> dict[str, Any]:
    """:func:`spkssl.config.load_config` with errors turned into a clean command-line error."""
    try:
        return load_config(config, overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def exp_option(f: F) -> F:
    """Add ``--exp`` (passed as ``exp``): the experiment folder holding ``config.yaml``."""
    return click.option("--exp", "exp", type=click.Path(file_okay=False), default=None,
                        help="Experiment folder, e.g. exp/<tag> (relative to the folder the command runs in): "
                             "its config.yaml decides inputs and round plans.")(f)


def bool_option(name: str, help: str, default: bool | None = False) -> Callable[[F], F]:
    """The one boolean style of every command: ``--name true|false``, as Kaldi's ``parse_options.sh``
    and the recipes' ``run.sh`` take them (``--force true``); ``default=None`` leaves it to the config.

    >>> from click.testing import CliRunner
    >>> @click.command()
    ... @bool_option("--skip-missing", "Leave out unknown ids.")
    ... def show(skip_missing): click.echo(skip_missing)
    >>> [CliRunner().invoke(show, args).output.strip() for args in ([], ["--skip-missing", "true"], ["--skip-missing", "no"])]
    ['False', 'True', 'False']
    """
    return click.option(name, type=click.BOOL, default=default, show_default=default is not None,
                        metavar="true|false", help=help)


def force_option(f: F) -> F:
    """Add ``--force true|false`` (passed as ``force``)."""
    return bool_option("--force", "Redo the work even if its outputs exist (recipes pass their --force on).")(f)


def open_experiment(exp: str, overrides: Iterable[str]) -> "Experiment":  # noqa: F821 - imported lazily
    """The :class:`~spkssl.experiment.Experiment` at ``exp``, errors as command-line errors."""
    try:
        return Experiment(exp, overrides)
    except (ConfigError, ExperimentError) as exc:
        raise click.ClickException(str(exc)) from exc


def exclusive(**given: Any) -> None:
    """Refuse option combinations: ``exclusive(exp=..., config=...)`` allows at most one to be set."""
    named = [f"--{k.replace('_', '-')}" for k, v in given.items() if v not in (None, (), False)]
    if len(named) > 1:
        raise click.UsageError(f"{' and '.join(named)} cannot be used together")


def check_exp_usage(exp: str, config: str | None, needs: tuple[str, Any] | None = None, **standalone: Any) -> None:
    """Refuse ``--exp`` with ``--config`` or with a stand-alone option, or without its companion.

    ``needs=("--round", round_)`` names the option ``--exp`` cannot go without;
    ``standalone`` are the options of the stand-alone form, none of which may be given.
    """
    exclusive(exp=exp, config=config)
    for key, value in standalone.items():
        exclusive(exp=exp, **{key: value})
    if needs is not None and needs[1] is None:
        raise click.UsageError(f"--exp needs {needs[0]}")
