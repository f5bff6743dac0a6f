"""``spkssl prepare cross-channel``: a trial list's utterances, each through its own simulated channel.

A test condition for corpora recorded in one session per speaker
(:mod:`spkssl.data.channel`)::

    spkssl prepare cross-channel data/manifests/test_cuts.jsonl.gz data/trials/test.trials \\
        data/cross_channel/test data/manifests/test_xch_cuts.jsonl.gz data/trials/test_xch.trials --nj 2
"""
from __future__ import annotations

from pathlib import Path

import click

from spkssl.cli.options import OutputPath, config_options, force_option, load_cli_config
from spkssl.data.audio import AudioError
from spkssl.data.trials import TrialsError


@click.command("cross-channel", short_help="Copy a trial list's audio, each utterance through its own channel.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.argument("trials_path", metavar="TRIALS", type=click.Path(exists=True, dir_okay=False))
@click.argument("audio_dir", type=OutputPath(folder=True))
@click.argument("cuts_out", metavar="CUTS_OUT", type=OutputPath())
@click.argument("trials_out", metavar="TRIALS_OUT", type=OutputPath())
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel processes.")
@config_options
@force_option
def cross_channel_cmd(cuts_path: str, trials_path: str, audio_dir: str, cuts_out: str, trials_out: str, nj: int,
                      config: str | None, overrides: tuple[str, ...], force: bool) -> None:
    """Write AUDIO_DIR/<id><suffix>.flac for every utterance of TRIALS, their cut set CUTS_OUT and TRIALS_OUT.

    Each copy goes through a room, an equaliser tilt, noise at a drawn SNR and a
    low-bit-rate codec, drawn from data.cross_channel.seed and its id alone.
    Skipped when CUTS_OUT and TRIALS_OUT exist (--force true redoes them).
    """
    from spkssl.data.channel import make_cross_channel

    if Path(cuts_out).is_file() and Path(trials_out).is_file() and not force:
        click.echo(f"cross-channel copies already in {cuts_out} and {trials_out}; skipping (--force true redoes them)")
        return
    cfg = load_cli_config(config, overrides)["data"]["cross_channel"]
    try:
        done = make_cross_channel(cuts_path, trials_path, audio_dir, cuts_out, trials_out, cfg, nj)
    except (TrialsError, AudioError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {done['utterances']} cross-channel copies to {cuts_out} and {done['trials']} trials to {trials_out}")
