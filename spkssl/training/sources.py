"""Where a training round reads its audio: random access to the cut files, or Shar shards in sequence.

:func:`open_source` picks one from the options of the round:

* :class:`RandomAccessSource` — the cut manifest as a compact table
  (:class:`~spkssl.training.audio.TrainingAudio`), crop-only reads or the decoded corpus
  in RAM, a :class:`~spkssl.training.sampler.ResumableBatchSampler` over its indices.
  For small corpora, and any corpus without shards.
* :class:`ShardSource` — ``--shar DIR`` (``inputs.train_shar``): the audio of the
  shards, read in sequence by a :class:`~spkssl.training.stream.ShardStream`; the cut
  manifest only says which cuts to use and their speakers (a round's pseudo labels).

Both give the trainer the same things: the speakers (for the objective's labels), a
dataset of :class:`~spkssl.training.data.SegmentMaker` items, a sampler-like position
(``set_epoch``, ``state_dict``, ``len``) and a DataLoader.

Example (four 1.5 s noise WAVs, batches of two items of two 1 s crops; then the same cuts as shards):
    >>> import tempfile, soundfile as sf
    >>> from lhotse import CutSet, Recording
    >>> from spkssl.config import load_config
    >>> from spkssl.data.shar import export_shar
    >>> from spkssl.training.data import collate_segments
    >>> d = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(4):
    ...     sf.write(d / f"u{i}.wav", 0.1 * rng.standard_normal(24000), 16000)
    >>> CutSet.from_cuts(Recording.from_file(d / f"u{i}.wav").to_cut() for i in range(4)).to_file(d / "cuts.jsonl.gz")
    >>> cfg = load_config(None, ["train.batch_size=2", "train.segment_seconds=1.0", "train.num_workers=0"])
    >>> source = open_source(cfg, d / "cuts.jsonl.gz", None, need_speakers=False)
    >>> type(source).__name__, source.num_cuts, source.speakers
    ('RandomAccessSource', 4, None)
    >>> dataset = source.dataset(SegmentMaker(cfg, None, per_item=2), labels=None)
    >>> [b.wave.shape for b in source.loader(collate_segments, pin_memory=False)], len(source.sampler)
    ([torch.Size([4, 16000]), torch.Size([4, 16000])], 2)
    >>> _ = export_shar(d / "cuts.jsonl.gz", d / "shar", shard_size=2)
    >>> source = open_source(cfg, d / "cuts.jsonl.gz", d / "shar", need_speakers=False)
    >>> dataset = source.dataset(SegmentMaker(cfg, None, per_item=2), labels=None)
    >>> type(source).__name__, source.num_cuts, len(source.sampler)
    ('ShardSource', 4, 2)
    >>> source.sampler.set_epoch(0)
    >>> [b.wave.shape for b in source.loader(collate_segments, pin_memory=False)]
    [torch.Size([4, 16000]), torch.Size([4, 16000])]
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from torch.utils.data import DataLoader, Dataset

from spkssl.data.shar import ShardIndex
from spkssl.training.audio import TrainingAudio
from spkssl.training.data import SegmentDataset, SegmentMaker, make_loader
from spkssl.training.ddp import DistContext
from spkssl.training.sampler import ResumableBatchSampler
from spkssl.training.stream import LabelTable, ShardStream
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


class RandomAccessSource:
    """Random access to the cuts of a manifest (see the module doc)."""

    def __init__(self, cfg: Mapping[str, Any], cuts: Path, need_speakers: bool, dist: DistContext) -> None:
        self.cfg, self.dist = cfg, dist
        self.audio = TrainingAudio.from_file(cuts, int(cfg["features"]["sampling_rate"]), need_speakers)
        if self.audio.preload(float(cfg["train"]["preload_audio_mb"]), num_jobs=len(os.sched_getaffinity(0))):
            log.info("training audio of %d cuts is in RAM", len(self.audio))
        self.speakers = self.audio.speakers
        self.num_cuts = len(self.audio)
        self.sampler: ResumableBatchSampler | None = None

    def dataset(self, make_item: SegmentMaker, labels: np.ndarray | None) -> Dataset:
        tcfg = self.cfg["train"]
        self._dataset = SegmentDataset(self.audio, make_item, int(tcfg["seed"]), labels)
        self.sampler = ResumableBatchSampler(len(self._dataset), int(tcfg["batch_size"]), int(tcfg["seed"]),
                                             rank=self.dist.rank, world_size=self.dist.world_size)
        return self._dataset

    def loader(self, collate: Callable[[list[Any]], Any], pin_memory: bool) -> DataLoader:
        tcfg = self.cfg["train"]
        return make_loader(self._dataset, self.sampler, int(tcfg["num_workers"]), collate, pin_memory=pin_memory,
                           prefetch_factor=int(tcfg["prefetch_factor"]))


def _manifest_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The cut dicts of a jsonl(.gz) manifest, one at a time."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


class ShardSource:
    """The audio of Shar shards, filtered and labelled by a cut manifest (see the module doc)."""

    def __init__(self, cfg: Mapping[str, Any], cuts: Path, shar: Path, need_speakers: bool,
                 dist: DistContext) -> None:
        self.cfg, self.dist = cfg, dist
        self.index = ShardIndex.load(shar)
        if self.index.sampling_rate != int(cfg["features"]["sampling_rate"]):
            raise ValueError(f"{shar}: shards are {self.index.sampling_rate} Hz but features.sampling_rate is "
                             f"{cfg['features']['sampling_rate']}")
        ids: list[str] | None = []
        speakers: list[str] = []
        if not need_speakers and self.index.source == str(cuts.resolve()):
            ids = None  # every cut of the shards, no labels: nothing per cut is held
        for row in _manifest_rows(cuts) if ids is not None else ():
            ids.append(row["id"])
            if need_speakers:
                sups = row.get("supervisions") or []
                if not sups or sups[0].get("speaker") is None:
                    raise ValueError(f"cut '{row['id']}' in {cuts} has no supervision with a speaker")
                speakers.append(str(sups[0]["speaker"]))
        self.ids = ids
        self.speakers = np.array(speakers, dtype=object) if need_speakers else None
        self._table_type = LabelTable
        self.num_cuts = self.index.num_cuts
        self.sampler: Any = None

    def dataset(self, make_item: SegmentMaker, labels: np.ndarray | None) -> Dataset:
        tcfg = self.cfg["train"]
        table = None if self.ids is None else self._table_type(self.ids, labels)
        self.ids = None  # the sorted table keeps what is needed
        self.sampler = ShardStream(
            self.index, make_item, int(tcfg["batch_size"]), int(tcfg["seed"]), table,
            rank=self.dist.rank, world_size=self.dist.world_size, num_workers=int(tcfg["num_workers"]),
            epochs=int(tcfg["epochs"]), window=int(tcfg["shuffle_window"]),
        )
        self.num_cuts = int(self.sampler.kept.sum())
        log.info("reading %d of the %d cuts in %d Shar shards of %s", self.num_cuts,
                 self.index.num_cuts, len(self.index.shards), self.index.root)
        return self.sampler

    def loader(self, collate: Callable[[list[Any]], Any], pin_memory: bool) -> DataLoader:
        return self.sampler.loader(collate, pin_memory=pin_memory,
                                   prefetch_factor=int(self.cfg["train"]["prefetch_factor"]))


def open_source(cfg: Mapping[str, Any], cuts: str | Path, shar: str | Path | None, need_speakers: bool,
                dist: DistContext | None = None) -> RandomAccessSource | ShardSource:
    """The source of a round: shards when ``shar`` is given, else random access to ``cuts``."""
    cuts = Path(cuts)
    if not cuts.is_file():
        raise FileNotFoundError(f"cut set not found: {cuts}")
    dist = dist or DistContext()
    if shar is not None:
        return ShardSource(cfg, cuts, Path(shar), need_speakers, dist)
    return RandomAccessSource(cfg, cuts, need_speakers, dist)
