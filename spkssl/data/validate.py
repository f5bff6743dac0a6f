"""Check a cut set before it is used, and summarise it in a table.

Checks: duplicate cut ids; missing or unreadable audio files (header read, or a
full decode with ``check_audio="decode"``); zero or too-short durations
(``min_duration``; ``on_short`` = ``error`` or ``drop``); unexpected sampling
rate (``on_sampling_rate_mismatch`` = ``resample`` through Lhotse's
``cut.resample`` or ``refuse``); with ``require_speakers``, cuts without a speaker
(a test set's trials need every one).  All problems are collected and reported
together, each naming the cut id and its audio.

Example:
    >>> from lhotse import CutSet
    >>> cuts = validate_cuts(CutSet.from_file("train_cuts.jsonl.gz"))  # doctest: +SKIP
    >>> print(format_summary(summarize_cuts(cuts)))  # doctest: +SKIP
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import soundfile as sf
from lhotse import CutSet

from spkssl.config import require_complete
from spkssl.data.audio import describe_source, load_cut_audio, read_failure
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)

MAX_LISTED = 20


class ManifestError(ValueError):
    """A manifest failed validation; the message lists each problem with its cut id and file."""


def _check_audio(cut, mode: str) -> str | None:
    """Return a problem description for ``cut``'s audio, or ``None`` when it is fine."""
    try:
        if mode == "decode":
            load_cut_audio(cut)
            return None
        for src in cut.recording.sources:
            if src.type == "file":
                if not Path(src.source).is_file():
                    return f"audio file missing: {src.source}"
                info = sf.info(src.source)
                if info.frames <= 0:
                    return f"audio file is empty: {src.source}"
    except Exception as exc:  # noqa: BLE001 - any reader error means unreadable
        return f"audio unreadable ({describe_source(cut)}): {read_failure(exc)}"
    return None


def validate_cuts(cuts: CutSet, cfg: Mapping[str, Any] | None = None, require_speakers: bool = False) -> CutSet:
    """Validate ``cuts`` and return the (possibly resampled / filtered) cut set.

    Args:
        cuts: an eager or lazy cut set (it is loaded into memory).
        cfg: validation settings: the complete ``data`` config section.
        require_speakers: a cut whose first supervision has no speaker is a problem.

    Raises:
        ManifestError: listing every problem (cut id + audio), up to ``MAX_LISTED`` lines.
    """
    c = require_complete("data", cfg)
    if c["on_short"] not in ("error", "drop"):
        raise ValueError(f"on_short must be 'error' or 'drop', got {c['on_short']!r}")
    if c["on_sampling_rate_mismatch"] not in ("resample", "refuse"):
        raise ValueError(
            f"on_sampling_rate_mismatch must be 'resample' or 'refuse', got "
            f"{c['on_sampling_rate_mismatch']!r}"
        )
    if c["check_audio"] not in ("none", "header", "decode"):
        raise ValueError(f"check_audio must be none/header/decode, got {c['check_audio']!r}")
    cut_list = list(cuts)
    problems: list[str] = []
    counts = Counter(cut.id for cut in cut_list)
    for cid, n in counts.items():
        if n > 1:
            problems.append(f"duplicate cut id '{cid}' ({n} times)")

    if require_speakers:
        problems += [f"cut '{cut.id}' ({describe_source(cut)}) has no speaker; trials over this set need one"
                     for cut in cut_list if not cut.supervisions or cut.supervisions[0].speaker is None]

    if c["check_audio"] != "none" and cut_list:
        with ThreadPoolExecutor(max(1, int(c["num_workers"]))) as ex:
            results = list(progress(
                ex.map(lambda cut: _check_audio(cut, c["check_audio"]), cut_list),
                total=len(cut_list), desc="Checking audio", unit="cut", leave=False,
            ))
        problems += [f"cut '{cut.id}': {msg}" for cut, msg in zip(cut_list, results) if msg]

    keep, dropped, target_sr = [], 0, int(c["sampling_rate"])
    for cut in cut_list:
        if cut.duration <= 0 or cut.duration < float(c["min_duration"]):
            if cut.duration > 0 and c["on_short"] == "drop":
                dropped += 1
                continue
            problems.append(
                f"cut '{cut.id}' ({describe_source(cut)}): duration {cut.duration:.3f}s "
                f"< min_duration {float(c['min_duration'])}s"
            )
            continue
        if cut.sampling_rate != target_sr:
            if c["on_sampling_rate_mismatch"] == "refuse":
                problems.append(
                    f"cut '{cut.id}' ({describe_source(cut)}): sampling rate "
                    f"{cut.sampling_rate} Hz, expected {target_sr} Hz"
                )
                continue
            cut = cut.resample(target_sr)
        keep.append(cut)
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise ManifestError(f"{len(problems)} problem(s) in the manifest:\n  {listed}{more}")
    if dropped:
        log.warning("dropped %d cut(s) shorter than %.2fs", dropped, float(c["min_duration"]))
    return CutSet.from_cuts(keep)


def summarize_cuts(cuts: CutSet) -> dict[str, float]:
    """Speakers, utterances, hours and duration percentiles (seconds) of a cut set."""
    durs = np.array([cut.duration for cut in cuts], dtype=np.float64)
    speakers = {s.speaker for cut in cuts for s in cut.supervisions if s.speaker is not None}
    out: dict[str, float] = {
        "speakers": len(speakers), "utterances": int(durs.size), "hours": float(durs.sum() / 3600),
    }
    names = ("min", "p5", "p50", "p95", "max")
    pct = np.percentile(durs, [0, 5, 50, 95, 100]) if durs.size else [0.0] * 5
    out.update({n: float(v) for n, v in zip(names, pct)})
    return out


def format_summary(summary: Mapping[str, float], name: str = "") -> str:
    """A two-line fixed-width table of :func:`summarize_cuts` output."""
    cols = ["set", "speakers", "utterances", "hours", "min", "p5", "p50", "p95", "max"]
    vals = [name or "-", f"{int(summary['speakers'])}", f"{int(summary['utterances'])}",
            f"{summary['hours']:.2f}"] + [f"{summary[k]:.2f}" for k in cols[4:]]
    widths = [max(len(a), len(b)) for a, b in zip(cols, vals)]
    row = lambda xs: "  ".join(x.rjust(w) for x, w in zip(xs, widths))  # noqa: E731
    return row(cols) + "\n" + row(vals)
