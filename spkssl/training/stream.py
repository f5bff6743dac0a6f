"""Training items read front to back from Shar shards: shuffled shard order, window shuffle, exact resume.

Each epoch, the shards are permuted by ``(seed, epoch)`` and dealt out round-robin to
the ``world_size x num_workers`` readers (DDP ranks times DataLoader workers), so
within an epoch every kept cut is read by exactly one reader, once.  A reader goes
through its shards in order, shuffles consecutive windows of ``window`` cuts (a
shuffle buffer whose state is a function of its position), and yields the items
of :class:`~spkssl.training.data.SegmentMaker`; the DataLoader batches each
reader's items.  Every rank stops an epoch after the same number of batches,
:meth:`ShardStream.__len__`, the smallest any rank can fill in any epoch.

The position is the sampler's: ``{"epoch", "batch"}``.  Because the DataLoader
takes batches from its workers in turn, ``batch`` tells how many batches each
worker had delivered, and a resumed worker skips that many items without decoding
their audio (tar members are passed over by seeking), then continues with the same
items, crops and augmentation the interrupted run would have used.

No process holds the cut list: a reader holds one window of cuts; the index holds
per-shard counts; classification labels, when needed, are two sorted arrays.

Example (six 1 s noise cuts in three shards of two; batches of two items of two 0.5 s crops):
    >>> import pathlib, tempfile, soundfile as sf
    >>> from lhotse import CutSet, Recording
    >>> from spkssl.data.shar import export_shar
    >>> from spkssl.training.data import SegmentMaker, collate_segments
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(6):
    ...     sf.write(d / f"u{i}.wav", 0.1 * rng.standard_normal(16000), 16000)
    >>> CutSet.from_cuts(Recording.from_file(d / f"u{i}.wav").to_cut() for i in range(6)).to_file(d / "cuts.jsonl.gz")
    >>> _ = export_shar(d / "cuts.jsonl.gz", d / "shar", shard_size=2)
    >>> maker = SegmentMaker({"features": {"sampling_rate": 16000}, "train": {"segment_seconds": 0.5}}, None, 2)
    >>> stream = ShardStream(ShardIndex.load(d / "shar"), maker, batch_size=2, seed=1234)
    >>> len(stream), [stream.assignment(epoch)[0].tolist() for epoch in range(4)]  # batches; shard order
    (3, [[0, 1, 2], [0, 1, 2], [0, 2, 1], [1, 2, 0]])
    >>> stream.set_epoch(0)
    >>> loader = stream.loader(collate_segments)
    >>> [tuple(b.wave.shape) for b in loader]
    [(4, 8000), (4, 8000), (4, 8000)]
    >>> stream.set_epoch(0, start_batch=2)  # resume: the first two batches are passed over
    >>> [tuple(b.wave.shape) for b in loader]
    [(4, 8000)]

With a :class:`LabelTable`, only the cuts it holds are read, each with its label:
    >>> stream = ShardStream(ShardIndex.load(d / "shar"), maker, 2, 1234, LabelTable(["u1", "u4"], [0, 1]))
    >>> stream.kept.tolist(), len(stream)
    ([1, 0, 1], 1)
    >>> stream.set_epoch(0)
    >>> sorted(next(iter(stream.loader(collate_segments))).labels.tolist())
    [0, 1]
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from spkssl.data.shar import Shard, ShardIndex, decode_crop, read_shard, shard_ids


class LabelTable:
    """Cut id → integer label (or "dropped"), as two sorted arrays (binary search, no dict of a million ids).

    Args:
        ids: the cuts to train on (others in the shards are dropped, e.g. by purification).
        labels: their labels, or None (keep all of ``ids``, no labels).
    """

    def __init__(self, ids: Sequence[str], labels: Sequence[int] | None = None) -> None:
        ids = np.asarray(list(ids), dtype=object)
        order = np.argsort(ids)
        self.ids = ids[order].astype(str)
        self.labels = None if labels is None else np.asarray(labels, dtype=np.int64)[order]

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, cut_id: str) -> int:
        """Position of ``cut_id`` in the table, or -1."""
        i = int(np.searchsorted(self.ids, cut_id))
        return i if i < len(self.ids) and self.ids[i] == cut_id else -1

    def label(self, position: int) -> int | None:
        return None if self.labels is None else int(self.labels[position])


def round_robin_counts(batches: Sequence[int], consumed: int) -> tuple[list[int], int]:
    """Batches each worker had delivered after ``consumed`` batches taken in turn from workers with some
    left (how a DataLoader interleaves its workers' batches of an iterable dataset), and whose turn is next:
    the worker after the last one served, even one with nothing left (the next draw skips it).

    >>> round_robin_counts([3, 5], 7)
    ([3, 4], 0)
    >>> round_robin_counts([1, 3], 2)
    ([1, 1], 0)
    """
    left = list(batches)
    done = [0] * len(left)
    w = 0
    for _ in range(consumed):
        while left[w] == 0:
            w = (w + 1) % len(left)
        done[w] += 1
        left[w] -= 1
        w = (w + 1) % len(left)
    return done, w


class ShardStream(IterableDataset):
    """The training items of one DDP rank, read from Shar shards (see the module doc).

    Args:
        index: the shards.
        make_item: ``(crop, rng, label) -> item``; ``crop(length, rng)`` cuts the cut's audio.
        batch_size: items per batch (per rank).
        seed: base seed of shard order, window shuffles and items.
        table: the cuts to use and their labels; None uses every cut, without labels.
        rank, world_size: DDP position.
        num_workers: DataLoader workers of this rank (0: read in the training process).
        epochs: how many epochs the run trains (for the common epoch length).
        window: cuts shuffled together.
    """

    def __init__(self, index: ShardIndex, make_item: Callable[..., Any], batch_size: int, seed: int,
                 table: LabelTable | None = None, rank: int = 0, world_size: int = 1, num_workers: int = 0,
                 epochs: int = 1, window: int = 1000) -> None:
        self.index, self.make_item, self.table = index, make_item, table
        self.batch_size, self.seed, self.window = int(batch_size), int(seed), max(1, int(window))
        self.rank, self.world_size, self.num_workers = int(rank), int(world_size), int(num_workers)
        self.readers_per_rank = max(1, self.num_workers)
        self.kept = np.array([self._count(s) for s in index.shards], dtype=np.int64)
        self._position = torch.zeros(2, dtype=torch.long).share_memory_()  # seen by forked workers
        self.epoch, self.start_batch = 0, 0
        self._len = min(self.steps_in_epoch(e) for e in range(max(1, int(epochs))))
        if self._len < 1:
            raise ValueError(f"{int(self.kept.sum())} cuts in {len(index.shards)} shards over {world_size} process(es) "
                             f"x {self.readers_per_rank} reader(s) cannot fill one batch of {batch_size}; lower "
                             "train.batch_size, or export smaller shards (spkssl prepare shar --shard-size)")

    def _count(self, shard: Shard) -> int:
        if self.table is None:
            return shard.num_cuts
        return sum(self.table.find(i) >= 0 for i in shard_ids(shard))

    # ------------------------------------------------------------------ plan
    def readers(self) -> int:
        """Readers over all ranks."""
        return self.world_size * self.readers_per_rank

    def assignment(self, epoch: int) -> list[np.ndarray]:
        """Shard indices of every reader in ``epoch`` (reader g = rank * readers_per_rank + worker)."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.index.shards))
        return [order[g::self.readers()] for g in range(self.readers())]

    def reader_batches(self, epoch: int) -> np.ndarray:
        """Full batches each reader delivers in ``epoch``."""
        return np.array([int(self.kept[s].sum()) // self.batch_size for s in self.assignment(epoch)])

    def steps_in_epoch(self, epoch: int) -> int:
        """Batches the slowest rank can deliver in ``epoch``."""
        per_rank = self.reader_batches(epoch).reshape(self.world_size, self.readers_per_rank).sum(axis=1)
        return int(per_rank.min())

    # ------------------------------------------------------------------ sampler interface
    def __len__(self) -> int:
        """Batches per epoch (the same for every epoch and rank)."""
        return self._len

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Read ``epoch`` from its batch ``start_batch`` on (call before iterating the loader)."""
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"start batch {start_batch} outside epoch of {len(self)} batches")
        self.epoch, self.start_batch = int(epoch), int(start_batch)
        self._position[0], self._position[1] = self.epoch, self.start_batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.start_batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.set_epoch(int(state["epoch"]), int(state["batch"]))

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[Any]:
        epoch, start_batch = int(self._position[0]), int(self._position[1])
        info = get_worker_info()
        physical = 0 if info is None else info.id
        mine = self.reader_batches(epoch)[self.rank * self.readers_per_rank:(self.rank + 1) * self.readers_per_rank]
        done, turn = round_robin_counts(list(mine), start_batch)
        # A new DataLoader iterator asks worker 0 first: it takes the role of the reader whose turn it is.
        worker = (turn + physical) % self.readers_per_rank
        skip = done[worker] * self.batch_size
        total = int(mine[worker]) * self.batch_size
        g = self.rank * self.readers_per_rank + worker
        yield from itertools.islice(self._items(epoch, g, skip), total - skip)

    def _kept_cuts(self, shards: Sequence[int], start: int) -> Iterator[tuple[int, int, dict, bytes]]:
        """``(shard, position, cut, encoded audio)`` of the kept cuts from kept position ``start`` on.

        Whole shards before ``start`` are skipped by their counts, the rest of the way by
        reading manifests only: no audio before ``start`` is read.
        """
        seen = 0

        def want(pos: int, cut: dict) -> bool:
            nonlocal seen
            if self.table is not None and self.table.find(cut["id"]) < 0:
                return False
            seen += 1
            return seen > start

        for s in shards:
            if seen + int(self.kept[s]) <= start:
                seen += int(self.kept[s])
                continue
            for pos, cut, data in read_shard(self.index.shards[s], want):
                yield int(s), pos, cut, data

    def _items(self, epoch: int, reader: int, skip: int) -> Iterator[Any]:
        """The items of ``reader`` in ``epoch`` from kept position ``skip`` on (window shuffle)."""
        shards = self.assignment(epoch)[reader]
        w, offset = divmod(skip, self.window)
        cuts = self._kept_cuts(shards, w * self.window)
        while True:
            block = list(itertools.islice(cuts, self.window))
            if not block:
                return
            order = np.random.default_rng([self.seed, epoch, reader, w]).permutation(len(block))
            for k in order[offset:]:
                s, pos, cut, data = block[k]
                yield self._make(epoch, s, pos, cut, data)
            offset, w = 0, w + 1

    def _make(self, epoch: int, shard: int, pos: int, cut: dict, data: bytes) -> Any:
        """The item of one cut: its crops and draws come from an RNG of (seed, epoch, shard, position)."""
        rng = np.random.default_rng([self.seed, epoch, shard, pos])
        name = f"{self.index.shards[shard].recording}:{cut['id']}"
        n = int(cut["recording"]["num_samples"])  # Shar stores each cut's own audio
        label = None if self.table is None else self.table.label(self.table.find(cut["id"]))
        return self.make_item(lambda length, r: decode_crop(data, n, length, r, name), rng, label)

    def loader(self, collate: Callable[[list[Any]], Any], pin_memory: bool = False,
               prefetch_factor: int = 2) -> DataLoader:
        """The DataLoader over this stream: ``num_workers`` persistent readers, batches of ``batch_size``."""
        workers = self.num_workers
        return DataLoader(self, batch_size=self.batch_size, drop_last=True, num_workers=workers,
                          collate_fn=collate, pin_memory=pin_memory, persistent_workers=workers > 0,
                          prefetch_factor=int(prefetch_factor) if workers > 0 else None,
                          worker_init_fn=_worker_init if workers > 0 else None)


def _worker_init(worker_id: int) -> None:
    torch.set_num_threads(1)
