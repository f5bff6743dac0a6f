"""Any Lhotse corpus → the recordings, supervisions and cuts spkssl's stages read.

Three ways in, one result: one cut per supervision, cut id == supervision id (for a cut
set: its own cut ids), each cut's speaker taken from its supervision when there is one.

* :func:`from_manifests`: what ``lhotse prepare <recipe> CORPUS OUT`` writes, one or more
  recordings manifests and the matching supervisions manifests (merged).  A recordings
  manifest alone is an unlabelled corpus: one cut per recording, no speaker.
* :func:`from_cut_sets`: one or more cut sets (merged), each cut with at most one supervision.
* :func:`run_recipe`: calls ``lhotse.recipes.prepare_<name>(corpus_dir, ...)`` itself and
  keeps the chosen parts (e.g. ``train-clean-100`` of LibriSpeech); nothing is downloaded.

Speakers are optional: an unlabelled corpus trains, labels only measure.  What would make
the cuts wrong is an error naming the manifest and the id: a supervision of a recording
that is not there, one that reaches past its recording's end or names a channel it lacks,
duplicate ids, a cut with several supervisions.  Overlapping supervisions, the sampling
rate and cuts without a speaker on a test set are checked when the manifests are saved
(:func:`spkssl.data.manifests.save_manifests`).

Example:
    >>> recs, sups, cuts = run_recipe("librispeech", "/corpora/LibriSpeech",
    ...                               parts=["test-clean"])  # doctest: +SKIP
    >>> recs, sups, cuts = from_manifests(["librispeech_recordings_test-clean.jsonl.gz"],
    ...                                   ["librispeech_supervisions_test-clean.jsonl.gz"])  # doctest: +SKIP
"""
from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import lhotse.recipes as recipes
from lhotse import CutSet, RecordingSet, SupervisionSegment, SupervisionSet, load_manifest
from lhotse.cut import MonoCut
from lhotse.utils import fastcopy

from spkssl.data.manifests import Manifests, cut_of_supervision
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

END_TOLERANCE = 0.02  # seconds a supervision may reach past its recording's end (rounding of durations)
PART_PARAMETERS = ("dataset_parts", "parts", "subsets", "splits")  # how lhotse's recipes name their parts


class LhotsePrepError(ValueError):
    """Lhotse manifests or a recipe's output cannot become spkssl's cuts (the message names file and id)."""


def _load(path: str | Path, kind: type, what: str) -> Any:
    try:
        manifest = load_manifest(path)
    except Exception as exc:  # noqa: BLE001 - lhotse raises many types for a bad file
        raise LhotsePrepError(f"{path}: cannot read it as a Lhotse manifest: {exc}") from exc
    if not isinstance(manifest, kind):
        raise LhotsePrepError(f"{path}: expected {what}, got a {type(manifest).__name__}")
    return manifest


def _unique(items: Iterable[Any], what: str, where: Callable[[Any], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if item.id in out:
            raise LhotsePrepError(f"duplicate {what} id '{item.id}' ({where(item)})")
        out[item.id] = item
    return out


def build_cuts(recordings: RecordingSet, supervisions: SupervisionSet | None, where: str = "") -> Manifests:
    """One cut per supervision (per recording without ``supervisions``), after checking the pair.

    Args:
        recordings: the corpus's recordings.
        supervisions: their supervisions (speaker optional), or None for an unlabelled
            corpus of one utterance per recording.
        where: the manifests' names, for the messages.

    Raises:
        LhotsePrepError: duplicate ids; a supervision whose recording is missing, which starts
            before 0 or ends past its recording, or names a channel the recording lacks.

    Example:
        >>> from lhotse import Recording
        >>> from lhotse.audio import AudioSource
        >>> rec = Recording(id="r", sources=[AudioSource("file", [0], "r.wav")], sampling_rate=16000,
        ...                 num_samples=32000, duration=2.0)
        >>> _, _, cuts = build_cuts(RecordingSet.from_recordings([rec]), None)
        >>> [(c.id, c.duration, c.supervisions[0].speaker) for c in cuts]
        [('r', 2.0, None)]
    """
    at = f" in {where}" if where else ""
    recs = _unique(recordings, "recording", lambda r: f"recordings{at}")
    if supervisions is None:
        sups = [SupervisionSegment(id=r.id, recording_id=r.id, start=0.0, duration=r.duration, channel=0)
                for r in recs.values()]
        log.info("no supervisions%s: one unlabelled cut per recording (%d)", at, len(sups))
    else:
        sups = list(_unique(supervisions, "supervision", lambda s: f"supervisions{at}").values())
    for sup in sups:
        rec = recs.get(sup.recording_id)
        if rec is None:
            raise LhotsePrepError(f"supervision '{sup.id}'{at}: its recording '{sup.recording_id}' is not in "
                                  "the recordings")
        if isinstance(sup.channel, list):
            raise LhotsePrepError(f"supervision '{sup.id}'{at} spans channels {sup.channel}; spkssl's cuts "
                                  "are one channel each")
        if sup.channel not in rec.channel_ids:
            raise LhotsePrepError(f"supervision '{sup.id}'{at}: channel {sup.channel} is not among recording "
                                  f"'{rec.id}''s channels {rec.channel_ids}")
        if sup.start < 0 or sup.duration <= 0 or sup.end > rec.duration + END_TOLERANCE:
            raise LhotsePrepError(f"supervision '{sup.id}'{at}: span {sup.start:.3f}-{sup.end:.3f} s does not "
                                  f"fit recording '{rec.id}' (0-{rec.duration:.3f} s)")
    used = {s.recording_id for s in sups}
    if len(used) < len(recs):
        log.warning("%d recording(s)%s have no supervision and are left out, e.g. '%s'",
                    len(recs) - len(used), at, next(r for r in recs if r not in used))
    cuts = [cut_of_supervision(recs[s.recording_id], _fit(s, recs[s.recording_id].duration)) for s in sups]
    return (RecordingSet.from_recordings(r for r in recs.values() if r.id in used),
            SupervisionSet.from_segments(sups), CutSet.from_cuts(cuts))


def _fit(sup: SupervisionSegment, rec_duration: float) -> SupervisionSegment:
    """``sup`` trimmed to its recording when it reaches past the end by rounding only."""
    if sup.end <= rec_duration:
        return sup
    return fastcopy(sup, duration=rec_duration - sup.start)


def from_manifests(recordings: Sequence[str | Path], supervisions: Sequence[str | Path] = ()) -> Manifests:
    """Recordings and supervisions manifest files (each merged in order) → checked cuts.

    Raises:
        LhotsePrepError: a file that is not the manifest it is given as, or :func:`build_cuts`'s errors.
    """
    if not recordings:
        raise LhotsePrepError("give at least one recordings manifest")
    recs = [r for path in recordings for r in _load(path, RecordingSet, "a recordings manifest")]
    sups = [s for path in supervisions for s in _load(path, SupervisionSet, "a supervisions manifest")]
    where = ", ".join(str(p) for p in (*recordings, *supervisions))
    return build_cuts(RecordingSet.from_recordings(recs),
                      SupervisionSet.from_segments(sups) if supervisions else None, where)


def from_cut_sets(paths: Sequence[str | Path]) -> Manifests:
    """Cut set files (merged in order) → cuts with their own ids, and the manifests behind them.

    A cut without a supervision gets one over the whole cut, without a speaker.

    Raises:
        LhotsePrepError: a file that is not a cut set; a cut that is not a single-channel
            cut with a recording, or has several supervisions; duplicate cut ids.
    """
    if not paths:
        raise LhotsePrepError("give at least one cut set")
    cuts, sups, recs = [], [], {}
    for path in paths:
        for cut in _load(path, CutSet, "a cut set"):
            if not isinstance(cut, MonoCut) or not cut.has_recording:
                raise LhotsePrepError(f"{path}: cut '{cut.id}' is a {type(cut).__name__}"
                                      f"{'' if cut.has_recording else ' without a recording'}; give "
                                      "single-channel cuts of recordings")
            if len(cut.supervisions) > 1:
                raise LhotsePrepError(f"{path}: cut '{cut.id}' has {len(cut.supervisions)} supervisions; spkssl "
                                      "trains one speaker per cut: give the recordings and supervisions instead "
                                      "(one cut per supervision), or trim the cuts to their supervisions")
            if not cut.supervisions:
                sup = SupervisionSegment(id=cut.id, recording_id=cut.recording_id, start=0.0,
                                         duration=cut.duration, channel=cut.channel)
                cut = fastcopy(cut, supervisions=[sup])
            sups.append(cut.supervisions[0].with_offset(cut.start))
            recs.setdefault(cut.recording_id, cut.recording)
            cuts.append(cut)
    _unique(cuts, "cut", lambda c: "cut sets " + ", ".join(map(str, paths)))
    return RecordingSet.from_recordings(recs.values()), SupervisionSet.from_segments(sups), CutSet.from_cuts(cuts)


def recipe_function(name: str) -> Callable[..., Any]:
    """``lhotse.recipes.prepare_<name>``.

    Raises:
        LhotsePrepError: naming the closest recipes when there is none of that name.
    """
    fn = getattr(recipes, f"prepare_{name}", None)
    if fn is None or not callable(fn):
        known = sorted(n[len("prepare_"):] for n in dir(recipes) if n.startswith("prepare_"))
        close = difflib.get_close_matches(name, known, n=3)
        raise LhotsePrepError(f"lhotse has no recipe '{name}' (no lhotse.recipes.prepare_{name})"
                              + (f"; closest: {', '.join(close)}" if close else ""))
    return fn


def run_recipe(
    name: str,
    corpus_dir: str | Path,
    parts: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    num_jobs: int = 1,
    output_dir: str | Path | None = None,
) -> Manifests:
    """Run ``lhotse.recipes.prepare_<name>`` on ``corpus_dir`` and build the cuts of ``parts`` (merged).

    Args:
        name: the recipe, e.g. ``librispeech``.
        corpus_dir: the corpus, already downloaded (its first argument).
        parts: the parts to keep, e.g. ``["train-clean-100", "train-clean-360"]``; passed to the
            recipe as its ``dataset_parts`` (or ``parts``, ``subsets``, ``splits``) when it has
            one.  Empty: the recipe's only part, or its whole output when it has no parts.
        options: further keyword arguments of the recipe (``{"normalize_text": "lower"}``).
        num_jobs: passed as ``num_jobs`` when the recipe takes it.
        output_dir: passed as ``output_dir`` when the recipe requires one (it writes its own
            manifests there).  Otherwise the recipe writes nothing and reads the corpus anew each
            time: lhotse reuses manifests it finds in its output folder, which would hide a
            changed corpus from a forced rerun.

    Raises:
        LhotsePrepError: an unknown recipe or option, a part the recipe did not return (the
            message lists those it did), or an output that is not recordings and supervisions.
    """
    fn = recipe_function(name)
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = dict(options or {})
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        raise LhotsePrepError(f"recipe '{name}' has no option {', '.join(unknown)}; it takes "
                              f"{', '.join(list(params)[1:])}")
    part_param = next((p for p in PART_PARAMETERS if p in params), None)
    if parts and part_param and part_param not in kwargs:
        kwargs[part_param] = list(parts)
    if "num_jobs" in params and "num_jobs" not in kwargs:
        kwargs["num_jobs"] = int(num_jobs)
    out_param = params.get("output_dir")
    if out_param is not None and out_param.default is inspect.Parameter.empty and "output_dir" not in kwargs:
        if output_dir is None:
            raise LhotsePrepError(f"recipe '{name}' needs an output folder for its own manifests")
        kwargs["output_dir"] = str(output_dir)
    log.info("lhotse.recipes.prepare_%s(%s, %s)", name, corpus_dir, ", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
    try:
        result = fn(str(corpus_dir), **kwargs)
    except (AssertionError, FileNotFoundError, ValueError) as exc:
        hint = f" (is each of {', '.join(parts)} a part it finds there?)" if parts else ""
        raise LhotsePrepError(f"lhotse recipe '{name}' on {corpus_dir}: {exc}{hint}") from exc
    chosen = _select_parts(result, parts, name)
    recs = [r for rec_set, _ in chosen.values() for r in rec_set]
    sups = [s for _, sup_set in chosen.values() if sup_set is not None for s in sup_set]
    labelled = any(sup_set is not None for _, sup_set in chosen.values())
    return build_cuts(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups) if labelled else None,
                      f"recipe {name}, {'parts ' + ', '.join(chosen) if parts else 'its output'}")


def _pair(value: Any) -> tuple[RecordingSet, SupervisionSet | None] | None:
    """``(recordings, supervisions or None)`` of one part of a recipe's output, or None if it is not one."""
    if not isinstance(value, Mapping):
        return None
    recs = value.get("recordings", value.get("audio"))
    if not isinstance(recs, RecordingSet):
        return None
    sups = value.get("supervisions")
    return recs, sups if isinstance(sups, SupervisionSet) else None


def _select_parts(result: Any, parts: Sequence[str], name: str) -> dict[str, tuple[RecordingSet, SupervisionSet | None]]:
    whole = _pair(result)
    if whole is not None:
        if parts:
            raise LhotsePrepError(f"recipe '{name}' returned one set, no parts to choose {list(parts)} from")
        return {"all": whole}
    if not isinstance(result, Mapping):
        raise LhotsePrepError(f"recipe '{name}' returned {type(result).__name__}, not recordings and supervisions")
    found = {str(k): p for k, v in result.items() if (p := _pair(v)) is not None}
    if not found:
        raise LhotsePrepError(f"recipe '{name}' returned no recordings (keys: {', '.join(map(str, result))})")
    if not parts:
        if len(found) > 1:
            raise LhotsePrepError(f"recipe '{name}' returned the parts {', '.join(sorted(found))}: choose with --part")
        return found
    missing = [p for p in parts if p not in found]
    if missing:
        raise LhotsePrepError(f"recipe '{name}' returned no part {', '.join(missing)}; it returned "
                              f"{', '.join(sorted(found)) or 'none'} (is the part under the corpus folder?)")
    return {p: found[p] for p in parts}
