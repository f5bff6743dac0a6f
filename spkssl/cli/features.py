"""``spkssl compute-fbank``: knf-fbank features for a cut set, stored losslessly through Lhotse.

Example::

    spkssl compute-fbank data/manifests/train_cuts.jsonl.gz \\
        data/manifests/train_cuts_fbank.jsonl.gz --storage-dir data/fbank/train --nj 4 \\
        --config exp/tag/config.yaml
"""
from __future__ import annotations

import click

from spkssl.cli.options import OutputPath, config_options, force_option, load_cli_config
from spkssl.data.audio import AudioError
from spkssl.features.fbank import fbank_cfg


@click.command("compute-fbank")
@click.argument("cuts", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_cuts", type=OutputPath())
@click.option("--storage-dir", required=True, type=OutputPath(folder=True),
              help="Folder for the feature .npy files.")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1),
              help="Parallel processes.")
@config_options
@force_option
def compute_fbank_cmd(cuts: str, out_cuts: str, storage_dir: str, nj: int, config: str | None,
                      overrides: tuple[str, ...], force: bool) -> None:
    """Compute fbank for CUTS, write OUT_CUTS (skipped when OUT_CUTS exists, unless forced)."""
    from spkssl.features.compute import compute_and_store

    cfg = load_cli_config(config, overrides)
    try:
        compute_and_store(cuts, out_cuts, storage_dir, fbank_cfg(cfg["features"]), nj, force=force,
                          backend=cfg["features"]["backend"])
    except (AudioError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


commands = [compute_fbank_cmd]
