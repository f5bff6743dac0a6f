"""The decision a model carries: ``verify.json`` + ``verify.npz`` beside its ``final.pt``.

``spkssl score --exp E --system round<r>`` ends by calling :func:`write_verify_sidecar`:
for every back-end it scored, the sidecar stores

- the **threshold**: the EER threshold (Kaldi ``compute-eer``'s) of the system's scores on
  its first validation list (``inputs.val_trials``: training speakers whose labels only
  measure, never the test list), with the list, its EER and trial count;
- the fitted **back-end** itself (the training mean for cosine, the whitening mean and
  transform, the AS-norm cohort, the LDA+PLDA model): the object that scored the recipe's
  lists, stored as its arrays in ``verify.npz``, so a model scores as the recipe did.

:func:`read_verify_sidecar` loads it again (``spkssl verify``,
:meth:`spkssl.inference.model.SpeakerModel.verify`).

Example:
    >>> import tempfile
    >>> from spkssl.scoring import fit_backend
    >>> d = Path(tempfile.mkdtemp())
    >>> from spkssl.config import with_defaults
    >>> cosine = fit_backend("cosine", None, with_defaults("score", {"mean_sub": False}))
    >>> val = {"backend": "cosine", "name": "val", "trials": "val.trials", "eer": 5.0, "num_trials": 10,
    ...        "thresholds": {"eer_kaldi": 0.25}}
    >>> write_verify_sidecar(d, "round1", "final.pt", [val], {"cosine": cosine}, {}, d / "none.npz").name
    'verify.json'
    >>> read_verify_sidecar(d).threshold("cosine")[0]
    0.25
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.scoring.backends import backend_class, load_backend
from spkssl.scoring.base import Backend
from spkssl.utils.io import atomic_path, write_json_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

VERIFY_JSON = "verify.json"
VERIFY_NPZ = "verify.npz"
#: which threshold of :func:`spkssl.scoring.metrics.compute_metrics` a model carries
THRESHOLD_KIND = "eer_kaldi"
#: how the embeddings behind a threshold were made (infer.vad.name other than none departs from it)
FRONT_END = "whole utterances, no VAD, as spkssl extract embeds them"


class SidecarError(ValueError):
    """A ``verify.json`` / ``verify.npz`` that is missing what a command needs (the file is named)."""


@dataclass
class Sidecar:
    """A model's back-ends and thresholds, as read from its ``verify.json``."""

    path: Path
    info: dict[str, Any]
    backends: dict[str, Backend] = field(default_factory=dict)

    @property
    def default_backend(self) -> str:
        """The first back-end of the recipe's ``score.backends`` that was stored."""
        return str(self.info["default_backend"])

    def backend(self, name: str | None) -> Backend:
        """Back-end ``name`` (None: the default); the error lists the stored ones."""
        name = name or self.default_backend
        backend_class(name)  # an unknown name lists the registered back-ends
        if name not in self.backends:
            raise SidecarError(f"{self.path}: no back-end '{name}' stored (it has {sorted(self.backends)}); "
                               f"score the system with --backend {name} to add it")
        return self.backends[name]

    def threshold(self, name: str | None) -> tuple[float | None, str]:
        """``(threshold, where it comes from)`` of back-end ``name`` (None: not measured)."""
        name = name or self.default_backend
        entry = self.info["backends"].get(name) or {}
        thr = entry.get("threshold")
        if thr is None:
            return None, f"{self.path}: no validation trials, so no threshold for {name}"
        m = entry["measured_on"]
        return float(thr), (f"EER threshold of {m['name']} ({m['num_trials']} trials, EER {m['eer']:.2f} %, "
                            f"{name}) from {self.path}")


def write_verify_sidecar(folder: Path, system: str, model: str, val_results: Sequence[Mapping[str, Any]],
                         backends: Mapping[str, Backend], score_cfg: Mapping[str, Any],
                         train_embeddings: Path) -> Path | None:
    """Write ``<folder>/verify.{json,npz}``: the fitted ``backends`` and their thresholds on a validation list.

    ``val_results`` are ``spkssl score``'s results of one validation list (one per
    back-end); ``backends`` the very objects that scored them, stored as they are (no
    refit).  Returns the JSON's path, or None when no validation list was scored.
    """
    val = [r for r in val_results if r["backend"] in backends]
    if not val:
        log.info("%s: no validation list scored (inputs.val_trials), so no verify threshold", system)
        return None
    info: dict[str, Any] = {"system": system, "model": model, "threshold_kind": THRESHOLD_KIND,
                            "front_end": FRONT_END, "default_backend": val[0]["backend"], "score": dict(score_cfg),
                            "backends": {}}
    arrays: dict[str, np.ndarray] = {}
    for r in val:
        info["backends"][r["backend"]] = {
            "threshold": float(r["thresholds"][THRESHOLD_KIND]),
            "measured_on": {"name": r["name"], "trials": r["trials"], "eer": float(r["eer"]),
                            "num_trials": int(r["num_trials"])},
            "sources": dict(r.get("sources") or {}),
        }
        arrays.update({f"{r['backend']}.{k}": v for k, v in backends[r["backend"]].arrays().items()})
    _keep_earlier(folder, train_embeddings, info, arrays)
    with atomic_path(folder / VERIFY_NPZ) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    out = folder / VERIFY_JSON
    write_json_atomic(out, info)
    log.info("%s: verify thresholds (%s) in %s", system, ", ".join(
        f"{b} {v['threshold']:.4f}" for b, v in info["backends"].items()), out)
    return out


def _keep_earlier(folder: Path, train_embeddings: Path, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Keep the back-ends of an earlier sidecar that this scoring did not redo, unless the
    system's training embeddings are newer than it (then they are stale)."""
    try:
        old = read_verify_sidecar(folder)
    except SidecarError:
        return
    if old is None or (train_embeddings.is_file()
                       and train_embeddings.stat().st_mtime > old.path.with_name(VERIFY_NPZ).stat().st_mtime):
        return
    for name, backend in old.backends.items():
        if name not in info["backends"]:
            info["backends"][name] = old.info["backends"][name]
            arrays.update({f"{name}.{k}": v for k, v in backend.arrays().items()})


def read_verify_sidecar(folder_or_json: str | Path) -> Sidecar | None:
    """The sidecar in a model's folder (or at a ``verify.json`` path); None when there is none.

    Raises:
        SidecarError: a ``verify.json`` whose ``verify.npz`` is missing or lacks a back-end.
    """
    path = Path(folder_or_json)
    path = path / VERIFY_JSON if path.is_dir() else path
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SidecarError(f"{path}: not a verify.json: {exc}") from exc
    npz = path.with_name(VERIFY_NPZ)
    if not npz.is_file():
        raise SidecarError(f"{path}: its back-end statistics {npz} are missing (copy both files with the model)")
    backends = {}
    with np.load(npz, allow_pickle=False) as data:
        for name in info.get("backends", {}):
            prefix = f"{name}."
            found = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
            if not found:
                raise SidecarError(f"{npz}: no statistics of back-end '{name}' that {path} lists")
            backends[name] = load_backend(name, found)
    return Sidecar(path, info, backends)
