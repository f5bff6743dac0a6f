"""Full-state training checkpoints: write atomically, find the newest, prune, average.

A checkpoint ``checkpoints/ckpt-<epoch>-<step>.pt`` holds everything needed to
continue a run bit-for-bit where it stopped: model, optimizer, LR scheduler,
GradScaler, loss module (e.g. AAM class weights), epoch, global step, sampler
position, and the python / numpy / torch (CPU and CUDA) RNG states.

Example:
    >>> import tempfile, pathlib, torch
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> p = save_checkpoint(d, {"model": torch.nn.Linear(2, 2).state_dict(), "epoch": 0, "step": 5})
    >>> p.name, newest_checkpoint(d).name
    ('ckpt-0-5.pt', 'ckpt-0-5.pt')
"""
from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

_NAME = re.compile(r"^ckpt-(\d+)-(\d+)\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or does not fit the model."""


def checkpoint_name(epoch: int, step: int) -> str:
    """``ckpt-<epoch>-<step>.pt``."""
    return f"ckpt-{int(epoch)}-{int(step)}.pt"


def list_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Checkpoints in ``ckpt_dir`` ordered by global step (oldest first); temporary files ignored."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = []
    for p in ckpt_dir.iterdir():
        m = _NAME.match(p.name)
        if m:
            found.append((int(m.group(2)), int(m.group(1)), p))
    return [p for _, _, p in sorted(found)]


def newest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The checkpoint with the highest global step, or ``None``."""
    ckpts = list_checkpoints(ckpt_dir)
    return ckpts[-1] if ckpts else None


def rng_state() -> dict[str, Any]:
    """Current python / numpy / torch (and CUDA, when present) RNG states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore states captured by :func:`rng_state` (a checkpoint loaded onto a GPU is fine)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())  # map_location may have moved the ByteTensor
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_checkpoint(ckpt_dir: str | Path, state: Mapping[str, Any]) -> Path:
    """Write ``state`` (must hold ``epoch`` and ``step``) atomically; return its path."""
    path = Path(ckpt_dir) / checkpoint_name(state["epoch"], state["step"])
    with atomic_path(path) as tmp:
        torch.save(dict(state), tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (error names the file)."""
    try:
        # Full-state checkpoints hold numpy RNG state and python objects: our own files, so weights_only=False.
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc


def load_newest_readable(ckpt_dir: str | Path, map_location: str | torch.device = "cpu",
                         keep_aside: bool = True) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that can be read, as ``(path, state)``; None when there is none.

    An unreadable checkpoint (e.g. cut short by a full disk) is never deleted: with
    ``keep_aside`` (the one process of a DDP job that writes checkpoints) it is renamed
    to ``<name>.corrupt``, kept for inspection and neither resumed from nor overwritten
    by the rerun, with a warning naming it; then the previous one is tried.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_checkpoint(d, {"epoch": 1, "step": 3})
    >>> _ = (d / "ckpt-1-4.pt").write_bytes(b"not a checkpoint")
    >>> path, state = load_newest_readable(d)
    >>> path.name, state["step"], sorted(p.name for p in d.iterdir())
    ('ckpt-1-3.pt', 3, ['ckpt-1-3.pt', 'ckpt-1-4.pt.corrupt'])
    """
    for path in reversed(list_checkpoints(ckpt_dir)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as exc:
            if not keep_aside:
                continue
            kept = path.with_name(path.name + ".corrupt")
            n = 1
            while kept.exists():
                n, kept = n + 1, path.with_name(f"{path.name}.corrupt{n}")
            path.rename(kept)
            log.warning("%s; kept it as %s and trying the previous checkpoint", exc, kept)
    return None


def prune_checkpoints(ckpt_dir: str | Path, keep_last: int, protect: Iterable[str | Path] = ()) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints, never those in ``protect``; return deleted."""
    keep = {Path(p).name for p in protect}
    ckpts = list_checkpoints(ckpt_dir)
    old = ckpts[: max(0, len(ckpts) - max(1, int(keep_last)))]
    removed = [p for p in old if p.name not in keep]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _section(state: Mapping[str, Any], key: str, prefix: str, path: str | Path) -> dict[str, torch.Tensor]:
    """``state[key]``, restricted to the names under ``prefix`` (the prefix removed)."""
    section = state[key]
    if not prefix:
        return dict(section)
    out = {name[len(prefix):]: t for name, t in section.items() if name.startswith(prefix)}
    if not out:
        raise CheckpointError(f"{path}: no '{prefix}*' weights in its '{key}' state")
    return out


def average_model_states(paths: Iterable[str | Path], key: str = "model", prefix: str = "") -> dict[str, torch.Tensor]:
    """Element-wise mean of the ``key`` state dicts of several checkpoints (integer buffers: newest).

    ``prefix`` keeps only the names under it, without it (e.g. ``key="loss", prefix="teacher."``:
    the DINO teacher network inside the loss state).
    """
    paths = list(paths)
    if not paths:
        raise CheckpointError("no checkpoints to average")
    avg: dict[str, torch.Tensor] = {}
    for i, p in enumerate(paths):
        state = _section(load_checkpoint(p), key, prefix, p)
        if i and set(state) != set(avg):
            raise CheckpointError(f"{p}: parameter names differ from {paths[0]}")
        for name, t in state.items():
            if torch.is_floating_point(t):
                avg[name] = t.double() if i == 0 else avg[name] + t.double()
            else:
                avg[name] = t.clone()  # e.g. BatchNorm num_batches_tracked
    ref = _section(load_checkpoint(paths[-1]), key, prefix, paths[-1])
    return {n: (t / len(paths)).to(ref[n].dtype) if torch.is_floating_point(ref[n]) else t for n, t in avg.items()}
