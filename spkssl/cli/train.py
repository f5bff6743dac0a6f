"""``spkssl train``: train (or resume) one round.

In a recipe, the experiment decides everything that depends on the round
(objective, cut set, epochs, warm start; see :mod:`spkssl.experiment`)::

    spkssl train --exp exp/mini --round 0              # round 0: rounds.round0_objective
    spkssl train --exp exp/mini --round 2 --ngpu 4     # round 2 on its pseudo labels, DDP on 4 GPUs

Stand-alone, on any cut set::

    spkssl train --config conf.yaml --cuts cuts.jsonl.gz --out-dir out --objective contrastive

``--ngpu N`` (N > 1) restarts the command under
``torchrun --standalone --nnodes=1 --nproc_per_node=N --no-python spkssl train ...``;
for several nodes, start ``torchrun ... --no-python spkssl train --exp ... --round ...`` yourself.
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
from typing import Sequence

import click

from spkssl.cli.options import (
    DeviceName, OutputPath, check_exp_usage, config_options, exp_option, force_option, load_cli_config,
    open_experiment,
)
from spkssl.utils.logging import get_logger
from spkssl.utils.threads import share_cpu

log = get_logger(__name__)


def torchrun_argv(argv: Sequence[str], ngpu: int) -> list[str]:
    """The ``torchrun`` command that reruns ``spkssl <argv>`` on ``ngpu`` local processes.

    >>> torchrun_argv(["train", "--exp", "e", "--round", "0", "--ngpu", "2"], 2)[-7:]
    ['--no-python', 'spkssl', 'train', '--exp', 'e', '--round', '0']
    """
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--ngpu":
            skip = True
        elif not arg.startswith("--ngpu="):
            kept.append(arg)
    return ["torchrun", "--standalone", "--nnodes=1", f"--nproc_per_node={ngpu}", "--no-python", "spkssl", *kept]


@click.command("train")
@exp_option
@click.option("--round", "round_", type=click.IntRange(min=0), default=None,
              help="With --exp: the round to train (0: round 0; r >= 1: on round r's pseudo labels).")
@click.option("--cuts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: training cut set.")
@click.option("--out-dir", type=OutputPath(folder=True), default=None, help="Stand-alone: round directory.")
@click.option("--objective", default=None,
              help="Stand-alone: training objective (contrastive, dino, classification or dino_classification).")
@click.option("--aug-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Stand-alone: folder of aug_{noise,music,babble,rir}_recordings.jsonl.gz (none: no augmentation).")
@click.option("--init-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: final.pt of a previous round to start the network (not the classifier) from.")
@click.option("--shar", type=click.Path(exists=True, file_okay=False), default=None,
              help="Stand-alone: Shar shards holding the audio of --cuts (spkssl prepare shar); read in sequence.")
@click.option("--ngpu", type=click.IntRange(min=0), default=None,
              help="0: CPU; 1: one GPU; N > 1: DDP over N local GPUs with torchrun [default: --device].")
@click.option("--device", type=DeviceName(), default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (without --ngpu).")
@click.option("--max-steps", type=int, default=None,
              help="Stop with a checkpoint after this global step (overrides train.max_steps).")
@config_options
@force_option
def train_command(exp: str | None, round_: int | None, cuts: str | None, out_dir: str | None,
                  objective: str | None, aug_dir: str | None, init_from: str | None, shar: str | None,
                  ngpu: int | None, device: str,
                  max_steps: int | None, config: str | None, overrides: tuple[str, ...], force: bool) -> None:
    """Train (or resume) one round: checkpoints/, tensorboard/, final.pt, train_summary.json.

    Resumes from the newest checkpoint automatically; exits with status 3 on a NaN/inf loss.
    """
    from spkssl.training.ddp import launched_by_torchrun

    if ngpu is not None and ngpu > 1 and not launched_by_torchrun():
        argv = torchrun_argv(sys.argv[1:], ngpu)
        if shutil.which("torchrun") is None:
            raise click.ClickException("--ngpu > 1 needs torchrun on PATH (it comes with torch)")
        log.info("starting DDP: %s", " ".join(argv))
        os.execvp(argv[0], argv)
    if ngpu is not None:
        device = "cpu" if ngpu == 0 else "auto"
    if exp is not None:
        check_exp_usage(exp, config, ("--round", round_), cuts=cuts, out_dir=out_dir, objective=objective,
                        aug_dir=aug_dir, init_from=init_from, shar=shar)
        cfg, opts = _from_experiment(exp, round_, overrides)
    else:
        if cuts is None or out_dir is None or objective is None:
            raise click.UsageError("give --exp and --round, or --cuts, --out-dir and --objective")
        cfg = load_cli_config(config, overrides)
        opts = dict(objective=objective, cuts=cuts, out_dir=out_dir, aug_dir=aug_dir, init_from=init_from, shar=shar)
    _run(cfg, opts, device, force, max_steps)


def _from_experiment(exp: str, r: int, overrides: Sequence[str]) -> tuple[dict, dict]:
    from spkssl.experiment import ExperimentError
    from spkssl.steps.train import round_training

    experiment = open_experiment(exp, overrides)
    try:
        return round_training(experiment, r)
    except ExperimentError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(cfg: dict, opts: dict, device: str, force: bool, max_steps: int | None) -> None:
    import torch

    from spkssl.training.ddp import cleanup_distributed, init_distributed
    from spkssl.training.trainer import TrainingDiverged, TrainOptions, train
    from spkssl.utils.device import resolve_device
    from spkssl.utils.lock import LockHeld

    dist = init_distributed(resolve_device(device))
    if not dist.is_main:  # one log for the job: the other ranks report warnings and errors only
        logging.getLogger("spkssl").setLevel(logging.WARNING)
    try:
        if device == "auto" and torch.cuda.is_available():
            device = f"cuda:{dist.local_rank}"
        workers = int(cfg["train"]["num_workers"])
        threads = share_cpu(reserved=workers, threads=int(cfg["train"]["threads"]))
        log.info("torch uses %d CPU thread(s) beside %d DataLoader worker(s)", threads, workers)
        result = train(cfg, TrainOptions(**opts, device=device, force=force, max_steps=max_steps, dist=dist))
    except TrainingDiverged as exc:
        log.error("training diverged: %s", exc)
        sys.exit(3)
    except (ValueError, FileNotFoundError, LockHeld) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        cleanup_distributed()
    if result["status"] == "done" and dist.is_main:
        click.echo(f"trained {result['epochs']} epochs ({result['steps']} steps), final loss "
                   f"{result['final_loss']:.4f}: {opts['out_dir']}/final.pt")
    elif result["status"] == "stopped" and dist.is_main:
        click.echo(f"stopped at step {result['step']} (max steps); rerun to continue")


commands = [train_command]
