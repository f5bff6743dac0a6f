"""``spkssl config``: resolve a recipe config into the experiment's ``config.yaml``."""
from __future__ import annotations

from pathlib import Path

import click
import yaml

from spkssl.cli.options import OutputPath, bool_option
from spkssl.config import (REPETITION_SEED_KEYS, ConfigError, config_keys, diff_configs, load_config, load_defaults,
                           save_config, with_repetition_seed)


@click.group("config")
def config_group() -> None:
    """Resolve and show experiment configurations."""


@config_group.command("resolve")
@click.argument("conf", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=OutputPath())
@click.option("--set", "overrides", multiple=True, help="Override, e.g. --set train.epochs=5")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help=f"Repetition seed S: add S to {' and '.join(REPETITION_SEED_KEYS)} (run.sh --seeds; 0 = as configured).")
@bool_option("--overwrite", "Replace an existing OUT that differs (by default that is an error).")
def resolve(conf: str, out: str, overrides: tuple[str, ...], seed: int | None, overwrite: bool) -> None:
    """Merge package defaults, CONF and --set overrides (then --seed); write OUT (YAML).

    An experiment keeps one resolved config: if OUT exists with different
    values, the command fails and names the keys that differ, so a rerun with
    changed options never mixes two configurations in one experiment.
    """
    try:
        cfg = load_config(conf, overrides)
        if seed is not None:
            cfg = with_repetition_seed(cfg, seed)
        if Path(out).exists() and not overwrite:
            old = load_config(out)
            diff = diff_configs(old, cfg)
            if diff:
                raise ConfigError(
                    f"{out} exists with different values for {', '.join(diff)}; use a new experiment tag "
                    "(run.sh --tag), or remove that experiment folder to start it again"
                )
            click.echo(f"resolved config unchanged: {out}")
            return
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    save_config(cfg, out)
    click.echo(f"resolved config written to {out}")


@config_group.command("show")
@click.argument("conf", type=click.Path(exists=True, dir_okay=False))
@click.option("--set", "overrides", multiple=True)
def show(conf: str, overrides: tuple[str, ...]) -> None:
    """Print the resolved configuration."""
    try:
        click.echo(yaml.safe_dump(load_config(conf, overrides), sort_keys=False))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@config_group.command("get")
@click.argument("conf", type=click.Path(exists=True, dir_okay=False))
@click.argument("key")
@click.option("--set", "overrides", multiple=True, help="Override, e.g. --set rounds.num_rounds=1")
def get(conf: str, key: str, overrides: tuple[str, ...]) -> None:
    """Print one value of a resolved config (dotted KEY), e.g. a recipe's loop bound.

    Booleans print as true/false, lists space-separated, null as an empty line.
    """
    try:
        node = load_config(conf, overrides)
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"{conf}: no key '{key}'")
            node = node[part]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if isinstance(node, bool):
        click.echo("true" if node else "false")
    elif isinstance(node, list):
        click.echo(" ".join(str(v) for v in node))
    elif node is None:
        click.echo("")
    else:
        click.echo(node)


@config_group.command("keys")
@click.argument("prefix", required=False, default="")
def keys(prefix: str) -> None:
    """List every config key (or those under PREFIX, e.g. score): default, spec and meaning.

    Each key is declared once, on its line of spkssl/configs/<section>.yaml.
    """
    found = [d for d in config_keys() if d.key == prefix or d.key.startswith(prefix.rstrip(".") + ".") or not prefix]
    if not found:
        raise click.ClickException(f"no config key '{prefix}' (sections: {', '.join(sorted(load_defaults()))})")
    for d in found:
        click.echo(f"{d.key} = {d.default}  [{d.spec}]  {d.doc}".rstrip())


commands = [config_group]
