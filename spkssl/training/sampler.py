"""A seeded, shardable, resumable batch sampler over cut indices.

Each epoch draws a fresh permutation from ``(seed, epoch)``; under DDP every rank
takes the indices ``rank::world_size`` of it, so ranks see disjoint cuts and the
same number of batches.  The sampler yields lists of ``(cut_index, sample_seed)``
pairs: the dataset seeds each item's random crop and augmentation from
``sample_seed``, which makes a batch identical whichever worker loads it and
whether or not the run was resumed.

Its state is ``{"epoch", "batch", "items"}`` (batches already consumed in the epoch, and
the positions of the epoch's permutation they covered: batch x batch_size x world size);
the trainer checkpoints it, and :meth:`load_state_dict` makes the next iteration skip
what was already trained on, also on another number of workers: the remaining
positions are shared out afresh, so every cut of the epoch is seen exactly once, with
the same crop seed (the seed follows the permutation position).

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
        self.offset = 0  # permutation positions consumed before start_batch (another world size's resume)

    def __len__(self) -> int:
        """Batches per epoch (the full epoch, regardless of a resume position)."""
        return (self.num_items // self.world_size) // self.batch_size

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Select the epoch's permutation and the first batch to yield."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start batch {start_batch} outside epoch of {len(self)} batches")
        if int(epoch) != self.epoch or int(start_batch) != self.start_batch:
            self.offset = int(start_batch) * self.batch_size * self.world_size
        self.epoch = int(epoch)
        self.start_batch = int(start_batch)

    def items_at(self, batch: int) -> int:
        """Permutation positions consumed once batch ``batch`` of this epoch is reached (all ranks together)."""
        return self.offset + (int(batch) - self.start_batch) * self.batch_size * self.world_size

    def state_dict(self) -> dict[str, int]:
        """Position to resume from: the epoch, the first batch not yet yielded and the positions consumed."""
        return {"epoch": self.epoch, "batch": self.start_batch, "items": self.items_at(self.start_batch)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue at ``state['epoch']`` after its first ``state['items']`` permutation positions.

        The batch to start from is the one this sampler would reach with the rest left: on the
        world size and batch size that wrote the state, ``state['batch']``.
        """
        items = int(state.get("items", int(state["batch"]) * self.batch_size * self.world_size))
        usable = (self.num_items // self.world_size) * self.world_size
        remaining = max(0, usable - items) // (self.batch_size * self.world_size)
        self.epoch = int(state["epoch"])
        self.start_batch = len(self) - min(len(self), remaining)
        self.offset = items

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_items)
        step = self.batch_size * self.world_size
        for b in range(self.start_batch, len(self)):
            first = self.offset + (b - self.start_batch) * step  # the batch's first permutation position
            positions = [first + j * self.world_size + self.rank for j in range(self.batch_size)]
            # One seed per (epoch, position in the permutation): stable across resumes, workers and world sizes.
            yield [(int(perm[p]), self.epoch * self.num_items + p) for p in positions]
        self.start_batch, self.offset = 0, 0
