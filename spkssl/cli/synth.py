"""``spkssl synth``: generate the synthetic multi-speaker corpus.

Example::

    spkssl synth data/synth --num-train-speakers 40 --num-test-speakers 20 --seed 0 --num-jobs 4
    spkssl prepare kaldi-dir data/synth/train data/manifests --prefix train
"""
from __future__ import annotations

from typing import Optional

import click

from spkssl.synth.corpus import CorpusSpec, generate_corpus


@click.command("synth")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--num-train-speakers", type=int, default=40, show_default=True,
              help="Speakers in OUT_DIR/train.")
@click.option("--num-test-speakers", type=int, default=20, show_default=True,
              help="Other speakers in OUT_DIR/test (used by the trial list).")
@click.option("--utts-per-speaker", type=int, default=16, show_default=True)
@click.option("--min-seconds", type=float, default=2.0, show_default=True,
              help="Shortest utterance.")
@click.option("--max-seconds", type=float, default=4.0, show_default=True,
              help="Longest utterance.")
@click.option("--sampling-rate", type=int, default=16000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="Same seed, same bytes.")
@click.option("--trials-per-target", type=int, default=4, show_default=True,
              help="Nontarget trials per target trial in trials/test.trials.")
@click.option("--max-target-trials", type=int, default=None,
              help="Sample this many target pairs (default: all same-speaker pairs).")
@click.option("--num-jobs", type=click.IntRange(min=1), default=None,
              help="Processes synthesising utterances [default: number of CPU cores]; "
                   "the output does not depend on it.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Show a progress bar.")
def synth(
    out_dir: str,
    num_train_speakers: int,
    num_test_speakers: int,
    utts_per_speaker: int,
    min_seconds: float,
    max_seconds: float,
    sampling_rate: int,
    seed: int,
    trials_per_target: int,
    max_target_trials: Optional[int],
    num_jobs: Optional[int],
    progress: bool,
) -> None:
    """Write a synthetic corpus to OUT_DIR: wav/, train/, test/ (Kaldi) and trials/test.trials."""
    spec = CorpusSpec(
        num_train_speakers=num_train_speakers,
        num_test_speakers=num_test_speakers,
        utts_per_speaker=utts_per_speaker,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        sampling_rate=sampling_rate,
        seed=seed,
        trials_per_target=trials_per_target,
        max_target_trials=max_target_trials,
    )
    try:
        summary = generate_corpus(out_dir, spec, progress=progress, num_jobs=num_jobs)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{summary['num_utterances']} utterances ({summary['hours']} h), "
        f"{summary['num_trials']} trials ({summary['num_target_trials']} target) in {out_dir}"
    )


commands = [synth]
