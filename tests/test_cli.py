"""The spkssl command group: every command is reachable and the lazy name→module map is right."""
from __future__ import annotations

import importlib

from click.testing import CliRunner

from spkssl.cli import _COMMAND_MODULES, _MODULES, cli


def test_every_command_is_listed_and_mapped_to_its_module() -> None:
    for module in _MODULES:
        for cmd in importlib.import_module(f"spkssl.cli.{module}").commands:
            assert _COMMAND_MODULES[cmd.name] == module, cmd.name
    out = CliRunner().invoke(cli, ["--help"]).output
    for name in _COMMAND_MODULES:
        assert name in out


def test_unknown_command_is_an_error() -> None:
    result = CliRunner().invoke(cli, ["trian"])
    assert result.exit_code != 0 and "No such command" in result.output
