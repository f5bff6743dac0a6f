"""What ``spkssl embed`` accepts, turned into :class:`~spkssl.inference.audio.AudioItem` lists.

Each input is recognised by a reader of :data:`SOURCES`, tried in order:

- a **Kaldi data directory** (a folder with ``wav.scp``; ``utt2spk`` is not needed;
  ``segments`` is honoured), or a ``wav.scp`` itself (paths relative to its folder's
  parent, as :func:`spkssl.data.kaldi_dir.import_kaldi_dir` reads them; ``cmd |`` pipes);
- a **Lhotse manifest** (``*.jsonl.gz``, ``*.jsonl``, ``*.json``): a cut set, or a
  recording set (one utterance per recording);
- a **folder**: every audio file below it (:data:`~spkssl.inference.audio.AUDIO_SUFFIXES`),
  its id the path below the folder without the suffix;
- anything else: one **audio file**, its id the file name without the suffix.

Ids must be unique over all inputs and free of whitespace (they become Kaldi keys).

Example:
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "spk1").mkdir()
    >>> sf.write(d / "spk1" / "a.wav", np.zeros(1600), 16000); sf.write(d / "b.flac", np.zeros(800), 8000)
    >>> [(i.id, i.read()[1]) for i in collect_items([d])]
    [('b', 8000), ('spk1/a', 16000)]
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from spkssl.inference.audio import AUDIO_SUFFIXES, AudioError, AudioItem, cut_item, file_item, recording_item

MANIFEST_SUFFIXES = (".jsonl.gz", ".jsonl", ".json")


def _is_kaldi(path: Path) -> bool:
    return (path.is_dir() and (path / "wav.scp").is_file()) or (path.is_file() and path.name.endswith(".scp"))


def _kaldi(path: Path) -> list[AudioItem]:
    from spkssl.data.kaldi_dir import KaldiDirError, _read_segments, read_wav_scp, recording_from_scp

    scp = path / "wav.scp" if path.is_dir() else path
    try:
        entries = read_wav_scp(scp, scp.resolve().parent.parent)
        recordings = {key: recording_from_scp(e) for key, e in entries.items()}
        if (scp.parent / "segments").is_file():
            from lhotse import RecordingSet

            segs = _read_segments(scp.parent / "segments", RecordingSet.from_recordings(recordings.values()))
        else:
            segs = None
    except KaldiDirError as exc:
        raise AudioError(str(exc)) from exc
    if segs is None:
        return [recording_item(rec, key, entries[key].where) for key, rec in recordings.items()]
    items = []
    for utt, (rec_id, start, dur) in segs.items():
        rec = recordings[rec_id]
        items.append(_segment_item(rec, utt, start, dur, f"{scp.parent / 'segments'}: '{utt}' of {rec_id}"))
    return items


def _segment_item(rec, utt: str, start: float, dur: float, where: str) -> AudioItem:
    def read():
        try:
            samples = rec.load_audio(offset=start, duration=dur)
        except Exception as exc:  # noqa: BLE001 - lhotse raises many types
            raise AudioError(f"{where}: cannot read audio: {exc}") from exc
        return np.atleast_2d(np.asarray(samples, dtype=np.float32)), int(rec.sampling_rate)

    return AudioItem(utt, where, read, float(dur))


def _is_manifest(path: Path) -> bool:
    return path.is_file() and path.name.endswith(MANIFEST_SUFFIXES)


def _manifest(path: Path) -> list[AudioItem]:
    from lhotse import CutSet, RecordingSet, load_manifest

    try:
        manifest = load_manifest(path)
    except Exception as exc:  # noqa: BLE001 - lhotse raises many types for a bad manifest
        raise AudioError(f"{path}: not a Lhotse manifest it can read: {exc}") from exc
    if isinstance(manifest, CutSet):
        return [cut_item(c) for c in manifest]
    if isinstance(manifest, RecordingSet):
        return [recording_item(r) for r in manifest]
    raise AudioError(f"{path}: a Lhotse {type(manifest).__name__} has no audio; give a cut set or a recording set")


def _folder(path: Path) -> list[AudioItem]:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudioError(f"{path}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this folder or below it")
    return [file_item(p, p.relative_to(path).with_suffix("").as_posix()) for p in files]


def _file(path: Path) -> list[AudioItem]:
    if not path.exists():
        raise AudioError(f"{path}: no such file or folder")
    return [file_item(path)]


#: ``(recognises(path), read(path) -> items)``, tried in order; the last one takes any path
SOURCES: Sequence[tuple[Callable[[Path], bool], Callable[[Path], list[AudioItem]]]] = (
    (_is_kaldi, _kaldi),
    (_is_manifest, _manifest),
    (Path.is_dir, _folder),
    (lambda p: True, _file),
)


def items_of(path: str | Path) -> list[AudioItem]:
    """The utterances of one input (see the module docstring for what it may be)."""
    path = Path(path)
    for recognises, read in SOURCES:
        if recognises(path):
            return read(path)
    raise AssertionError("the last source takes any path")


def collect_items(inputs: Iterable[str | Path]) -> list[AudioItem]:
    """The utterances of every input, in order.

    Raises:
        spkssl.inference.audio.AudioError: an input that is missing or unreadable, an id with whitespace, or an id
            given twice (both places named).
    """
    items: list[AudioItem] = []
    seen: dict[str, str] = {}
    for path in inputs:
        for item in items_of(path):
            if not item.id or any(c.isspace() for c in item.id):
                raise AudioError(f"{item.where}: utterance id {item.id!r} is empty or has whitespace; "
                                 "list the files in a wav.scp with ids of your choice")
            if item.id in seen:
                raise AudioError(f"utterance id '{item.id}' given twice: {seen[item.id]} and {item.where} "
                                 "(list the files in a wav.scp with ids of your choice)")
            seen[item.id] = item.where
            items.append(item)
    if not items:
        raise AudioError("no audio to embed: give files, folders, a wav.scp, a Kaldi data dir or a Lhotse manifest")
    return items
