"""Random-access training audio: a compact table of the cuts, crop-only reads, or all of it in RAM.

:class:`TrainingAudio` reads a cut manifest lazily and keeps only what training needs
per cut (id, speaker index, file, offset and length), not Lhotse objects.  A crop
of a cut is read in one of three ways, all giving exactly
``fit_length(load_cut_audio(cut), length, rng)``:

* **from RAM** when the decoded corpus fits in ``train.preload_audio_mb`` (small
  corpora): every cut is decoded once, in parallel, into one float32 array that
  forked DataLoader workers share;
* **crop only** for cuts in a seekable file (WAV, FLAC): only the crop's samples
  are read and decoded;
* **whole file** otherwise (compressed formats without cheap seeking, pipes,
  multi-source recordings): Lhotse decodes the cut, then it is cropped.

Example (two WAV cuts of 2 s and 0.5 s; a crop longer than a cut loops it, as :func:`fit_length` does):
    >>> import tempfile, pathlib, soundfile as sf
    >>> from lhotse import CutSet, Recording
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for name, seconds in (("a", 2.0), ("b", 0.5)):
    ...     sf.write(d / f"{name}.wav", 0.1 * rng.standard_normal(int(seconds * 16000)), 16000)
    >>> cuts = CutSet.from_cuts(Recording.from_file(d / f"{name}.wav").to_cut() for name in "ab")
    >>> cuts.to_file(d / "cuts.jsonl.gz")
    >>> audio = TrainingAudio.from_file(d / "cuts.jsonl.gz", 16000)
    >>> len(audio), audio.num_direct, audio.lengths.tolist(), audio.in_memory
    (2, 2, [32000, 8000], False)
    >>> crop = audio.crop(0, 16000, np.random.default_rng(1))  # reads only these 16000 samples
    >>> crop.shape, np.array_equal(crop, fit_length(load_cut_audio(cuts[0]), 16000, np.random.default_rng(1)))
    ((16000,), True)
    >>> audio.preload(max_mb=1.0), audio.in_memory  # 2.5 s of float32 fits in 1 MiB
    (True, True)
    >>> np.array_equal(audio.crop(0, 16000, np.random.default_rng(1)), crop)
    True
    >>> audio.crop(1, 16000, np.random.default_rng(1)).shape  # the 0.5 s cut, looped to 1 s
    (16000,)
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import soundfile as sf

from spkssl.augment.augment import fit_length
from spkssl.data.audio import AudioError, describe_source, load_cut_audio
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

#: formats whose samples soundfile reads from any position without decoding what comes before
SEEKABLE = (".wav", ".flac")


def _direct_source(cut: Any) -> tuple[str, int] | None:
    """``(path, first sample)`` when the cut is a plain span of one seekable mono file, else None."""
    rec = getattr(cut, "recording", None)
    if rec is None or len(rec.sources) != 1 or getattr(rec, "transforms", None):
        return None
    src = rec.sources[0]
    if src.type != "file" or not str(src.source).lower().endswith(SEEKABLE):
        return None
    if rec.num_channels != 1 or getattr(cut, "channel", 0) not in (0, [0]):
        return None
    if getattr(cut, "has_features", False) and not getattr(cut, "has_recording", True):
        return None
    from lhotse.utils import compute_num_samples

    return str(src.source), compute_num_samples(cut.start, rec.sampling_rate)


def _speaker(cut: Any) -> str:
    if not cut.supervisions or cut.supervisions[0].speaker is None:
        raise ValueError(f"cut '{cut.id}' has no supervision with a speaker")
    return str(cut.supervisions[0].speaker)


def _decode(job: tuple) -> np.ndarray:
    """Samples of one preload job: ``("file", path, first, count)`` or ``("cut", lhotse_cut)``."""
    if job[0] == "cut":
        return load_cut_audio(job[1])
    _, path, first, count = job
    with sf.SoundFile(path) as f:
        f.seek(first)
        return f.read(count, dtype="float32", always_2d=True)[:, 0]


class TrainingAudio:
    """The training cuts' audio, addressed by index (see the module doc).

    Args:
        cuts: the cuts (a lazy ``CutSet`` is fine: it is read once).
        sampling_rate: every cut must have this rate (``features.sampling_rate``).
        need_speakers: keep each cut's speaker (classification); a cut without one is an error.
    """

    def __init__(self, cuts: Iterable[Any], sampling_rate: int, need_speakers: bool = False) -> None:
        self.sampling_rate = int(sampling_rate)
        ids: list[str] = []
        speakers: list[str] = []
        path_index: dict[str, int] = {}
        file_idx, first, length = [], [], []
        self._fallback: dict[int, Any] = {}  # index -> Lhotse cut read through Lhotse
        for i, cut in enumerate(cuts):
            if int(cut.sampling_rate) != self.sampling_rate:
                raise ValueError(f"cut '{cut.id}' is {cut.sampling_rate} Hz but features.sampling_rate is "
                                 f"{self.sampling_rate}")
            ids.append(cut.id)
            if need_speakers:
                speakers.append(_speaker(cut))
            direct = _direct_source(cut)
            if direct is None:
                self._fallback[i] = cut
                file_idx.append(-1)
                first.append(0)
            else:
                file_idx.append(path_index.setdefault(direct[0], len(path_index)))
                first.append(direct[1])
            length.append(int(cut.num_samples))
        if not ids:
            raise ValueError("empty cut set")
        self.ids = np.array(ids, dtype=object)
        self.speakers = np.array(speakers, dtype=object) if need_speakers else None
        self._paths = np.array(sorted(path_index, key=path_index.get), dtype=object)
        self._file = np.asarray(file_idx, dtype=np.int64)
        self._first = np.asarray(first, dtype=np.int64)
        self.lengths = np.asarray(length, dtype=np.int64)
        self._pool: np.ndarray | None = None
        self._pool_start: np.ndarray | None = None

    @classmethod
    def from_file(cls, path: str | Path, sampling_rate: int, need_speakers: bool = False) -> "TrainingAudio":
        """Read a cut manifest lazily into the table; an empty one is an error naming it."""
        from lhotse import CutSet

        cuts = (CutSet.from_jsonl_lazy(path) if str(path).endswith((".jsonl", ".jsonl.gz"))
                else CutSet.from_file(path))
        if next(iter(cuts), None) is None:
            raise ValueError(f"{path}: the cut set is empty; nothing to train on")
        return cls(cuts, sampling_rate, need_speakers)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def in_memory(self) -> bool:
        """True once :meth:`preload` decoded everything into RAM."""
        return self._pool is not None

    @property
    def num_direct(self) -> int:
        """Cuts read crop-only from a seekable file."""
        return int((self._file >= 0).sum())

    def preload(self, max_mb: float, num_jobs: int = 1) -> bool:
        """Decode every cut into RAM if the float32 samples fit in ``max_mb`` MiB; return whether it did."""
        need_mb = float(self.lengths.sum()) * 4 / 2**20
        if max_mb <= 0 or need_mb > max_mb:
            if max_mb > 0:
                log.info("training audio needs %.0f MiB decoded, more than train.preload_audio_mb=%g: "
                         "reading it from the files", need_mb, max_mb)
            return False
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        pool = np.empty(int(starts[-1]), dtype=np.float32)
        jobs = (("cut", self._fallback[i]) if self._file[i] < 0
                else ("file", self._paths[self._file[i]], int(self._first[i]), int(self.lengths[i]))
                for i in range(len(self)))
        with ProcessPoolExecutor(max(1, num_jobs)) if num_jobs > 1 else _Serial() as ex:
            for i, samples in enumerate(ex.map(_decode, jobs, chunksize=64)):
                if samples.size != self.lengths[i]:
                    raise AudioError(f"cut '{self.ids[i]}' decoded to {samples.size} samples, "
                                     f"its manifest says {self.lengths[i]}")
                pool[starts[i]:starts[i + 1]] = samples
        self._pool, self._pool_start = pool, starts
        log.info("decoded %d training cuts into RAM (%.0f MiB)", len(self), need_mb)
        return True

    def full(self, i: int) -> np.ndarray:
        """All samples of cut ``i`` (float32)."""
        if self._pool is not None:
            return self._pool[self._pool_start[i]:self._pool_start[i + 1]]
        if self._file[i] < 0:
            return load_cut_audio(self._fallback[i])
        return self._read(i, 0, int(self.lengths[i]))

    def _read(self, i: int, offset: int, count: int) -> np.ndarray:
        path = self._paths[self._file[i]]
        try:
            with sf.SoundFile(path) as f:
                f.seek(int(self._first[i]) + offset)
                out = f.read(count, dtype="float32", always_2d=True)[:, 0]
        except Exception as exc:  # noqa: BLE001 - soundfile raises several types
            raise AudioError(f"cannot read audio of cut '{self.ids[i]}' from {path}: {exc}") from exc
        if out.size != count:
            raise AudioError(f"cut '{self.ids[i]}' ({path}): read {out.size} samples at {offset}, expected {count}")
        if not np.all(np.isfinite(out)):
            raise AudioError(f"cut '{self.ids[i]}' ({path}) has NaN/inf samples")
        return out

    def crop(self, i: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """Exactly ``length`` samples of cut ``i``, drawn as :func:`fit_length` draws them."""
        n = int(self.lengths[i])
        if n >= length and self._pool is None and self._file[i] >= 0:
            start = int(rng.integers(0, n - length + 1))  # fit_length's draw, without reading the rest
            return self._read(i, start, length)
        return fit_length(self.full(i), length, rng)

    def describe(self, i: int) -> str:
        """Where cut ``i``'s audio comes from (for messages)."""
        if self._file[i] >= 0:
            return str(self._paths[self._file[i]])
        return describe_source(self._fallback[i])


class _Serial:
    """A stand-in for an executor that maps in this process."""

    def __enter__(self) -> "_Serial":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @staticmethod
    def map(fn, items, chunksize: int = 1):  # noqa: ANN001 - mirrors Executor.map
        return map(fn, items)
