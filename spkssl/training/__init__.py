"""Training: datasets and resumable samplers, LR schedules, full-state checkpoints, the trainer, DDP.

Example:
    >>> from spkssl.training import TrainOptions, train
    >>> # train(cfg, TrainOptions("contrastive", "cuts.jsonl.gz", "exp/tag/round0", aug_dir="data/manifests"))
"""
from spkssl.training.trainer import TrainingDiverged, TrainOptions, Trainer, train

__all__ = ["TrainOptions", "Trainer", "TrainingDiverged", "train"]
