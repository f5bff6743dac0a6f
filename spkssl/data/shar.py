"""Sequential training storage: a cut set and its audio as Lhotse Shar shards, plus an index.

:func:`export_shar` writes ``cuts.NNNNNN.jsonl.gz`` and ``recording.NNNNNN.tar`` (one
``<cut id>.flac`` and ``<cut id>.json`` per cut) with Lhotse's Shar writer, then
``index.json``: the shards, their cut counts and the sampling rate.  Training reads
the shards front to back (:mod:`spkssl.training.stream`), so a corpus of a million
files costs a few thousand large sequential reads per epoch instead of a million
random ones.  :func:`read_shard` and :func:`shard_ids` read one shard without
Lhotse objects; :func:`decode_crop` decodes only the samples of a crop.

Example (five 0.5 s noise cuts in shards of two):
    >>> import tempfile
    >>> from lhotse import CutSet, Recording
    >>> d = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(5):
    ...     sf.write(d / f"u{i}.wav", 0.1 * rng.standard_normal(8000), 16000)
    >>> CutSet.from_cuts(Recording.from_file(d / f"u{i}.wav").to_cut() for i in range(5)).to_file(d / "cuts.jsonl.gz")
    >>> _ = export_shar(d / "cuts.jsonl.gz", d / "shar", shard_size=2)
    >>> sorted(p.name for p in (d / "shar").glob("*.000001.*"))
    ['cuts.000001.jsonl.gz', 'recording.000001.tar']
    >>> index = ShardIndex.load(d / "shar")
    >>> index.num_cuts, [s.num_cuts for s in index.shards], index.sampling_rate
    (5, [2, 2, 1], 16000)
    >>> list(shard_ids(index.shards[1]))
    ['u2', 'u3']
    >>> items = list(read_shard(index.shards[1], want=lambda pos, cut: cut["id"] != "u2"))  # u2's audio is skipped
    >>> [(pos, cut["id"]) for pos, cut, _ in items]
    [(1, 'u3')]
    >>> pos, cut, data = items[0]
    >>> decode(data, cut["id"]).shape
    (8000,)
    >>> crop = decode_crop(data, 8000, 4000, np.random.default_rng(0), cut["id"])  # decodes only the crop
    >>> crop.shape, np.array_equal(crop, fit_length(decode(data, cut["id"]), 4000, np.random.default_rng(0)))
    ((4000,), True)
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import soundfile as sf

from spkssl.augment.augment import fit_length
from spkssl.data.audio import AudioError
from spkssl.utils.io import write_json_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)
INDEX = "index.json"
FORMAT = "spkssl-shar-1"


class SharError(ValueError):
    """A Shar folder is missing, incomplete or inconsistent (the message names the file)."""


@dataclass(frozen=True)
class Shard:
    """One shard: its cut manifest, its audio tar and how many cuts it holds."""

    cuts: Path
    recording: Path
    num_cuts: int


@dataclass(frozen=True)
class ShardIndex:
    """The shards of a Shar folder, in order."""

    root: Path
    shards: tuple[Shard, ...]
    sampling_rate: int
    source: str | None = None  # the manifest the shards were exported from

    @property
    def num_cuts(self) -> int:
        return sum(s.num_cuts for s in self.shards)

    @classmethod
    def load(cls, root: str | Path) -> "ShardIndex":
        """Read ``root/index.json``; a missing index or shard file is an error naming it."""
        root = Path(root)
        path = root / INDEX
        if not path.is_file():
            raise SharError(f"{path} not found: export the cuts first (spkssl prepare shar)")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise SharError(f"{path}: not a {FORMAT} index")
        shards = tuple(Shard(root / s["cuts"], root / s["recording"], int(s["num_cuts"])) for s in data["shards"])
        missing = [str(p) for s in shards for p in (s.cuts, s.recording) if not p.is_file()]
        if missing:
            raise SharError(f"{root}: {len(missing)} shard file(s) missing, e.g. {missing[0]}")
        return cls(root, shards, int(data["sampling_rate"]), data.get("source"))


def shard_ids(shard: Shard) -> Iterator[str]:
    """The cut ids of a shard, in order (reads only its manifest)."""
    with gzip.open(shard.cuts, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["id"]


def decode(data: bytes, name: str) -> np.ndarray:
    """All samples (first channel, float32) of an encoded audio file held in memory."""
    try:
        audio, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types
        raise AudioError(f"cannot decode {name}: {exc}") from exc
    return audio[:, 0]


def decode_crop(data: bytes, num_samples: int, length: int, rng: np.random.Generator, name: str) -> np.ndarray:
    """``fit_length(decode(data), length, rng)``, decoding only the crop when the audio is long enough."""
    if num_samples < length:
        return fit_length(decode(data, name), length, rng)
    start = int(rng.integers(0, num_samples - length + 1))  # fit_length's draw
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            f.seek(start)
            out = f.read(length, dtype="float32", always_2d=True)[:, 0]
    except Exception as exc:  # noqa: BLE001 - soundfile raises several types
        raise AudioError(f"cannot decode {name}: {exc}") from exc
    if out.size != length:
        raise AudioError(f"{name}: {out.size} samples at {start}, expected {length} (manifest says {num_samples})")
    return out


def read_shard(shard: Shard, want: Callable[[int, dict[str, Any]], bool] | None = None
               ) -> Iterator[tuple[int, dict[str, Any], bytes]]:
    """``(position, cut dict, encoded audio)`` of the cuts of ``shard`` that ``want(position, cut)`` accepts.

    The audio of the other cuts is never read (their tar members are passed over by seeking).
    """
    with gzip.open(shard.cuts, "rt", encoding="utf-8") as manifest, tarfile.open(shard.recording) as tar:
        members = iter(tar)
        pos = -1
        for line in manifest:
            if not line.strip():
                continue
            pos += 1
            cut = json.loads(line)
            audio_member = next(members, None)
            meta_member = next(members, None)
            if audio_member is None or meta_member is None or Path(audio_member.name).stem != cut["id"]:
                raise SharError(f"{shard.recording}: no audio for cut '{cut['id']}' at position {pos} "
                                f"(found {audio_member.name if audio_member else 'the end'})")
            if want is not None and not want(pos, cut):
                continue
            yield pos, cut, tar.extractfile(audio_member).read()


def export_shar(cuts_path: str | Path, out_dir: str | Path, shard_size: int = 1000, num_jobs: int = 1,
                force: bool = False) -> ShardIndex:
    """Write the cuts of ``cuts_path`` with FLAC audio as Shar shards in ``out_dir``, then ``index.json``.

    The shards are written to ``out_dir.tmp`` and moved into place when complete, so a
    killed export never leaves a folder that looks finished.  An existing index is
    kept unless ``force``.
    """
    from lhotse import CutSet

    out = Path(out_dir)
    if (out / INDEX).is_file() and not force:
        log.info("%s already holds Shar shards; skipping (force to redo)", out)
        return ShardIndex.load(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cuts = CutSet.from_file(cuts_path)
    if num_jobs > 1:
        cuts = cuts.to_eager()
    written = cuts.to_shar(tmp, fields={"recording": "flac"}, shard_size=int(shard_size), num_jobs=int(num_jobs))
    shards, rate = [], None
    for cuts_file, rec_file in zip(sorted(written["cuts"]), sorted(written["recording"])):
        n = sum(1 for _ in shard_ids(Shard(Path(cuts_file), Path(rec_file), 0)))
        shards.append({"cuts": Path(cuts_file).name, "recording": Path(rec_file).name, "num_cuts": n})
    rate = next(iter(CutSet.from_file(cuts_path))).sampling_rate
    write_json_atomic(tmp / INDEX, {"format": FORMAT, "num_cuts": sum(s["num_cuts"] for s in shards),
                                    "sampling_rate": int(rate), "shards": shards,
                                    "source": str(Path(cuts_path).resolve())})
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    index = ShardIndex.load(out)
    log.info("wrote %d cuts in %d Shar shards to %s", index.num_cuts, len(index.shards), out)
    return index
