"""Training data: raw crops of the training cuts and their augmentation choices, batched.

An item is ``per_item`` random crops of one cut (two or more positives for the
contrastive objective, one for classification), each with the augmentation drawn
for it (:meth:`spkssl.augment.augment.Augmentor.draw`) and the cut's label when
the objective has labels (:class:`SegmentMaker`).  Items come from random access
(:class:`SegmentDataset`) or from Shar shards (:mod:`spkssl.training.stream`).  :func:`collate_segments` packs items
into a :class:`RawBatch`; :class:`spkssl.features.batch_frontend.BatchFrontend`
then augments, computes fbank and CMN for the whole batch (on the training device,
or in the DataLoader workers on CPU), giving a :class:`FeatBatch`.

Items are addressed as ``(cut_index, sample_seed)`` pairs produced by
:class:`spkssl.training.sampler.ResumableBatchSampler`; all randomness of an item
comes from ``numpy.random.default_rng([seed, sample_seed])``, in the order crop,
augmentation, crop, augmentation, ... so results do not depend on which worker
computes them, and they are the crops and draws of the per-segment path this
replaced.

Example (two crops of 1 s per item from two noise WAVs, no augmentation):
    >>> import tempfile, soundfile as sf
    >>> from lhotse import Recording
    >>> d = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for name in "ab":
    ...     sf.write(d / f"{name}.wav", 0.1 * rng.standard_normal(24000), 16000)
    >>> audio = TrainingAudio([Recording.from_file(d / f"{name}.wav").to_cut() for name in "ab"], 16000)
    >>> cfg = {"features": {"sampling_rate": 16000}, "train": {"segment_seconds": 1.0}}
    >>> ds = SegmentDataset(audio, SegmentMaker(cfg, None, per_item=2), seed=1234, labels=np.array([0, 1]))
    >>> batch = collate_segments([ds[(0, 1)], ds[(1, 2)]])
    >>> batch.wave.shape, batch.per_item, batch.labels.tolist(), batch.draws is None
    (torch.Size([4, 16000]), 2, [0, 1], True)
    >>> torch.equal(collate_segments([ds[(0, 1)]]).wave, batch.wave[:2])  # an item depends on its seeds only
    True
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from spkssl.augment.augment import AugmentDraw, Augmentor
from spkssl.augment.batched import BatchDraws, collate_draws
from spkssl.training.audio import TrainingAudio
from spkssl.training.sampler import ResumableBatchSampler
from spkssl.utils.io import write_json_atomic


def build_label_map(speakers: Sequence[str]) -> dict[str, int]:
    """Speaker name → integer id, in sorted name order."""
    return {spk: i for i, spk in enumerate(sorted(set(speakers)))}


def save_label_map(label_map: Mapping[str, int], path: str | Path) -> None:
    """Write ``spk2id.json`` atomically."""
    write_json_atomic(path, dict(label_map))


@dataclass
class RawBatch:
    """``B`` items of ``per_item`` crops each: what the workers deliver.

    Attributes:
        wave: float32 ``[B * per_item, L]`` crops in [-1, 1], item-major.
        draws: their augmentation choices (None: no augmentation).
        labels: int64 ``[B]`` (None without labels).
        per_item: crops per item.
    """

    wave: torch.Tensor
    draws: BatchDraws | None
    labels: torch.Tensor | None
    per_item: int

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "RawBatch":
        move = (lambda t: None if t is None else t.to(device, non_blocking=non_blocking))  # noqa: E731
        return RawBatch(move(self.wave), move(self.draws), move(self.labels), self.per_item)

    def pin_memory(self) -> "RawBatch":
        pin = (lambda t: None if t is None else t.pin_memory())  # noqa: E731
        return RawBatch(pin(self.wave), pin(self.draws), pin(self.labels), self.per_item)


@dataclass
class FeatBatch:
    """The network input of a batch: ``feats`` ``[B, K, T, F]`` (or ``[B, T, F]`` for one crop per item)."""

    feats: torch.Tensor
    labels: torch.Tensor | None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "FeatBatch":
        labels = None if self.labels is None else self.labels.to(device, non_blocking=non_blocking)
        return FeatBatch(self.feats.to(device, non_blocking=non_blocking), labels)

    def pin_memory(self) -> "FeatBatch":
        return FeatBatch(self.feats.pin_memory(), None if self.labels is None else self.labels.pin_memory())


class SegmentMaker:
    """One item: ``per_item`` crops of ``train.segment_seconds``, each followed by its augmentation draw.

    ``maker(crop, rng, label)`` calls ``crop(length, rng)`` for each crop (a random-access
    read, or a crop of audio already in memory) and draws from the same ``rng`` in the
    order crop, draw, crop, draw, ...  Returns ``(crops [per_item, L], draws or None, label)``.
    ``seconds`` (with ``key``, the config key it comes from, for errors) replaces
    ``train.segment_seconds`` as the crop length.
    """

    def __init__(self, cfg: Mapping[str, Any], augmentor: Augmentor | None, per_item: int = 1,
                 seconds: float | None = None, key: str = "train.segment_seconds") -> None:
        self.sampling_rate = int(cfg["features"]["sampling_rate"])
        seconds = float(cfg["train"]["segment_seconds"] if seconds is None else seconds)
        if seconds <= 0:
            raise ValueError(f"{key} must be > 0, got {seconds}")
        self.segment_samples = int(round(seconds * self.sampling_rate))
        self.augmentor = augmentor if augmentor is not None and augmentor.enabled else None
        self.per_item = int(per_item)

    def __call__(self, crop: Callable[[int, np.random.Generator], np.ndarray], rng: np.random.Generator,
                 label: int | None = None) -> tuple[np.ndarray, list[AugmentDraw] | None, int | None]:
        crops, draws = [], []
        for _ in range(self.per_item):
            crops.append(crop(self.segment_samples, rng))
            if self.augmentor is not None:
                draws.append(self.augmentor.draw(self.segment_samples, rng))
        return np.stack(crops), draws if self.augmentor is not None else None, label


class MultiCropMaker:
    """One item of several crop lengths (DINO's multi-crop): one :class:`SegmentMaker` item per view.

    The views are made in order from the same ``rng`` (so an item is the same whichever
    worker makes it).  Returns ``(view_0_item, view_1_item, ...)``; :func:`collate_views`
    batches each view on its own, so every view is one equal-length batch for the front-end.

    >>> import numpy as np
    >>> cfg = {"features": {"sampling_rate": 100}, "train": {"segment_seconds": 1.0}}
    >>> maker = MultiCropMaker([SegmentMaker(cfg, None, 2, 3.0), SegmentMaker(cfg, None, 4, 2.0)])
    >>> views = maker(lambda n, rng: np.zeros(n, np.float32), np.random.default_rng(0))
    >>> [v[0].shape for v in views], maker.per_item
    ([(2, 300), (4, 200)], 6)
    """

    def __init__(self, views: Sequence[SegmentMaker]) -> None:
        if not views:
            raise ValueError("a multi-crop item needs at least one view")
        self.views = list(views)

    @property
    def per_item(self) -> int:
        """Crops per item over every view."""
        return sum(v.per_item for v in self.views)

    def __call__(self, crop: Callable[[int, np.random.Generator], np.ndarray], rng: np.random.Generator,
                 label: int | None = None) -> tuple[tuple[np.ndarray, list[AugmentDraw] | None, int | None], ...]:
        return tuple(view(crop, rng, label) for view in self.views)


@dataclass
class Views:
    """One batch per crop length of the same items (multi-crop), each a :class:`RawBatch` or :class:`FeatBatch`."""

    batches: list[Any]

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "Views":
        return Views([b.to(device, non_blocking=non_blocking) for b in self.batches])

    def pin_memory(self) -> "Views":
        return Views([b.pin_memory() for b in self.batches])


def collate_views(items: list[tuple[Any, ...]]) -> Views:
    """Pack :class:`MultiCropMaker` items into one :class:`RawBatch` per view."""
    return Views([collate_segments([item[v] for item in items]) for v in range(len(items[0]))])


class SegmentDataset(Dataset):
    """``(cut_index, sample_seed)`` → the :class:`SegmentMaker` item of that cut, read from ``audio``.

    Args:
        audio: the training cuts (:class:`~spkssl.training.audio.TrainingAudio`).
        make_item: what an item is (crops, draws; from the objective).
        seed: base seed (``train.seed``); an item's RNG is ``default_rng([seed, sample_seed])``.
        labels: int label of every cut (classification), or None.
    """

    def __init__(self, audio: TrainingAudio, make_item: SegmentMaker, seed: int,
                 labels: np.ndarray | None = None) -> None:
        if len(audio) == 0:
            raise ValueError("empty cut set")
        self.audio, self.make_item, self.seed, self.labels = audio, make_item, int(seed), labels

    @property
    def per_item(self) -> int:
        return self.make_item.per_item

    def __len__(self) -> int:
        return len(self.audio)

    def __getitem__(self, item: tuple[int, int]) -> tuple[np.ndarray, list[AugmentDraw] | None, int | None]:
        index, sample_seed = item
        rng = np.random.default_rng([self.seed, int(sample_seed)])
        label = None if self.labels is None else int(self.labels[index])
        return self.make_item(lambda n, r: self.audio.crop(index, n, r), rng, label)


def collate_segments(items: list[tuple[np.ndarray, list[AugmentDraw] | None, int | None]]) -> RawBatch:
    """Pack :class:`SegmentDataset` items into a :class:`RawBatch` (item-major crops)."""
    wave = torch.from_numpy(np.concatenate([crops for crops, _, _ in items]))
    draws = None
    if items[0][1] is not None:
        draws = collate_draws([d for _, ds, _ in items for d in ds], wave.shape[1])
    labels = None if items[0][2] is None else torch.tensor([lab for _, _, lab in items], dtype=torch.long)
    return RawBatch(wave, draws, labels, items[0][0].shape[0])


def _worker_init(worker_id: int) -> None:
    # Items carry their own seeds; also seed the global generators per worker for anything else.
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    torch.set_num_threads(1)


def make_loader(dataset: Dataset, sampler: ResumableBatchSampler, num_workers: int,
                collate: Callable[[list[Any]], Any], pin_memory: bool = False,
                prefetch_factor: int = 2) -> DataLoader:
    """A DataLoader over ``sampler``'s batches; its ``num_workers`` seeded workers stay alive across epochs."""
    workers = int(num_workers)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        worker_init_fn=_worker_init if workers > 0 else None,
        pin_memory=pin_memory,
        persistent_workers=workers > 0,
        prefetch_factor=int(prefetch_factor) if workers > 0 else None,
    )
