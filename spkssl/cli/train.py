"""``spkssl train``: one training round (contrastive round 0 or a pseudo-label classification round).

Example::

    spkssl train --config exp/tag/config.yaml --cuts data/manifests/train_cuts.jsonl.gz \\
        --aug-dir data/manifests --out-dir exp/tag/round0 --mode contrastive

Multi-GPU: ``torchrun --nproc_per_node 4 -m spkssl.training.ddp_main <the same options>``.
"""
from __future__ import annotations

import sys

import click

from spkssl.config import ConfigError, load_resolved, resolve_config
from spkssl.utils.logging import get_logger
from spkssl.utils.threads import share_cpu

log = get_logger(__name__)


@click.command("train")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Resolved experiment config (exp/<tag>/config.yaml).")
@click.option("--cuts", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training CutSet (pseudo-label cuts in classification rounds).")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False), help="Round directory.")
@click.option("--mode", required=True, type=click.Choice(["contrastive", "classification"]))
@click.option("--aug-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Directory with aug_{noise,music,babble,rir}_recordings.jsonl.gz (none: no augmentation).")
@click.option("--init-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="final.pt of a previous round: initialise the network (not the classifier) from it.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--max-steps", type=int, default=None,
              help="Stop with a checkpoint after this global step (overrides train.max_steps).")
@click.option("--set", "overrides", multiple=True, help="Extra override, e.g. --set train.epochs=2.")
@click.option("--force", is_flag=True, help="Retrain even if final.pt exists (deletes old checkpoints).")
def train_command(config_path: str, cuts: str, out_dir: str, mode: str, aug_dir: str | None,
                  init_from: str | None, device: str, max_steps: int | None, overrides: tuple[str, ...],
                  force: bool) -> None:
    """Train (or resume) one round into OUT_DIR: checkpoints/, tensorboard/, final.pt, train_summary.json.

    Resumes from the newest checkpoint automatically; exits non-zero on a NaN/inf loss.
    """
    import torch

    from spkssl.training.ddp import cleanup_distributed, init_distributed
    from spkssl.training.trainer import TrainingDiverged, TrainOptions, resolve_device, train

    try:
        cfg = resolve_config(config_path, overrides) if overrides else load_resolved(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    dist = init_distributed(resolve_device(device))
    try:
        if device == "auto" and torch.cuda.is_available():
            device = f"cuda:{dist.local_rank}"
        opts = TrainOptions(mode=mode, cuts=cuts, out_dir=out_dir, aug_dir=aug_dir, init_from=init_from,
                            device=device, force=force, max_steps=max_steps, dist=dist)
        share_cpu(reserved=int(cfg["train"]["num_workers"]))
        result = train(cfg, opts)
    except TrainingDiverged as exc:
        log.error("training diverged: %s", exc)
        sys.exit(3)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        cleanup_distributed()
    if result["status"] == "done" and dist.is_main:
        click.echo(f"trained {result['epochs']} epochs ({result['steps']} steps), final loss "
                   f"{result['final_loss']:.4f}: {out_dir}/final.pt")
    elif result["status"] == "stopped" and dist.is_main:
        click.echo(f"stopped at step {result['step']} (max steps); rerun to continue")


commands = [train_command]
