"""The spkssl command group: every command is reachable and the lazy name→module map is right."""
from __future__ import annotations

import importlib

import click

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


def _leaf_commands(group: click.Group, ctx: click.Context, prefix: str = "") -> dict[str, click.Command]:
    out = {}
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out.update(_leaf_commands(cmd, ctx, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = cmd
    return out


def test_every_command_accepts_set() -> None:
    """One config entry point: ``--set a.b=v`` works the same on every command."""
    commands = _leaf_commands(cli, click.Context(cli))
    assert {"train", "extract", "score", "cluster", "report", "prepare kaldi-dir", "config get"} <= set(commands)
    lacking = [name for name, cmd in commands.items() if "--set" not in {o for p in cmd.params for o in p.opts}]
    assert lacking == []


def test_a_typo_in_set_is_named_by_any_command(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("a", "c", "s", "t", "e"):
        (tmp_path / name).write_text("")  # only click's exists checks; the config is loaded before any file is read
    for args in (["prepare", "trials", "a", "b", "--cuts", "c"], ["compute-metrics", "s", "t"],
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
