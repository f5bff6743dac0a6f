"""``spkssl report``: RESULTS.md and plots over all rounds of an experiment.

In a recipe, one report per trial list of the experiment, with the untrained
baseline and reference experiments as extra rows (:mod:`spkssl.steps.report`)::

    spkssl report --exp exp/mini --reference "supervised (true labels)=exp/mini_supervised"

Every back-end of ``score.backends`` gets its files: the first ``RESULTS.md``,
``RESULTS_val.md``, ...; a further one B ``RESULTS_B.md``, ``RESULTS_val_B.md``, ...

Repeated runs of one setting (``run.sh --seeds "0 1 2"``): mean ± std over them, per
round, into a folder of its own (:mod:`spkssl.steps.report_seeds`)::

    spkssl report --exp exp/cpu_seed0 --exp exp/cpu_seed1 --exp exp/cpu_seed2 --out-dir exp/cpu_seeds \\
        --reference "supervised (true labels)=exp/cpu_seed0_supervised" ...

One list, one back-end, any experiment folder (no config needed)::

    spkssl report --exp exp/so762 --trials-name test --backend plda \\
        --extra-row "supervised=exp/so762_sup/round0/scores/test.plda.json"
"""
from __future__ import annotations

import click

from spkssl.cli.options import OutputPath, config_options, force_option, load_cli_config, open_experiment
from spkssl.experiment import ExperimentError


@click.command("report")
@click.option("--exp", "exps", required=True, multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Experiment folder holding round<r>/ subdirectories; given several times (repeated runs "
                   "of one setting), the report is their mean ± std, written to --out-dir.")
@click.option("--out-dir", type=OutputPath(folder=True), default=None,
              help="With several --exp: the folder of the report over the runs.")
@click.option("--reference", "references", multiple=True, metavar="LABEL=EXP_DIR",
              help="Another experiment shown as a row (its round 0), e.g. the supervised reference; "
                   "repeatable (over runs, one per run under the same label); a missing one is left out.")
@click.option("--trials-name", default=None,
              help="Report this one list only: reads round<r>/scores/NAME.BACKEND.json.")
@click.option("--backend", default=None, help="With --trials-name: the back-end [default: first of score.backends].")
@click.option("--trials", "trials", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With --trials-name: the trial list for the DET curves [default: the one in each metrics JSON].")
@click.option("--extra-row", "extra_rows", multiple=True, metavar="LABEL=METRICS_JSON",
              help="With --trials-name: a reference row (repeatable); missing files are left out.")
@click.option("--out", type=OutputPath(), default=None,
              help="With --trials-name: output Markdown [default: EXP/RESULTS.md]; figures go beside it.")
@config_options
@force_option
def report_cmd(exps: tuple[str, ...], out_dir: str | None, references: tuple[str, ...], trials_name: str | None,
               backend: str | None, trials: str | None, extra_rows: tuple[str, ...], out: str | None,
               config: str | None, overrides: tuple[str, ...], force: bool) -> None:
    """Write RESULTS*.md, eer_by_round*.png and det_all_rounds*.png; print the tables."""
    from spkssl.report import ReportError, make_report
    from spkssl.scoring.trials import TrialsError
    from spkssl.steps.report import report_experiment
    from spkssl.steps.report_seeds import report_runs

    if (len(exps) > 1) != (out_dir is not None):
        raise click.UsageError("--out-dir goes with several --exp (the report over repeated runs), and only then")
    if len(exps) > 1 and trials_name is not None:
        raise click.UsageError("--trials-name reports one experiment; give one --exp")
    try:
        if trials_name is not None:
            backend = backend or load_cli_config(config, overrides)["score"]["backends"][0]
            texts = [make_report(exps[0], trials_name, backend, out=out, trials=trials, extra_rows=extra_rows)]
        elif out_dir is not None:
            texts = report_runs([open_experiment(e, overrides) for e in exps], references, out_dir, force=force)
        else:
            texts = report_experiment(open_experiment(exps[0], overrides), references, force=force)
    except (ReportError, TrialsError, ExperimentError) as exc:
        raise click.ClickException(str(exc)) from exc
    for text in texts:
        click.echo(text)


commands = [report_cmd]
