"""Embed whole cut sets into folders: in this process, or in parallel parts through a job launcher.

:func:`embed_cutset` is what ``spkssl extract`` does for one cut set (an experiment's
system embeds two: :func:`spkssl.steps.extract.extract_system`), with a trained
round's ``final.pt`` or the untrained log-mel baseline.  With
``nj`` parts the cut set is split into contiguous parts; with a launcher command
(``cmd.sh``'s ``$extract_cmd``) they run as ``spkssl extract-part ... JOB N`` jobs,
otherwise one after another here.  The parts are merged in cut-set order into
``xvector.ark/.scp`` and ``embeddings.npz``, then removed.

Example (three 1 s noise WAVs, an untrained tiny TDNN, two parts run here one after the other):
    >>> import tempfile, soundfile as sf, torch
    >>> from lhotse import CutSet, Recording
    >>> from spkssl.config import load_config
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> d = Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for i in range(3):
    ...     sf.write(d / f"u{i}.wav", 0.1 * rng.standard_normal(16000), 16000)
    >>> CutSet.from_cuts(Recording.from_file(d / f"u{i}.wav").to_cut() for i in range(3)).to_file(d / "cuts.jsonl.gz")
    >>> _ = torch.manual_seed(0)
    >>> from spkssl.config import with_defaults
    >>> model = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}})
    >>> save_final_model(d / "final.pt", build_model(model, 80), {"model": model, "features": {"num_mel_bins": 80}})
    >>> cfg = load_config(None, ["extract.device=cpu"])
    >>> embed_cutset(d / "final.pt", d / "cuts.jsonl.gz", d / "emb", cfg, nj=2)
    True
    >>> ids, emb = read_embeddings(d / "emb" / NPZ_NAME)
    >>> ids, emb.shape, sorted(p.name for p in (d / "emb").iterdir())  # the parts are merged and removed
    (['u0', 'u1', 'u2'], (3, 16), ['embeddings.npz', 'provenance.json', 'xvector.ark', 'xvector.scp'])
    >>> embed_cutset(d / "final.pt", d / "cuts.jsonl.gz", d / "emb", cfg)  # done already: skipped
    False
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.embed.extract import (
    Embedder, ExtractionError, extract_cuts, logmel_stats_embedder, model_embedder, split_indices,
)
from spkssl.embed.io import NPZ_NAME, embeddings_done, read_embeddings, write_embeddings
from spkssl.embed.provenance import PROVENANCE_NAME, Provenance, file_sha256, read_provenance, write_provenance
from spkssl.features.frontend import FeatureFrontend
from spkssl.launch import run_with_launcher
from spkssl.models.io import load_final_model
from spkssl.utils.device import resolve_device
from spkssl.utils.logging import get_logger

log = get_logger(__name__)


def load_embedder(model: str | Path | None, cfg: Mapping[str, Any],
                  device: str | None = None) -> tuple[Embedder, FeatureFrontend, float | None]:
    """``(embedder, front-end, chunk seconds)`` of a ``final.pt``, or of the log-mel baseline when ``model`` is None.

    A network is fed what it was trained on: the front-end comes from the ``features``
    section saved in its ``final.pt``.  The baseline uses ``cfg["features"]`` without CMN
    (CMN would zero its mean half) and whole utterances.
    """
    if model is None:
        front = FeatureFrontend.from_config(cfg["features"]).without_cmn().deterministic()
        return logmel_stats_embedder, front, None

    dev = resolve_device(device or cfg["extract"]["device"])
    net, model_cfg = load_final_model(model, dev)
    front = FeatureFrontend.from_config(model_cfg["features"]).deterministic()
    return model_embedder(net, dev), front, cfg["extract"]["chunk_seconds"]


def embed_part(model: str | Path | None, cuts_path: str | Path, out_dir: str | Path, cfg: Mapping[str, Any],
               device: str | None = None, part: int = 1, num_parts: int = 1) -> None:
    """Embed part ``part`` of ``num_parts`` of the cut set into ``out_dir`` (ark/scp/npz)."""
    from lhotse import CutSet

    embedder, front, chunk = load_embedder(model, cfg, device)
    cuts = CutSet.from_file(cuts_path)
    if num_parts > 1:
        cuts = cuts.to_eager()
        cuts = CutSet.from_cuts(cuts[i] for i in split_indices(len(cuts), num_parts, part))
    ids, emb = extract_cuts(cuts, embedder, front, chunk, int(cfg["extract"]["max_batch_frames"]))
    write_embeddings(out_dir, ids, emb)
    log.info("embedded %d cuts (%s, dim %d) into %s", len(ids), model or "log-mel stats", emb.shape[1], out_dir)


def merge_parts(cuts_path: str | Path, part_dirs: Sequence[Path], out_dir: Path) -> None:
    """Merge part folders into ``out_dir`` in the cut set's order; every cut exactly once."""
    from lhotse import CutSet

    order = [c.id for c in CutSet.from_file(cuts_path)]
    ids: list[str] = []
    rows = []
    for d in part_dirs:
        if not embeddings_done(d):
            raise ExtractionError(f"extraction part {d} did not finish (no {NPZ_NAME}); see its log")
        i, e = read_embeddings(d / NPZ_NAME)
        ids += i
        rows.append(e)
    emb = np.concatenate(rows)
    pos = {u: k for k, u in enumerate(ids)}
    if len(pos) != len(ids):
        raise ExtractionError("the same cut was embedded by two parts")
    missing = [u for u in order if u not in pos]
    if missing or len(ids) != len(order):
        raise ExtractionError(f"{len(missing)} cut(s) have no embedding after merging, e.g. {missing[:5]}")
    write_embeddings(out_dir, order, emb[[pos[u] for u in order]])


def _self_command() -> list[str]:
    """How a job starts this package's CLI: the ``spkssl`` script, or this Python when it is not installed."""
    exe = shutil.which("spkssl")
    return [exe] if exe else [sys.executable, "-c", "from spkssl.cli import cli; cli()"]


def _part_command(model: str | Path | None, cuts_path: str | Path, split: Path, config: Path | None,
                  overrides: Sequence[str], device: str | None, num_parts: int) -> list[str]:
    """``spkssl extract-part ... JOB N``: one launcher job (JOB is replaced by the launcher)."""
    argv = _self_command() + ["extract-part", "--cuts", str(cuts_path), "--out-dir", str(split / "JOB")]
    argv += ["--model", str(model)] if model is not None else ["--method", "logmel-stats"]
    if config is not None:
        argv += ["--config", str(config)]
    for item in overrides:
        argv += ["--set", item]
    if device:
        argv += ["--device", device]
    return argv + ["JOB", str(num_parts)]


def embed_cutset(model: str | Path | None, cuts_path: str | Path, out_dir: str | Path, cfg: Mapping[str, Any], *,
                 nj: int = 1, cmd: str | None = None, device: str | None = None, force: bool = False,
                 config_path: str | Path | None = None, overrides: Sequence[str] = ()) -> bool:
    """Embed every cut of ``cuts_path`` into ``out_dir``; returns False when it was already done (not forced).

    ``config_path``/``overrides`` are what launcher jobs load to get ``cfg`` again.
    A forced run removes the old embeddings first, so a killed rerun never leaves
    stale ones looking finished.
    """
    out = Path(out_dir)
    record = extraction_provenance(model, cuts_path, cfg)
    if embeddings_done(out) and not force:
        have = read_provenance(out)
        if have is None or have.differences(record):
            made = "with no record of what made them" if have is None else f"made by {have.maker()}"
            raise ExtractionError(f"{out} holds embeddings {made}, not by {record.maker()} of {cuts_path}: "
                                  "--force true redoes them")
        log.info("%s already holds these embeddings; skipping (force to redo)", out)
        return False
    for name in (NPZ_NAME, "xvector.scp", "xvector.ark", PROVENANCE_NAME):
        (out / name).unlink(missing_ok=True)
    if nj <= 1 and not cmd:
        write_provenance(out, record)  # before embeddings.npz, the completion marker
        embed_part(model, cuts_path, out, cfg, device)
        return True
    nj = max(nj, 1)
    split = out / f"split{nj}"
    shutil.rmtree(split, ignore_errors=True)
    parts = [split / str(j) for j in range(1, nj + 1)]
    if cmd:
        argv = _part_command(model, cuts_path, split, Path(config_path) if config_path else None, overrides,
                             device, nj)
        run_with_launcher(cmd, out / "log" / "extract.JOB.log", argv, nj)
    else:
        for j, d in enumerate(parts, 1):
            embed_part(model, cuts_path, d, cfg, device, j, nj)
    write_provenance(out, record)
    merge_parts(cuts_path, parts, out)
    shutil.rmtree(split)
    return True


def extraction_provenance(model: str | Path | None, cuts_path: str | Path, cfg: Mapping[str, Any]) -> Provenance:
    """What a folder of extracted embeddings records: the model (or the baseline), the cut set's digest and
    the settings that change the numbers (chunking; the baseline's features)."""
    settings: dict[str, Any] = {"extract.chunk_seconds": None if model is None else cfg["extract"]["chunk_seconds"]}
    if model is None:
        settings["features"] = dict(cfg["features"])
    return Provenance.of(model, [("cuts", file_sha256(cuts_path))], settings)
