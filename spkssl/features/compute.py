"""Compute "knf-fbank" features for a cut set and store them losslessly (one ``.npy`` per cut).

Unlike ``CutSet.compute_and_store_features`` (which silently drops cuts whose
audio cannot be read), every failure here is an error naming the cut and its
file.  Work is split into small batches over ``nj`` processes with one progress
bar; the output cut manifest is written atomically at the very end, and an
existing one means the work is skipped (unless it was made with other options:
then it is an error naming them, see :mod:`spkssl.features.provenance`).

Each cut's features go to ``<storage>/<id[:3]>/<id>.npy``, named after the cut, so a
rerun after a kill overwrites what the killed attempt wrote instead of adding new
files; the manifest records the storage folder as an absolute path, so it loads from
any working folder.

Example:
    >>> compute_and_store("data/manifests/train_cuts.jsonl.gz",
    ...                   "data/manifests/train_cuts_fbank.jsonl.gz",
    ...                   "data/fbank/train", nj=4)  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Mapping

import torch
from lhotse import CutSet, Features
from lhotse.features.base import FeatureExtractor
from lhotse.features.io import NumpyFilesWriter
from lhotse.qa import validate_features
from lhotse.utils import fastcopy

from spkssl.data.audio import AudioError, load_cut_audio
from spkssl.features.extractor import extractor_for
from spkssl.features.fbank import complete_fbank_cfg
from spkssl.features.provenance import check_manifest, write_options
from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)
BATCH_SIZE = 32
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def storage_key(cut_id: str) -> str:
    """The file name of a cut's features: its id, or a hash of it when the id is not a safe file name.

    >>> storage_key("spk001-utt3"), len(storage_key("a/b"))
    ('spk001-utt3', 40)
    """
    return cut_id if _SAFE_KEY.fullmatch(cut_id) else hashlib.sha1(cut_id.encode()).hexdigest()


def compute_cut_features(cut, extractor: FeatureExtractor, writer: NumpyFilesWriter):
    """Extract, store (under the cut's own name) and attach features of one cut; returns the new cut.

    Raises:
        spkssl.data.audio.AudioError: naming the cut id and audio source when loading or extraction fails.
    """
    samples = load_cut_audio(cut)
    try:
        matrix = extractor.extract(samples[None, :], cut.sampling_rate)
        feats = Features(
            type=extractor.name, num_frames=matrix.shape[0], num_features=matrix.shape[1],
            frame_shift=extractor.frame_shift, sampling_rate=cut.sampling_rate, start=cut.start,
            duration=round(samples.shape[0] / cut.sampling_rate, ndigits=8), storage_type=writer.name,
            storage_path=str(writer.storage_path), storage_key=writer.write(storage_key(cut.id), matrix),
            recording_id=cut.recording_id, channels=cut.channel,
        )
        validate_features(feats, feats_data=matrix)
    except Exception as exc:  # noqa: BLE001 - re-raised with the cut named
        raise AudioError(f"fbank failed for cut '{cut.id}': {exc}") from exc
    return fastcopy(cut, features=feats)


def _work(cuts: list, extractor_cfg: dict[str, Any], storage_dir: str, backend: str) -> list:
    torch.set_num_threads(1)
    extractor = extractor_for(backend, extractor_cfg)
    with NumpyFilesWriter(storage_dir) as writer:
        return [compute_cut_features(cut, extractor, writer) for cut in cuts]


def compute_cutset_features(
    cuts: CutSet, storage_dir: str | Path, fbank_cfg: Mapping[str, Any] | None = None, nj: int = 1,
    backend: str = "knf",
) -> CutSet:
    """Compute and store features for every cut (order kept) with ``nj`` processes (``features.backend``)."""
    cut_list = list(cuts)
    cfg = complete_fbank_cfg(fbank_cfg)
    if cfg["snip_edges"]:
        raise ValueError(
            "features.snip_edges=true gives fewer frames than Lhotse's stored-feature "
            "bookkeeping expects (compute_num_frames); use snip_edges=false to store features"
        )
    storage_dir = str(Path(storage_dir).resolve())  # the manifest must load from any working folder
    Path(storage_dir).mkdir(parents=True, exist_ok=True)
    batches = [cut_list[i : i + BATCH_SIZE] for i in range(0, len(cut_list), BATCH_SIZE)]
    out: list = []
    with progress(total=len(cut_list), desc="Computing fbank", unit="cut") as bar:
        if nj <= 1:
            for batch in batches:
                out += _work(batch, cfg, storage_dir, backend)
                bar.update(len(batch))
        else:
            with ProcessPoolExecutor(nj) as ex:
                futures = [ex.submit(_work, batch, cfg, storage_dir, backend) for batch in batches]
                for fut, batch in zip(futures, batches):
                    out += fut.result()
                    bar.update(len(batch))
    return CutSet.from_cuts(out)


def compute_and_store(
    cuts_path: str | Path,
    out_cuts: str | Path,
    storage_dir: str | Path,
    fbank_cfg: Mapping[str, Any] | None = None,
    nj: int = 1,
    force: bool = False,
    backend: str = "knf",
) -> bool:
    """Features for the cuts in ``cuts_path`` → ``storage_dir``; manifest → ``out_cuts`` (``features.backend``).

    Returns:
        ``False`` (and does nothing) when ``out_cuts`` already exists with the same options
        and ``force`` is false, else ``True``.  A forced run removes ``out_cuts`` first, so a
        killed rerun never leaves the old manifest looking finished.

    Raises:
        FeatureMismatch: ``out_cuts`` exists, made with other options, and ``force`` is false.
    """
    out_cuts = Path(out_cuts)
    options = {**complete_fbank_cfg(fbank_cfg), "backend": backend}
    if out_cuts.exists() and not force:
        check_manifest(out_cuts, options, "this command's config")
        log.info("%s exists: skipping fbank computation (force to redo)", out_cuts)
        return False
    out_cuts.unlink(missing_ok=True)
    cuts = CutSet.from_file(cuts_path)
    extractor = extractor_for(backend, complete_fbank_cfg(fbank_cfg)).name
    log.info("computing %s for %s with nj=%d → %s", extractor, cuts_path, nj, storage_dir)
    with_feats = compute_cutset_features(cuts, storage_dir, complete_fbank_cfg(fbank_cfg), nj, backend)
    write_options(out_cuts, options, extractor, Path(cuts_path).resolve())
    with atomic_path(out_cuts) as tmp:
        with_feats.to_file(tmp)
    log.info("wrote %d cuts with features to %s", len(with_feats), out_cuts)
    return True
