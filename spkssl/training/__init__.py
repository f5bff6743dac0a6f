"""Training: datasets and resumable samplers, LR schedules, full-state checkpoints, the trainer, DDP.

A round is described by :class:`TrainOptions` (the rest comes from the config):
    >>> from spkssl.training import TrainOptions, train
    >>> opts = TrainOptions("contrastive", "cuts.jsonl.gz", "exp/tag/round0", aug_dir="data/manifests")
    >>> opts.objective, opts.device, opts.max_steps, opts.force, opts.dist.world_size
    ('contrastive', 'auto', None, False, 1)

and :func:`train` runs it (minutes to days, so not run here; see :mod:`spkssl.training.trainer`).  Usage::

    summary = train(cfg, opts)  # cfg: spkssl.config.load_config(...); summary["status"] == "done"
"""
from spkssl.training.trainer import TrainingDiverged, TrainOptions, Trainer, train

__all__ = ["TrainOptions", "Trainer", "TrainingDiverged", "train"]
