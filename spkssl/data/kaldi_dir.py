"""Import any Kaldi data directory as Lhotse recordings, supervisions and cuts.

Reads ``wav.scp`` (file paths, absolute or relative to ``audio_root``, or pipes
``cmd |`` which become Lhotse ``command`` audio sources) and, when present,
``utt2spk``, ``segments`` and ``spk2gender``.  Without ``utt2spk`` the corpus is
unlabelled: its cuts have no speaker, which training never needs.  Cut id ==
supervision id == utterance id, so trials written with Kaldi utterance ids match the cuts.
Recording durations come from the file header (``soundfile.info``, fast even
for Opus); for a pipe the command is run once and its output decoded.

Example:
    >>> recs, sups, cuts = import_kaldi_dir("data/train")  # doctest: +SKIP
    >>> cuts[0].supervisions[0].speaker  # doctest: +SKIP
    '0001'
"""
from __future__ import annotations

import io
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import soundfile as sf
from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.audio import AudioSource

from spkssl.data.manifests import cut_of_supervision, manifest_paths, write_manifests  # noqa: F401 - re-exported
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)


class KaldiDirError(ValueError):
    """A Kaldi data directory is malformed (the message names file:line and the problem)."""


@dataclass(frozen=True)
class ScpEntry:
    """One ``wav.scp`` line: a file path or a pipe command, and where it was read."""

    key: str
    value: str
    is_command: bool
    where: str  # "file:line"


def iter_table(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line_number, key, rest)`` of a Kaldi text table; blank lines are skipped.

    Raises:
        KaldiDirError: for a line with a key but no value.
    """
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(maxsplit=1)
            if len(parts) < 2:
                raise KaldiDirError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
            yield lineno, parts[0], parts[1].strip()


def read_table(path: Path, num_fields: int | None = 1) -> dict[str, tuple[str, str]]:
    """Read a Kaldi table → ``{key: (value, "file:line")}``.

    Args:
        path: the table file.
        num_fields: exact number of whitespace-separated fields after the key
            (``None`` = any, value kept verbatim).

    Raises:
        KaldiDirError: naming file:line for a wrong field count or a duplicate key.
    """
    out: dict[str, tuple[str, str]] = {}
    for lineno, key, rest in iter_table(path):
        where = f"{path}:{lineno}"
        if num_fields is not None and len(rest.split()) != num_fields:
            raise KaldiDirError(
                f"{where}: expected {num_fields + 1} fields, got {len(rest.split()) + 1}: "
                f"{key} {rest!r}"
            )
        if key in out:
            raise KaldiDirError(f"{where}: duplicate key '{key}' (first at {out[key][1]})")
        out[key] = (rest, where)
    return out


def read_wav_scp(path: Path, audio_root: Path) -> dict[str, ScpEntry]:
    """Parse ``wav.scp``: pipes keep their command; relative paths are resolved against ``audio_root``."""
    entries: dict[str, ScpEntry] = {}
    for key, (value, where) in read_table(path, num_fields=None).items():
        if value.endswith("|"):
            cmd = value[:-1].strip()
            if not cmd:
                raise KaldiDirError(f"{where}: empty pipe command for '{key}'")
            entries[key] = ScpEntry(key, cmd, True, where)
        else:
            if value.startswith("-") or len(value.split()) != 1:
                raise KaldiDirError(
                    f"{where}: cannot parse audio for '{key}': {value!r} "
                    "(expected a single path or a command ending in '|')"
                )
            p = Path(value)
            p = p if p.is_absolute() else audio_root / p
            entries[key] = ScpEntry(key, str(p.resolve()), False, where)
    return entries


def recording_from_scp(entry: ScpEntry) -> Recording:
    """Build a Lhotse ``Recording`` from the audio header (files) or the decoded pipe output.

    Raises:
        KaldiDirError: naming the wav.scp line and the file/command when the audio
            is missing, unreadable or empty.
    """
    try:
        if entry.is_command:
            proc = subprocess.run(entry.value, shell=True, capture_output=True, check=False)
            if proc.returncode != 0:
                err = proc.stderr.decode(errors="replace").strip()[-300:]
                raise RuntimeError(f"command exited with status {proc.returncode}: {err}")
            info = sf.info(io.BytesIO(proc.stdout))
        else:
            if not Path(entry.value).is_file():
                raise FileNotFoundError("no such file")
            info = sf.info(entry.value)
    except Exception as exc:  # noqa: BLE001 - soundfile raises many types
        what = "command" if entry.is_command else "file"
        raise KaldiDirError(
            f"{entry.where}: cannot read audio of '{entry.key}' ({what} {entry.value}): {exc}"
        ) from exc
    if info.frames <= 0:
        raise KaldiDirError(f"{entry.where}: audio of '{entry.key}' ({entry.value}) is empty")
    source = AudioSource(
        type="command" if entry.is_command else "file",
        channels=list(range(info.channels)),
        source=entry.value,
    )
    return Recording(
        id=entry.key,
        sources=[source],
        sampling_rate=int(info.samplerate),
        num_samples=int(info.frames),
        duration=info.frames / info.samplerate,
    )


def _read_segments(path: Path, recordings: RecordingSet) -> dict[str, tuple[str, float, float]]:
    """``segments`` → ``{utt: (recording_id, start, duration)}`` with range checks."""
    out: dict[str, tuple[str, float, float]] = {}
    for utt, (value, where) in read_table(path, num_fields=3).items():
        rec_id, start_s, end_s = value.split()
        try:
            start, end = float(start_s), float(end_s)
        except ValueError:
            raise KaldiDirError(f"{where}: start/end must be numbers, got {start_s!r} {end_s!r}")
        if rec_id not in recordings:
            raise KaldiDirError(f"{where}: recording '{rec_id}' of '{utt}' is not in wav.scp")
        rec_dur = recordings[rec_id].duration
        if end < 0:  # Kaldi: -1 means "to the end of the recording"
            end = rec_dur
        if start < 0 or end <= start:
            raise KaldiDirError(f"{where}: bad segment times for '{utt}': start={start} end={end}")
        if end > rec_dur + 0.02:
            raise KaldiDirError(
                f"{where}: segment '{utt}' ends at {end:.3f}s, beyond recording "
                f"'{rec_id}' ({rec_dur:.3f}s)"
            )
        out[utt] = (rec_id, start, min(end, rec_dur) - start)
    return out


def import_kaldi_dir(
    data_dir: str | Path,
    audio_root: str | Path | None = None,
    num_workers: int = 4,
) -> tuple[RecordingSet, SupervisionSet, CutSet]:
    """Read a Kaldi data dir into ``(RecordingSet, SupervisionSet, CutSet)``.

    Args:
        data_dir: folder with ``wav.scp`` (optional ``utt2spk``, ``segments``, ``spk2gender``).
        audio_root: base for relative paths in ``wav.scp``; default: ``data_dir``'s parent.
        num_workers: threads used to read audio headers / run pipes.

    Raises:
        KaldiDirError: for a missing ``wav.scp``, a malformed line (named file:line),
            unreadable audio, or, when there is an ``utt2spk``, an utterance it does not name.

    Example:
        >>> recs, sups, cuts = import_kaldi_dir("corpus/train", audio_root="corpus")  # doctest: +SKIP
    """
    data_dir = Path(data_dir)
    audio_root = Path(audio_root) if audio_root is not None else data_dir.resolve().parent
    if not (data_dir / "wav.scp").is_file():
        raise KaldiDirError(f"{data_dir}: required file 'wav.scp' not found")
    scp = read_wav_scp(data_dir / "wav.scp", audio_root)
    if not scp:
        raise KaldiDirError(f"{data_dir / 'wav.scp'}: no recordings in it (empty, or comments only): "
                            "nothing to import")
    labelled = (data_dir / "utt2spk").is_file()
    utt2spk = read_table(data_dir / "utt2spk", num_fields=1) if labelled else {}
    if not labelled:
        log.info("%s: no utt2spk: an unlabelled corpus, its cuts have no speaker", data_dir)
    spk2gender: dict[str, str] = {}
    if (data_dir / "spk2gender").is_file():
        for spk, (g, where) in read_table(data_dir / "spk2gender", num_fields=1).items():
            if g.lower() not in ("m", "f"):
                raise KaldiDirError(f"{where}: gender of '{spk}' must be m or f, got {g!r}")
            spk2gender[spk] = g.lower()

    entries = list(scp.values())
    with ThreadPoolExecutor(max(1, num_workers)) as ex:
        recs = list(
            progress(
                ex.map(recording_from_scp, entries),
                total=len(entries),
                desc=f"Reading audio headers ({data_dir.name})",
                unit="rec",
                leave=False,
            )
        )
    recordings = RecordingSet.from_recordings(recs)

    if (data_dir / "segments").is_file():
        segs = _read_segments(data_dir / "segments", recordings)
    else:
        segs = {r.id: (r.id, 0.0, r.duration) for r in recordings}

    unlabelled = [u for u in segs if u not in utt2spk] if labelled else []
    if unlabelled:
        raise KaldiDirError(
            f"{data_dir / 'utt2spk'}: {len(unlabelled)} utterance(s) have no speaker, "
            f"e.g. '{unlabelled[0]}'"
        )
    orphans = [u for u in utt2spk if u not in segs]
    if orphans:
        log.warning(
            "%s: %d utterance(s) in utt2spk have no audio (ignored), e.g. %s (%s)",
            data_dir, len(orphans), orphans[0], utt2spk[orphans[0]][1],
        )

    sups, cuts = [], []
    for utt, (rec_id, start, dur) in segs.items():
        spk = utt2spk[utt][0] if labelled else None
        sup = SupervisionSegment(
            id=utt, recording_id=rec_id, start=start, duration=dur, channel=0,
            speaker=spk, gender=spk2gender.get(spk) if spk is not None else None,
        )
        sups.append(sup)
        cuts.append(cut_of_supervision(recordings[rec_id], sup))
    log.info(
        "%s: %d recordings, %d utterances, %d speakers",
        data_dir, len(recordings), len(cuts), len({s.speaker for s in sups if s.speaker is not None}),
    )
    return recordings, SupervisionSet.from_segments(sups), CutSet.from_cuts(cuts)

