"""``spkssl train``: train (or resume) one round.

In a recipe, the experiment decides everything that depends on the round
(objective, cut set, epochs, warm start; see :mod:`spkssl.experiment`)::

    spkssl train --exp exp/mini --round 0              # round 0: rounds.round0_objective
    spkssl train --exp exp/mini --round 2 --ngpu 4     # round 2 on its pseudo labels, DDP on 4 GPUs

Stand-alone, on any cut set::

    spkssl train --config conf.yaml --cuts cuts.jsonl.gz --out-dir out --objective contrastive

``--ngpu G`` (G > 1) restarts the command under ``torchrun --standalone --nproc_per_node=G``;
``--nodes N`` starts one torchrun agent per node through a c10d rendezvous: with ``srun`` inside
a Slurm allocation, else N agents on this machine (:mod:`spkssl.launch.torchrun`)::

    $cuda_cmd --nodes 2 log/train.log spkssl train --exp exp/mini --round 0 --nodes 2 --ngpu 4
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Sequence

import click
import torch

from spkssl.cli.options import (
    DeviceName, OutputPath, check_exp_usage, config_options, exp_option, force_option, load_cli_config, open_experiment,
)
from spkssl.experiment import ExperimentError
from spkssl.launch.agent import MARKER_ENV
from spkssl.launch.torchrun import exec_standalone, launch_agents
from spkssl.steps.train import round_training
from spkssl.training.ddp import cleanup_distributed, init_distributed, launched_by_torchrun
from spkssl.training.preempt import PREEMPTED_EXIT
from spkssl.training.trainer import TrainingDiverged, TrainOptions, train
from spkssl.utils.device import resolve_device
from spkssl.utils.lock import LockHeld
from spkssl.utils.logging import get_logger
from spkssl.utils.threads import share_cpu

log = get_logger(__name__)


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
              help="Workers per node: 0: one CPU worker; 1: one GPU; G > 1: DDP over G GPUs with torchrun "
                   "[default: --device].")
@click.option("--nodes", type=click.IntRange(min=1), default=1, show_default=True,
              help="Nodes, one torchrun agent each (c10d rendezvous): through srun inside a Slurm allocation "
                   "($cuda_cmd --nodes N), else N agents on this machine.")
@click.option("--max-restarts", type=click.IntRange(min=0), default=0, show_default=True,
              help="With several workers: times torchrun restarts them after a failure (each resumes from the "
                   "newest checkpoint).")
@click.option("--device", type=DeviceName(), default="auto", show_default=True, help="auto, cpu, cuda or cuda:N (without --ngpu).")
@click.option("--max-steps", type=int, default=None,
              help="Stop with a checkpoint after this global step (overrides train.max_steps).")
@config_options
@force_option
def train_command(exp: str | None, round_: int | None, cuts: str | None, out_dir: str | None,
                  objective: str | None, aug_dir: str | None, init_from: str | None, shar: str | None,
                  ngpu: int | None, nodes: int, max_restarts: int, device: str,
                  max_steps: int | None, config: str | None, overrides: tuple[str, ...], force: bool) -> None:
    """Train (or resume) one round: checkpoints/, tensorboard/, final.pt, train_summary.json.

    Resumes from the newest checkpoint automatically; exits with status 3 on a NaN/inf loss.
    """
    workers = max(1, ngpu or 0)
    if (workers > 1 or nodes > 1) and not launched_by_torchrun():
        argv = sys.argv[1:] + (["--device", "cpu"] if ngpu == 0 else [])
        try:
            if nodes == 1:
                exec_standalone(argv, workers, max_restarts)
            sys.exit(launch_agents(argv, nodes, workers, max_restarts))
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
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
    experiment = open_experiment(exp, overrides)
    try:
        return round_training(experiment, r)
    except ExperimentError as exc:
        raise click.ClickException(str(exc)) from exc


def _run(cfg: dict, opts: dict, device: str, force: bool, max_steps: int | None) -> None:
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
    elif result["status"] == "preempted":
        if dist.is_main:
            click.echo(f"stopped at step {result['step']} by SIGUSR1 with a checkpoint; rerun to continue")
        marker = os.environ.get(MARKER_ENV)
        if marker and launched_by_torchrun():  # a worker of spkssl-torchrun: it reports the stop as exit 4
            if dist.is_main:
                Path(marker).touch()
            return  # exit 0, so that torchrun neither restarts the workers nor reports a failure
        sys.exit(PREEMPTED_EXIT)


commands = [train_command]
