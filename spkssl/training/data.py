"""Training datasets on Lhotse cut sets: random crops → augmentation → the feature front-end.

The front-end (:class:`spkssl.features.frontend.FeatureFrontend`: fbank, then CMN
when ``features.cmn``) is the one extraction uses too.

* :class:`ContrastiveDataset` — K >= 2 independently cropped and augmented
  segments of one cut (positives of each other): ``float32 [K, T, F]``.
* :class:`ClassificationDataset` — one segment and the integer id of the cut's
  (pseudo) speaker: ``([T, F], label)``.

Items are addressed as ``(cut_index, sample_seed)`` pairs produced by
:class:`spkssl.training.sampler.ResumableBatchSampler`; all randomness of an item
comes from ``numpy.random.default_rng([seed, sample_seed])``, so results do not
depend on which DataLoader worker computes them.

Example:
    >>> # ds = ContrastiveDataset(cuts, cfg, augmentor); ds[(0, 123)].shape -> (2, 198, 80)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from spkssl.augment.augment import Augmentor, fit_length
from spkssl.data.audio import load_cut_audio
from spkssl.features.frontend import FeatureFrontend
from spkssl.training.sampler import ResumableBatchSampler
from spkssl.utils.io import write_json_atomic


def cut_speaker(cut: Any) -> str:
    """The speaker of a cut's first supervision, with an error naming the cut when absent."""
    if not cut.supervisions or cut.supervisions[0].speaker is None:
        raise ValueError(f"cut '{cut.id}' has no supervision with a speaker; cannot train a classifier")
    return str(cut.supervisions[0].speaker)


def build_label_map(cuts: Sequence[Any]) -> dict[str, int]:
    """Speaker name → integer id, in sorted name order."""
    return {spk: i for i, spk in enumerate(sorted({cut_speaker(c) for c in cuts}))}


def save_label_map(label_map: Mapping[str, int], path: str | Path) -> None:
    """Write ``spk2id.json`` atomically."""
    write_json_atomic(path, dict(label_map))


class _SegmentDataset(Dataset):
    """Shared cropping / augmentation / feature code."""

    def __init__(
        self, cuts: Sequence[Any], cfg: Mapping[str, Any], augmentor: Augmentor | None, seed: int | None = None
    ) -> None:
        self.cuts = list(cuts)
        if not self.cuts:
            raise ValueError("empty cut set")
        self.frontend = FeatureFrontend.from_config(cfg["features"])
        self.sampling_rate = self.frontend.sampling_rate
        seconds = float(cfg["train"]["segment_seconds"])
        if seconds <= 0:
            raise ValueError(f"train.segment_seconds must be > 0, got {seconds}")
        self.segment_samples = int(round(seconds * self.sampling_rate))
        self.augmentor = augmentor
        self.seed = int(cfg["train"]["seed"] if seed is None else seed)

    def __len__(self) -> int:
        return len(self.cuts)

    def _audio(self, index: int) -> np.ndarray:
        cut = self.cuts[index]
        if int(cut.sampling_rate) != self.sampling_rate:
            raise ValueError(
                f"cut '{cut.id}' is {cut.sampling_rate} Hz but features.sampling_rate is {self.sampling_rate}"
            )
        return load_cut_audio(cut)

    def _segment(self, audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seg = fit_length(audio, self.segment_samples, rng)
        if self.augmentor is not None:
            seg = self.augmentor(seg, rng)
        return self.frontend(seg, self.sampling_rate)

    def _rng(self, sample_seed: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(sample_seed)])


class ContrastiveDataset(_SegmentDataset):
    """K random, independently augmented crops per cut → ``torch.float32 [K, T, F]``."""

    def __init__(self, cuts: Sequence[Any], cfg: Mapping[str, Any], augmentor: Augmentor | None,
                 seed: int | None = None) -> None:
        super().__init__(cuts, cfg, augmentor, seed)
        self.num_segments = int(cfg["train"]["num_segments"])
        if self.num_segments < 2:
            raise ValueError(f"train.num_segments must be >= 2 for contrastive training, got {self.num_segments}")

    def __getitem__(self, item: tuple[int, int]) -> torch.Tensor:
        index, sample_seed = item
        rng = self._rng(sample_seed)
        audio = self._audio(index)
        return torch.from_numpy(np.stack([self._segment(audio, rng) for _ in range(self.num_segments)]))


class ClassificationDataset(_SegmentDataset):
    """One random augmented crop per cut and its speaker id → ``(float32 [T, F], int)``."""

    def __init__(self, cuts: Sequence[Any], cfg: Mapping[str, Any], augmentor: Augmentor | None,
                 label_map: Mapping[str, int] | None = None, seed: int | None = None) -> None:
        super().__init__(cuts, cfg, augmentor, seed)
        self.label_map = dict(label_map) if label_map is not None else build_label_map(self.cuts)
        self.labels = []
        for cut in self.cuts:
            spk = cut_speaker(cut)
            if spk not in self.label_map:
                raise ValueError(f"cut '{cut.id}': speaker '{spk}' is not in the label map")
            self.labels.append(self.label_map[spk])

    @property
    def num_classes(self) -> int:
        return len(self.label_map)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        index, sample_seed = item
        feats = self._segment(self._audio(index), self._rng(sample_seed))
        return torch.from_numpy(feats), self.labels[index]


def collate_contrastive(items: list[torch.Tensor]) -> torch.Tensor:
    """Stack ``[K, T, F]`` items into ``[B, K, T, F]``."""
    return torch.stack(items)


def collate_classification(items: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack items into ``(feats [B, T, F], labels [B] int64)``."""
    feats, labels = zip(*items)
    return torch.stack(feats), torch.tensor(labels, dtype=torch.long)


def _worker_init(worker_id: int) -> None:
    # Items carry their own seeds; also seed the global generators per worker for anything else.
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    torch.set_num_threads(1)


def make_loader(dataset: Dataset, sampler: ResumableBatchSampler, num_workers: int,
                collate: Callable[[list[Any]], Any], pin_memory: bool = False) -> DataLoader:
    """A DataLoader over ``sampler``'s batches with ``num_workers`` seeded worker processes."""
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=int(num_workers),
        collate_fn=collate,
        worker_init_fn=_worker_init if num_workers > 0 else None,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
