"""``spkssl extract`` / ``spkssl extract-part``: embed cut sets into Kaldi ark/scp + npz.

In a recipe, one system of the experiment embeds its training and evaluation cuts
(``inputs.embed_cuts`` → ``<system>/embeddings/train``, ``inputs.eval_cuts`` →
``<system>/embeddings/eval``)::

    spkssl extract --exp exp/mini --system round1 --nj 4 --cmd "$extract_cmd"
    spkssl extract --exp exp/mini --system baseline      # untrained log-mel statistics

Stand-alone, any cut set::

    spkssl extract --model exp/x/round0/final.pt --cuts data/manifests/test_cuts.jsonl.gz \\
        --out-dir exp/x/round0/embeddings/test --nj 4 --cmd "$extract_cmd"

The work is done by :mod:`spkssl.embed.jobs`; ``extract-part`` is the job a
launcher runs for each of the ``--nj`` parts.
"""
from __future__ import annotations

from pathlib import Path

import click

from spkssl.cli.options import (
    DeviceName, OutputPath, check_exp_usage, config_options, exp_option, force_option, load_cli_config, open_experiment,
)
from spkssl.config import ConfigError
from spkssl.embed.extract import ExtractionError
from spkssl.embed.io import EmbeddingError
from spkssl.embed.jobs import embed_cutset, embed_part
from spkssl.experiment import ExperimentError
from spkssl.launch import LaunchError
from spkssl.steps.extract import extract_system
from spkssl.utils.threads import share_cpu

METHODS = ("model", "logmel-stats")


#: the errors a user's input causes: one line and exit 1, no traceback
_ERRORS = (ExtractionError, EmbeddingError, ConfigError, ExperimentError, LaunchError, ValueError, RuntimeError)


def _model(method: str, model: str | None) -> str | None:
    if method == "model" and model is None:
        raise click.UsageError("--model is required unless --method logmel-stats")
    return model if method == "model" else None


@click.command("extract")
@exp_option
@click.option("--system", default=None, help="With --exp: round<N> (its final.pt) or baseline (log-mel statistics).")
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: a final.pt written by training (not needed for --method logmel-stats).")
@click.option("--method", type=click.Choice(METHODS), default="model", show_default=True,
              help="Stand-alone: model (the network) or logmel-stats (untrained log-mel mean+std).")
@click.option("--cuts", "cuts_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: Lhotse cut set (jsonl.gz); stored features are used when present.")
@click.option("--out-dir", type=OutputPath(folder=True), default=None, help="Stand-alone: output folder.")
@click.option("--device", type=DeviceName(), default=None, help="auto, cpu, cuda, cuda:N [default: extract.device].")
@click.option("--nj", type=click.IntRange(min=1), default=1, show_default=True, help="Number of parts.")
@click.option("--cmd", default=None, help='Job launcher, e.g. "$extract_cmd" from cmd.sh (Kaldi JOB=1:N convention).')
@config_options
@force_option
def extract_cmd(exp, system, model, method, cuts_path, out_dir, device, nj, cmd, config, overrides, force) -> None:
    """Embed every cut into xvector.{ark,scp} and embeddings.npz (a finished folder is skipped unless forced)."""
    try:
        if exp is not None:
            check_exp_usage(exp, config, ("--system (round<N> or baseline)", system),
                            model=model, cuts_path=cuts_path, out_dir=out_dir)
            experiment = open_experiment(exp, overrides)
            extract_system(experiment, experiment.system(system), nj=nj, cmd=cmd, device=device, force=force)
            return
        if cuts_path is None or out_dir is None:
            raise click.UsageError("give --exp and --system, or --cuts and --out-dir")
        cfg = load_cli_config(config, overrides)
        embed_cutset(_model(method, model), cuts_path, Path(out_dir), cfg, nj=nj, cmd=cmd, device=device,
                     force=force, config_path=config, overrides=overrides)
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("extract-part", hidden=True)  # internal: one launcher job of extract --nj
@click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--method", type=click.Choice(METHODS), default="model", show_default=True)
@click.option("--cuts", "cuts_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out-dir", required=True, type=OutputPath(folder=True))
@click.option("--device", type=DeviceName(), default=None, help="auto, cpu, cuda, cuda:N [default: extract.device].")
@config_options
@click.argument("job", type=int)
@click.argument("num_jobs", type=int)
def extract_part_cmd(model, method, cuts_path, out_dir, device, config, overrides, job, num_jobs) -> None:
    """Embed part JOB of NUM_JOBS contiguous parts of CUTS into OUT_DIR (one launcher job of extract --nj)."""
    share_cpu(parallel_jobs=num_jobs)
    try:
        embed_part(_model(method, model), cuts_path, Path(out_dir), load_cli_config(config, overrides), device,
                   job, num_jobs)
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


commands = [extract_cmd, extract_part_cmd]
