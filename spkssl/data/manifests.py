"""A set's Lhotse manifests, as every importer leaves them for the later stages.

``OUT_DIR/<prefix>_{recordings,supervisions,cuts}.jsonl.gz``: one cut per supervision,
cut id == supervision id (the utterance id trial lists use).  :func:`save_manifests` is the
step every importer (Kaldi data dir, Lhotse manifests or recipe) ends with: it removes the
set's older manifests first, so a failed or killed import never leaves files a later stage
would take for its output; it checks overlapping supervisions (``data.on_overlap``),
validates the cuts (:func:`spkssl.data.validate.validate_cuts`), keeps the supervisions
consistent with any cut that validation dropped, and writes the three files atomically,
cuts last.

Example:
    >>> from spkssl.data.kaldi_dir import import_kaldi_dir
    >>> saved = save_manifests("data/manifests", "train",
    ...                        lambda: import_kaldi_dir("corpus/train"))  # doctest: +SKIP
    >>> print(saved.table())  # doctest: +SKIP
      set  speakers  utterances  hours   min    p5   p50   p95    max
    train       125        2500   2.20  0.86  1.40  2.94  6.08  15.98
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
from lhotse.cut import MonoCut

from spkssl.config import require_complete
from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts
from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

OVERLAP_TOLERANCE = 0.01  # seconds two supervisions of one channel may share before they overlap
MAX_LISTED = 5

Manifests = tuple[RecordingSet, SupervisionSet, CutSet]


def manifest_paths(out_dir: str | Path, prefix: str) -> dict[str, Path]:
    """The three manifest paths for ``prefix``: keys recordings, supervisions, cuts."""
    out_dir = Path(out_dir)
    return {k: out_dir / f"{prefix}_{k}.jsonl.gz" for k in ("recordings", "supervisions", "cuts")}


def write_manifests(
    out_dir: str | Path,
    prefix: str,
    recordings: RecordingSet,
    supervisions: SupervisionSet,
    cuts: CutSet,
) -> dict[str, Path]:
    """Write ``<prefix>_{recordings,supervisions,cuts}.jsonl.gz`` atomically; returns the paths.

    Cuts are written last, so a complete cuts manifest implies the other two are complete.
    """
    paths = manifest_paths(out_dir, prefix)
    for key, manifest in (("recordings", recordings), ("supervisions", supervisions), ("cuts", cuts)):
        with atomic_path(paths[key]) as tmp:
            manifest.to_file(tmp)
    return paths


def cut_of_supervision(recording: Recording, sup: SupervisionSegment) -> MonoCut:
    """The cut of one supervision: its id, span and channel on ``recording``, the supervision inside.

    Example:
        >>> rec = Recording(id="r", sources=[], sampling_rate=16000, num_samples=32000, duration=2.0)
        >>> cut = cut_of_supervision(rec, SupervisionSegment("u1", "r", start=0.5, duration=1.0, speaker="s"))
        >>> cut.id, cut.start, cut.supervisions[0].start, cut.supervisions[0].speaker
        ('u1', 0.5, 0.0, 's')
    """
    return MonoCut(id=sup.id, start=sup.start, duration=sup.duration, channel=sup.channel,
                   recording=recording, supervisions=[sup.with_offset(-sup.start)])


def find_overlaps(sups: SupervisionSet) -> list[tuple[str, str]]:
    """Pairs ``(earlier, later)`` of supervisions of one recording and channel whose spans overlap.

    Each supervision after the first of a run is paired with the one that reaches furthest
    before it.  Spans may share up to ``OVERLAP_TOLERANCE`` seconds.

    Example:
        >>> s = [SupervisionSegment("a", "r", 0.0, 2.0), SupervisionSegment("b", "r", 1.5, 1.0),
        ...      SupervisionSegment("c", "r", 2.4, 1.0), SupervisionSegment("d", "q", 0.5, 1.0)]
        >>> find_overlaps(SupervisionSet.from_segments(s))
        [('a', 'b'), ('b', 'c')]
    """
    by_track: dict[tuple[str, Any], list[SupervisionSegment]] = defaultdict(list)
    for sup in sups:
        by_track[(sup.recording_id, str(sup.channel))].append(sup)
    pairs = []
    for track in by_track.values():
        track.sort(key=lambda s: (s.start, s.end))
        furthest = track[0]
        for sup in track[1:]:
            if sup.start < furthest.end - OVERLAP_TOLERANCE:
                pairs.append((furthest.id, sup.id))
            if sup.end > furthest.end:
                furthest = sup
    return pairs


def apply_overlap_policy(sups: SupervisionSet, policy: str, where: str = "") -> SupervisionSet:
    """Refuse (``error``), leave out (``drop``) or keep (``keep``) supervisions that overlap another.

    A cut of an overlapping supervision holds a second voice, which a speaker network would
    learn as the first one's.

    Raises:
        ManifestError: with ``error``, naming the first overlapping pairs and ``data.on_overlap``.
    """
    pairs = find_overlaps(sups)
    if not pairs:
        return sups
    ids = {u for pair in pairs for u in pair}
    listed = ", ".join(f"'{a}' and '{b}'" for a, b in pairs[:MAX_LISTED])
    more = f" and {len(pairs) - MAX_LISTED} more" if len(pairs) > MAX_LISTED else ""
    what = f"{where + ': ' if where else ''}{len(pairs)} pair(s) of supervisions overlap in time: {listed}{more}"
    if policy == "error":
        raise ManifestError(f"{what}; set data.on_overlap=drop to leave the {len(ids)} overlapping "
                            "supervisions out, or keep to train on them anyway")
    if policy == "drop":
        log.warning("%s; leaving out the %d supervisions involved (data.on_overlap=drop)", what, len(ids))
        return SupervisionSet.from_segments([s for s in sups if s.id not in ids])
    if policy == "keep":
        log.warning("%s; keeping them (data.on_overlap=keep)", what)
        return sups
    raise ValueError(f"on_overlap must be error, drop or keep, got {policy!r}")


def _with_supervisions(cuts: CutSet, sup_ids: set[str]) -> CutSet:
    """The cuts whose supervision is among ``sup_ids`` (cut ids need not be supervision ids)."""
    return CutSet.from_cuts(c for c in cuts if c.supervisions and c.supervisions[0].id in sup_ids)


@dataclass
class SavedManifests:
    """What :func:`save_manifests` wrote: the paths, the validated cuts and their summary."""

    prefix: str
    paths: dict[str, Path]
    cuts: CutSet
    summary: dict[str, float]
    unlabelled: int  # cuts without a speaker

    def table(self) -> str:
        """The summary table, and a line saying how many cuts have no speaker when any has none."""
        text = format_summary(self.summary, self.prefix)
        if self.unlabelled:
            text += (f"\n{self.unlabelled} of {int(self.summary['utterances'])} cuts have no speaker "
                     "(they train; speaker labels only measure)")
        return text


def save_manifests(
    out_dir: str | Path,
    prefix: str,
    build: Callable[[], Manifests],
    data_cfg: Mapping[str, Any] | None = None,
    require_speakers: bool = False,
) -> SavedManifests:
    """Remove PREFIX's manifests in ``out_dir``, ``build()`` the new ones, check, validate and write them.

    Args:
        out_dir: the manifest folder (``data/manifests``).
        prefix: the set's name (``train``, ``test``).
        build: makes ``(recordings, supervisions, cuts)``; its errors pass through, after the
            older manifests are gone.
        data_cfg: the complete ``data`` section: ``on_overlap`` and the validation settings.
        require_speakers: every cut must have a speaker (a test set: its trials need them).

    Raises:
        ManifestError: overlapping supervisions (``data.on_overlap=error``), or validation
            problems, each naming the cut and its audio.
    """
    cfg = require_complete("data", data_cfg)
    paths = manifest_paths(out_dir, prefix)
    for old in paths.values():
        if old.exists():
            log.info("replacing %s", old)
            old.unlink()
    recs, sups, cuts = build()
    kept = apply_overlap_policy(sups, cfg["on_overlap"], prefix)
    if len(kept) != len(sups):
        cuts = _with_supervisions(cuts, set(kept.ids))
    cuts = validate_cuts(cuts, cfg, require_speakers=require_speakers)
    if len(cuts) != len(kept):  # validation dropped short cuts: keep the supervisions consistent
        keep = {s.id for c in cuts for s in c.supervisions}
        kept = SupervisionSet.from_segments([s for s in kept if s.id in keep])
    written = write_manifests(out_dir, prefix, recs, kept, cuts)
    unlabelled = sum(1 for c in cuts if not c.supervisions or c.supervisions[0].speaker is None)
    return SavedManifests(prefix, written, cuts, summarize_cuts(cuts), unlabelled)
