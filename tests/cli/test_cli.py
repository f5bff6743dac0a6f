"""The spkssl command group: every command is reachable and the lazy name→module map is right."""
from __future__ import annotations

import importlib

import click

from click.testing import CliRunner

from spkssl.cli import _COMMAND_MODULES, _MODULES, cli


def test_every_command_is_listed_and_mapped_to_its_module() -> None:
    hidden = set()
    for module in _MODULES:
        for cmd in importlib.import_module(f"spkssl.cli.{module}").commands:
            assert _COMMAND_MODULES[cmd.name] == module, cmd.name
            if cmd.hidden:
                hidden.add(cmd.name)
    assert hidden == {"extract-part"}  # what the launchers call, not users
    out = CliRunner().invoke(cli, ["--help"]).output
    listed = {line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.startswith("  ")}
    assert listed == set(_COMMAND_MODULES) - hidden


def test_version() -> None:
    from spkssl import __version__

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"spkssl {__version__}\n"


def test_unknown_command_is_an_error() -> None:
    result = CliRunner().invoke(cli, ["trian"])
    assert result.exit_code != 0 and "No such command" in result.output


def _leaf_commands(group: click.Group, ctx: click.Context, prefix: str = "") -> dict[str, click.Command]:
    out = {}
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out.update(_leaf_commands(cmd, ctx, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = cmd
    return out


# The commands that read no config value, and so take neither --config nor --set.
NO_CONFIG = {"prepare trials", "prepare convert-audio", "prepare shar", "export", "info",  # export, info: the model file says all
             "config keys"}  # the declared keys themselves


def test_every_command_that_reads_a_config_accepts_set() -> None:
    """One config entry point: ``--set a.b=v`` works the same on every command that reads a config."""
    commands = _leaf_commands(cli, click.Context(cli))
    assert {"train", "extract", "score", "cluster", "report", "prepare kaldi-dir", "prepare lhotse",
            "config get"} <= set(commands)
    options = {name: {o for p in cmd.params for o in p.opts} for name, cmd in commands.items()}
    lacking = [name for name, opts in options.items() if "--set" not in opts and name not in NO_CONFIG]
    assert lacking == []
    assert [name for name in NO_CONFIG if {"--set", "--config"} & options[name]] == []


def test_a_typo_in_set_is_named_by_any_command(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "c", "s", "t", "e"):
        (tmp_path / name).write_text("")  # only click's exists checks; the config is loaded before any file is read
    for args in (["prepare", "val-trials", "c", "b"], ["compute-metrics", "s", "t"],
                 ["cluster", "--embeddings", "e", "--cuts", "c", "--out-dir", "o"]):
        r = CliRunner().invoke(cli, [*args, "--set", "score.mean_subb=1"])
        assert r.exit_code != 0 and "unknown config key 'score.mean_subb'" in r.output, (args, r.output)


def test_exp_usage_is_checked_the_same_on_every_method_command(tmp_path) -> None:
    """``--exp`` refuses ``--config`` and stand-alone options, and names its missing companion."""
    exp = tmp_path / "exp"
    exp.mkdir()
    conf = tmp_path / "c.yaml"
    conf.write_text("{}\n")
    cases = [
        (["cluster", "--exp", str(exp)], "--exp needs --round"),
        (["train", "--exp", str(exp)], "--exp needs --round"),
        (["extract", "--exp", str(exp)], "--exp needs --system"),
        (["cluster", "--exp", str(exp), "--round", "1", "--config", str(conf)], "--exp and --config cannot be used together"),
        (["extract", "--exp", str(exp), "--system", "round0", "--out-dir", str(tmp_path)],
         "--exp and --out-dir cannot be used together"),
        (["score", "--exp", str(exp), "--system", "round0", "--name", "x"], "--exp and --name cannot be used together"),
    ]
    for argv, message in cases:
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 2 and message in result.output, (argv, result.output)
