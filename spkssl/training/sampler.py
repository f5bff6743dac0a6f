"""A seeded, shardable, resumable batch sampler over cut indices.

Each epoch draws a fresh permutation from ``(seed, epoch)``; under DDP every rank
takes the indices ``rank::world_size`` of it, so ranks see disjoint cuts and the
same number of batches.  The sampler yields lists of ``(cut_index, sample_seed)``
pairs: the dataset seeds each item's random crop and augmentation from
``sample_seed``, which makes a batch identical whichever worker loads it and
whether or not the run was resumed.

Its state is ``{"epoch", "batch"}`` (batches already consumed in the epoch); the
trainer checkpoints it, and :meth:`load_state_dict` makes the next iteration skip
the batches already trained on.

Example:
    >>> s = ResumableBatchSampler(10, batch_size=4, seed=0)
    >>> [len(b) for b in s]
    [4, 4]
    >>> s.load_state_dict({"epoch": 0, "batch": 1}); len(list(s))
    1
"""
from __future__ import annotations

from typing import Iterator

import numpy as np


class ResumableBatchSampler:
    """Batches of ``batch_size`` shuffled indices in ``range(num_items)`` (last partial batch dropped).

    Args:
        num_items: dataset size.
        batch_size: items per batch (per rank).
        seed: base seed; the permutation of epoch ``e`` depends only on ``(seed, e)``.
        rank, world_size: DDP shard of this process.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in [0, {world_size})")
        per_rank = num_items // world_size
        if per_rank < batch_size:
            raise ValueError(
                f"{num_items} cuts over {world_size} process(es) cannot fill one batch of {batch_size}; "
                "lower train.batch_size or use more data"
            )
        self.num_items = int(num_items)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.epoch = 0
        self.start_batch = 0

    def __len__(self) -> int:
        """Batches per epoch (the full epoch, regardless of a resume position)."""
        return (self.num_items // self.world_size) // self.batch_size

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch's permutation and the first batch to yield."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start batch {start_batch} outside epoch of {len(self)} batches")
        self.epoch = int(epoch)
        self.start_batch = int(start_batch)

    def state_dict(self) -> dict[str, int]:
        """Position to resume from: the epoch and the first batch not yet yielded."""
        return {"epoch": self.epoch, "batch": self.start_batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue at ``state['epoch']``, skipping its first ``state['batch']`` batches."""
        self.set_epoch(int(state["epoch"]), int(state["batch"]))

    def _indices(self) -> np.ndarray:
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_items)
        usable = (self.num_items // self.world_size) * self.world_size
        return perm[:usable][self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        idx = self._indices()
        for b in range(self.start_batch, len(self)):
            chunk = idx[b * self.batch_size : (b + 1) * self.batch_size]
            # One seed per (epoch, position in the permutation): stable across resumes and workers.
            base = self.epoch * self.num_items + b * self.batch_size * self.world_size
            yield [(int(i), base + j * self.world_size + self.rank) for j, i in enumerate(chunk)]
        self.start_batch = 0
