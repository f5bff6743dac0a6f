"""``spkssl config``: resolve a recipe config into the experiment's ``config.yaml``."""
from __future__ import annotations

import click
import yaml

from spkssl.config import ConfigError, resolve_config, save_config


@click.group("config")
def config_group() -> None:
    """Resolve and show experiment configurations."""


@config_group.command("resolve")
@click.argument("conf", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, help="Override, e.g. --set train.epochs=5")
def resolve(conf: str, out: str, overrides: tuple[str, ...]) -> None:
    """Merge package defaults, CONF and --set overrides; write OUT (YAML)."""
    try:
        cfg = resolve_config(conf, overrides)
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
        click.echo(yaml.safe_dump(resolve_config(conf, overrides), sort_keys=False))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


commands = [config_group]
