"""``spkssl synth``: generate the synthetic multi-speaker corpus.

Example::

    spkssl synth data/synth --num-train-speakers 40 --num-test-speakers 20 --seed 0 --nj 4
    spkssl prepare kaldi-dir data/synth/train data/manifests --prefix train
"""
from __future__ import annotations

from typing import Optional

import click

from spkssl.cli.options import OutputPath, bool_option, config_options, load_cli_config
from spkssl.synth.corpus import CorpusSpec, generate_corpus


_SPEC_OPTIONS = (
    ("--num-train-speakers", int, "Speakers in OUT_DIR/train."),
    ("--num-test-speakers", int, "Other speakers in OUT_DIR/test (used by the trial list)."),
    ("--utts-per-speaker", int, "Utterances per speaker."),
    ("--min-seconds", float, "Shortest utterance."),
    ("--max-seconds", float, "Longest utterance."),
    ("--sampling-rate", int, "Hz."),
    ("--seed", int, "Same seed, same bytes."),
    ("--trials-per-target", int, "Nontarget trials per target trial in trials/test.trials."),
    ("--max-target-trials", int, "Sample this many target pairs (default: all same-speaker pairs)."),
)


def _spec_options(f):
    for flag, kind, text in reversed(_SPEC_OPTIONS):
        key = flag[2:].replace("-", "_")
        f = click.option(flag, key, type=kind, default=None, help=f"{text} [default: synth.{key}]")(f)
    return f


@click.command("synth")
@click.argument("out_dir", type=OutputPath(folder=True))
@_spec_options
@click.option("--nj", type=click.IntRange(min=1), default=None,
              help="Processes synthesising utterances [default: number of CPU cores]; "
                   "the output does not depend on it.")
@bool_option("--progress", "Show a progress bar (on a terminal).", default=True)
@config_options
def synth(out_dir: str, nj: Optional[int], progress: bool, config: Optional[str],
          overrides: tuple[str, ...], **spec_options: Optional[float]) -> None:
    """Write a synthetic corpus to OUT_DIR: wav/, train/, test/ (Kaldi) and trials/test.trials.

    What to generate is the ``synth`` config section (``--config``/``--set``); an
    option given here wins over it.
    """
    given = {k: v for k, v in spec_options.items() if v is not None}
    try:
        spec = CorpusSpec.from_config({**load_cli_config(config, overrides)["synth"], **given})
        summary = generate_corpus(out_dir, spec, progress=progress, num_jobs=nj)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{summary['num_utterances']} utterances ({summary['hours']} h), "
        f"{summary['num_trials']} trials ({summary['num_target_trials']} target) in {out_dir}"
    )


commands = [synth]
