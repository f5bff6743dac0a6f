"""Deterministic whole-utterance embedding extraction from a Lhotse cut set.

Each cut's features are its stored features (``cut.has_features``) or log-mel fbank
computed from its audio, then normalised by the same
:class:`~spkssl.features.frontend.FeatureFrontend` the network was trained with
(CMN when its ``features.cmn``); no dither, no augmentation, ``model.eval()`` and
``torch.no_grad()``.  An utterance longer
than ``chunk_seconds`` is cut into equal-length chunks (the last one aligned to
the end) whose embeddings are averaged.  Cuts are visited by increasing duration
and pieces of *equal* length are batched (up to ``max_batch_frames``), so no
padding ever changes an embedding and a rerun gives bit-identical results.

Example:
    >>> from lhotse import CutSet  # doctest: +SKIP
    >>> front = FeatureFrontend.from_config(model_cfg["features"])  # doctest: +SKIP
    >>> ids, emb = extract_cuts(CutSet.from_file("cuts.jsonl.gz"), model_embedder(model), front)  # doctest: +SKIP
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch

from spkssl.data.audio import load_cut_audio
from spkssl.embed.baseline import logmel_stats
from spkssl.features.frontend import FeatureFrontend
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress as bar

log = get_logger(__name__)

# An embedder maps a batch of equal-length feature matrices [B, T, F] to embeddings [B, E].
Embedder = Callable[[np.ndarray], np.ndarray]


class ExtractionError(RuntimeError):
    """A cut cannot be embedded, or the result does not cover the cut set exactly."""


def model_embedder(model: torch.nn.Module, device: str | torch.device = "cpu") -> Embedder:
    """Wrap a network ``[B, T, F] -> [B, E]`` as an :data:`Embedder` (eval mode, no grad)."""
    model.eval()
    device = torch.device(device)

    def embed(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
            return model(x).float().cpu().numpy()

    return embed


def logmel_stats_embedder(batch: np.ndarray) -> np.ndarray:
    """The log-mel-stats baseline as an :data:`Embedder`."""
    return np.stack([logmel_stats(f) for f in batch])


def cut_features(cut: Any, frontend: FeatureFrontend) -> np.ndarray:
    """Stored features of ``cut`` if it has them, else fbank of its audio; then ``frontend.normalise``.

    Raises:
        ExtractionError: naming the cut when its features are empty or unreadable.
    """
    try:
        if cut.has_features:
            feats = np.asarray(cut.load_features(), dtype=np.float32)
        else:
            feats = frontend.fbank_of(load_cut_audio(cut), cut.sampling_rate)
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - audio/feature readers raise many types
        raise ExtractionError(f"cut '{cut.id}': cannot get features: {exc}") from exc
    if feats.ndim != 2 or feats.shape[0] == 0:
        raise ExtractionError(f"cut '{cut.id}' has no feature frames (shape {feats.shape})")
    if feats.shape[1] != frontend.num_mel_bins:
        raise ExtractionError(
            f"cut '{cut.id}': stored features in {cut.features.storage_path} have {feats.shape[1]} dimensions, "
            f"the network expects {frontend.num_mel_bins} (features.num_mel_bins): compute the features with the "
            "network's features section (a separate --data-dir for this tag)")
    return frontend.normalise(feats)


def chunk_starts(num_frames: int, chunk_frames: int) -> list[int]:
    """Start frames of equal chunks covering ``num_frames``; the last chunk ends at the end.

    >>> chunk_starts(250, 100)
    [0, 100, 150]
    >>> chunk_starts(80, 100)
    [0]
    """
    if num_frames <= chunk_frames:
        return [0]
    n = math.ceil(num_frames / chunk_frames)
    return [min(i * chunk_frames, num_frames - chunk_frames) for i in range(n)]


def extract_cuts(
    cuts: Iterable[Any], embedder: Embedder, frontend: FeatureFrontend,
    chunk_seconds: float | None = 20.0, max_batch_frames: int = 20000, progress: bool = True,
) -> tuple[list[str], np.ndarray]:
    """Embed every cut → ``(ids, emb[N, E])`` in the cut set's order.

    Args:
        embedder: maps ``[B, T, F]`` to ``[B, E]`` (:func:`model_embedder`, :func:`logmel_stats_embedder`).
        frontend: fbank for cuts without stored features, and the normalisation of every
            cut's features (use the network's own: ``FeatureFrontend.from_config(model_cfg["features"])``).
        chunk_seconds: chunk length for long utterances; ``None`` embeds whole utterances only.
        max_batch_frames: upper bound on ``B * T`` per call of ``embedder``.

    Raises:
        ExtractionError: duplicate cut ids, unreadable cuts, or a cut left without an embedding.
    """
    cuts = list(cuts)
    ids = [c.id for c in cuts]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ExtractionError(f"cut id '{dup}' occurs more than once in the cut set")
    chunk_frames = None if not chunk_seconds else max(1, int(round(chunk_seconds * 1000.0 / frontend.frame_shift_ms)))
    sums: list[np.ndarray | None] = [None] * len(cuts)
    counts = np.zeros(len(cuts), dtype=np.int64)
    buckets: dict[int, list[tuple[int, np.ndarray]]] = {}

    def flush(length: int) -> None:
        pieces = buckets.pop(length)
        per_batch = max(1, max_batch_frames // length)
        for s in range(0, len(pieces), per_batch):
            group = pieces[s:s + per_batch]
            out = np.asarray(embedder(np.stack([p for _, p in group])), dtype=np.float64)
            for (idx, _), e in zip(group, out):
                sums[idx] = e if sums[idx] is None else sums[idx] + e
                counts[idx] += 1

    order = sorted(range(len(cuts)), key=lambda i: (cuts[i].duration, i))
    for idx in bar(order, desc="extract", unit="cut", enabled=progress):
        feats = cut_features(cuts[idx], frontend)
        starts = [0] if chunk_frames is None else chunk_starts(len(feats), chunk_frames)
        length = len(feats) if len(starts) == 1 else chunk_frames
        for length_done in [k for k in buckets if k < length]:
            flush(length_done)  # visited by duration: no shorter piece will come
        for s in starts:
            buckets.setdefault(length, []).append((idx, feats[s:s + length]))
        if len(buckets[length]) * length >= max_batch_frames:
            flush(length)
    for length in sorted(buckets):
        flush(length)
    missing = [ids[i] for i in np.flatnonzero(counts == 0)]
    if missing:
        raise ExtractionError(f"{len(missing)} cut(s) got no embedding, e.g. {missing[:5]}")
    emb = np.stack([s / c for s, c in zip(sums, counts)]).astype(np.float32)
    bad = ~np.isfinite(emb).all(axis=1)
    if bad.any():
        raise ExtractionError(f"NaN/inf embedding for cut(s) {[ids[i] for i in np.flatnonzero(bad)[:5]]}")
    return ids, emb


def split_indices(num: int, num_parts: int, part: int) -> Sequence[int]:
    """Indices of part ``part`` (1-based) when ``num`` items are split into ``num_parts`` contiguous parts."""
    if not 1 <= part <= num_parts:
        raise ValueError(f"part {part} is not in 1..{num_parts}")
    return np.array_split(np.arange(num), num_parts)[part - 1].tolist()
