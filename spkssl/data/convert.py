"""Convert a cut set's audio once to FLAC (e.g. VoxCeleb2's m4a), so training never decodes AAC.

Reads the input manifest lazily and writes the output manifest incrementally, so a
1M-cut VoxCeleb2 list never sits in memory.  Files already converted are reused,
which makes a killed conversion resumable; the output manifest appears only when
every cut is converted.

Example:
    >>> convert_cuts_audio("data/manifests/vox2_dev_cuts.jsonl.gz",
    ...                    "data/manifests/vox2_dev_flac_cuts.jsonl.gz",
    ...                    "/data/vox2_flac", num_jobs=16)  # doctest: +SKIP
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator

import soundfile as sf
from lhotse import CutSet, MonoCut, Recording
from lhotse.cut import Cut

from spkssl.data.audio import load_cut_audio
from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)


def _target_path(cut_id: str, audio_dir: Path, fmt: str) -> Path:
    """``id00012-21Uxsk56VDQ-00001`` → ``audio_dir/id00012/id00012-21Uxsk56VDQ-00001.flac``."""
    return audio_dir / cut_id.split("-")[0] / f"{cut_id}.{fmt}"


def _convert_one(cut: Cut, audio_dir: Path, fmt: str) -> Cut:
    target = _target_path(cut.id, audio_dir, fmt)
    if not target.is_file():
        samples = load_cut_audio(cut)
        with atomic_path(target) as tmp:
            sf.write(str(tmp), samples, cut.sampling_rate, format=fmt.upper(), subtype="PCM_16")
    recording = Recording.from_file(target, recording_id=cut.id)
    supervisions = [s.with_offset(-cut.start) for s in cut.supervisions]
    for s in supervisions:
        s.recording_id = recording.id
    return MonoCut(
        id=cut.id,
        start=0.0,
        duration=recording.duration,
        channel=0,
        recording=recording,
        supervisions=supervisions,
    )


def _batches(cuts: CutSet, size: int) -> Iterator[list[Cut]]:
    batch: list[Cut] = []
    for cut in cuts:
        batch.append(cut)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _convert_batch(args: tuple[list[Cut], Path, str]) -> list[Cut]:
    batch, audio_dir, fmt = args
    return [_convert_one(c, audio_dir, fmt) for c in batch]


def convert_cuts_audio(
    in_cuts: str | Path,
    out_cuts: str | Path,
    audio_dir: str | Path,
    fmt: str = "flac",
    num_jobs: int = 1,
    batch_size: int = 256,
) -> Path:
    """Convert every cut's audio to ``fmt`` files under ``audio_dir``; write ``out_cuts``."""
    out_cuts = Path(out_cuts)
    if out_cuts.is_file():
        log.info("converted manifest exists, skipping: %s", out_cuts)
        return out_cuts
    audio_dir = Path(audio_dir)
    cuts = CutSet.from_jsonl_lazy(in_cuts)
    log.info("converting audio of %s to %s files under %s (%d jobs)", in_cuts, fmt, audio_dir, num_jobs)
    work = ((b, audio_dir, fmt) for b in _batches(cuts, batch_size))
    with atomic_path(out_cuts) as tmp, CutSet.open_writer(tmp) as writer:
        bar = progress(desc=f"to {fmt}", unit="cut")
        if num_jobs <= 1:
            results = map(_convert_batch, work)
        else:
            pool = ProcessPoolExecutor(num_jobs)
            results = pool.map(_convert_batch, work)
        for converted in results:
            for cut in converted:
                writer.write(cut)
            bar.update(len(converted))
        bar.close()
        if num_jobs > 1:
            pool.shutdown()
    log.info("wrote %s", out_cuts)
    return out_cuts
