"""``spkssl report``: RESULTS.md and plots over all rounds of an experiment.

Example::

    spkssl report --exp-dir exp/so762 --trials-name test --trials data/trials/test.trials \\
        --backend cosine --extra-row "supervised=exp/so762_sup/round0/scores/test.cosine.json"
"""
from __future__ import annotations

import click


@click.command("report")
@click.option("--exp-dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Experiment dir holding round<r>/ subdirectories.")
@click.option("--trials-name", default="test", show_default=True,
              help="Trial list name: reads round<r>/scores/NAME.BACKEND.json.")
@click.option("--backend", default="cosine", show_default=True, help="Scoring back-end to report.")
@click.option("--trials", "trials", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Trial list for the DET curves (default: the path recorded in each metrics JSON).")
@click.option("--extra-row", "extra_rows", multiple=True,
              help="LABEL=path/to/metrics.json reference row (repeatable); missing files are skipped.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Output Markdown (default EXP_DIR/RESULTS.md); figures go beside it.")
def report_cmd(exp_dir: str, trials_name: str, backend: str, trials: str | None,
               extra_rows: tuple[str, ...], out: str | None) -> None:
    """Write RESULTS.md, eer_by_round.png and det_all_rounds.png; print the table."""
    from spkssl.report import ReportError, make_report
    from spkssl.scoring.trials import TrialsError

    try:
        text = make_report(exp_dir, trials_name, backend, out=out, trials=trials, extra_rows=extra_rows)
    except (ReportError, TrialsError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(text)


commands = [report_cmd]
