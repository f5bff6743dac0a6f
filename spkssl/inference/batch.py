"""``spkssl embed``: many files into one folder of embeddings, written in parts so a killed run resumes.

The items are embedded in fixed parts of ``infer.part_size`` utterances, in their
order; each finished part is written at once (``parts/part-NNNNN.npz``).  A rerun
with the same model, inputs and settings (its ``provenance.json``) keeps the parts
already written and embeds only the rest, so its output is byte for byte the one an
uninterrupted run writes; at the end the parts are merged into ``xvector.ark/.scp``,
``embeddings.npz`` and ``provenance.json``, and removed.  A folder that holds
embeddings of another model, other inputs or other settings is refused (``force``
redoes it).

Example:
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> from spkssl.inference.audio import file_item
    >>> from spkssl.inference.model import load_model
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> from spkssl.config import with_defaults
    >>> cfg = {"model": with_defaults("model", {"name": "tdnn", "embed_dim": 8, "kwargs": {"channels": 16}}),
    ...        "features": {"num_mel_bins": 80}}
    >>> save_final_model(d / "final.pt", build_model(cfg["model"], 80), cfg)
    >>> rng = np.random.default_rng(0)
    >>> for k in range(3):
    ...     sf.write(d / f"u{k}.wav", 0.1 * rng.standard_normal(8000), 16000)
    >>> model = load_model(d / "final.pt", {"part_size": 2})
    >>> items = [file_item(d / f"u{k}.wav") for k in range(3)]
    >>> embed_to_folder(model, items, d / "emb")
    EmbedOutcome(num_items=3, embedded=3, reused=0, skipped=False)
    >>> embed_to_folder(model, items, d / "emb")  # the same request: nothing to do
    EmbedOutcome(num_items=3, embedded=0, reused=0, skipped=True)
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spkssl.embed.io import ARK_NAME, NPZ_NAME, SCP_NAME, embeddings_done, write_embeddings
from spkssl.embed.provenance import (PROVENANCE_NAME, Provenance, ProvenanceError, check_provenance,
                                     read_provenance, write_provenance)
from spkssl.inference.audio import AudioItem
from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger

log = get_logger(__name__)
PARTS = "parts"


@dataclass(frozen=True)
class EmbedOutcome:
    """What :func:`embed_to_folder` did: items asked, embedded now, taken from earlier parts, or skipped."""

    num_items: int
    embedded: int
    reused: int
    skipped: bool


def request_provenance(model: Any, items: Sequence[AudioItem]) -> Provenance:
    """The record of embedding ``items`` with ``model`` (a :class:`~spkssl.inference.model.SpeakerModel`)."""
    settings = {f"infer.{k}": v for k, v in sorted(model.infer.items()) if k not in ("part_size", "threads")}
    return Provenance.of(model.path, [(i.id, i.where) for i in items], settings)


def _part_path(parts: Path, k: int) -> Path:
    return parts / f"part-{k:05d}.npz"


def _clear(out: Path) -> None:
    for name in (NPZ_NAME, SCP_NAME, ARK_NAME, PROVENANCE_NAME):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / PARTS, ignore_errors=True)


def embed_to_folder(model: Any, items: Sequence[AudioItem], out_dir: str | Path, force: bool = False,
                    progress: bool = False) -> EmbedOutcome:
    """Embed ``items`` with ``model`` into ``out_dir`` (ark/scp/npz + provenance), resuming a killed run.

    Raises:
        ProvenanceError: ``out_dir`` holds embeddings (or parts) of another model, other inputs
            or settings, and ``force`` is off.
    """
    out = Path(out_dir)
    wanted = request_provenance(model, items)
    if force:
        _clear(out)
    if embeddings_done(out):
        try:
            if read_provenance(out) is None:
                raise ProvenanceError(f"{out} holds embeddings with no record of what made them")
            check_provenance(out, wanted)
        except ProvenanceError as exc:
            raise ProvenanceError(f"{exc}: --force true replaces them, or choose another --out-dir") from None
        log.info("%s already holds these embeddings (same model, inputs and settings)", out)
        return EmbedOutcome(len(items), 0, 0, True)
    parts = out / PARTS
    size = int(model.infer["part_size"])
    part_record = replace(wanted, settings={**wanted.settings, "infer.part_size": size})
    if (parts / PROVENANCE_NAME).is_file() and any(parts.glob("part-*.npz")):
        try:
            check_provenance(parts, part_record)
        except ProvenanceError as exc:
            raise ProvenanceError(f"{exc} (an unfinished run): --force true starts again") from None
    else:  # nothing finished to keep
        shutil.rmtree(parts, ignore_errors=True)
        for name in (NPZ_NAME, SCP_NAME, ARK_NAME):  # a half-written set from before must not look finished
            (out / name).unlink(missing_ok=True)
        write_provenance(parts, part_record)
    starts = list(range(0, len(items), size))
    done = [k for k in range(len(starts)) if _part_path(parts, k).is_file()]
    if done:
        log.info("%s: resuming, %d of %d part(s) already embedded", out, len(done), len(starts))
    embedded = 0
    for k, s in enumerate(starts):
        if k in done:
            continue
        chunk = items[s:s + size]
        emb = model.embed_items(chunk, progress=progress)
        with atomic_path(_part_path(parts, k)) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, ids=np.asarray([i.id for i in chunk]), embeddings=emb)
        embedded += len(chunk)
    ids, rows = [], []
    for k in range(len(starts)):
        with np.load(_part_path(parts, k), allow_pickle=False) as z:
            ids += [str(i) for i in z["ids"]]
            rows.append(z["embeddings"])
    write_provenance(out, wanted)
    write_embeddings(out, ids, np.concatenate(rows) if rows else np.zeros((0, 0), np.float32))
    shutil.rmtree(parts)
    return EmbedOutcome(len(items), embedded, len(items) - embedded, False)

