"""The decision a model carries: ``verify.json`` + ``verify.npz`` beside its ``final.pt``.

``spkssl score --exp E --system round<r>`` ends by calling :func:`write_verify_sidecar`:
for every back-end it scored, the sidecar stores

- the **threshold**: the EER threshold (Kaldi ``compute-eer``'s) of the system's scores on
  its first validation list (``inputs.val_trials``: training speakers whose labels only
  measure, never the test list), with the list, its EER and trial count;
- the back-end's **training statistics** (the training mean for cosine, the whitening mean
  and transform, the AS-norm cohort, the LDA+PLDA model), fitted from the same embeddings and
  labels the recipe scored with (named in its results), in ``verify.npz``.

Before writing, the stored back-end rescores the validation list and must give the
recipe's scores (``scores/<list>.<backend>.score``) to their six printed decimals; the
largest difference is recorded.  :func:`read_verify_sidecar` loads it again
(``spkssl verify``, :meth:`spkssl.inference.model.SpeakerModel.verify`).

Example:
    >>> # score_system(exp, exp.system("round2")) -> round2/verify.json, round2/verify.npz
    >>> # read_verify_sidecar(Path("exp/mini/round2")).threshold("cosine")
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.inference.backends import FittedBackend, backend_from_arrays, fit_backend
from spkssl.utils.io import atomic_path, write_json_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

JSON_NAME = "verify.json"
NPZ_NAME = "verify.npz"
#: which threshold of :func:`spkssl.scoring.metrics.compute_metrics` a model carries
THRESHOLD_KIND = "eer_kaldi"
#: largest |stored back-end - recipe| score difference accepted (the score files print 6 decimals)
REPRODUCE_TOLERANCE = 2e-6


class SidecarError(ValueError):
    """A ``verify.json`` / ``verify.npz`` that is missing what a command needs (the file is named)."""


@dataclass
class Sidecar:
    """A model's back-ends and thresholds, as read from its ``verify.json``."""

    path: Path
    info: dict[str, Any]
    backends: dict[str, FittedBackend] = field(default_factory=dict)

    @property
    def default_backend(self) -> str:
        """The first back-end of the recipe's ``score.backends`` that was stored."""
        return str(self.info["default_backend"])

    def backend(self, name: str | None) -> FittedBackend:
        """Back-end ``name`` (None: the default); the error lists the stored ones."""
        name = name or self.default_backend
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


def _fit_for(result: Mapping[str, Any], score_cfg: Mapping[str, Any]) -> FittedBackend:
    """The back-end of one scoring result, fitted on the embeddings and labels that result names."""
    from spkssl.embed.io import read_embeddings
    from spkssl.scoring.io import read_utt2spk
    from spkssl.scoring.system import labelled_subset

    sources = result.get("sources") or {}
    train_npz = Path(sources["train_embeddings"])
    ids, emb = read_embeddings(train_npz)
    utt2spk = None
    if sources.get("train_utt2spk"):
        labels = Path(sources["train_utt2spk"])
        utt2spk = read_utt2spk(labels)
        ids, emb = labelled_subset(ids, emb, utt2spk, labels, train_npz)
    return fit_backend(result["backend"], ids, emb, utt2spk, score_cfg)


def _reproduction_error(backend: FittedBackend, result: Mapping[str, Any], scores_dir: Path) -> float:
    """Largest |stored back-end - recipe| score on the result's trial list."""
    from spkssl.embed.io import read_embeddings
    from spkssl.scoring.io import read_scored_trials
    from spkssl.scoring.trials import read_trials

    trials = read_trials(result["trials"])
    ids, emb = read_embeddings(result["sources"]["embeddings"])
    e_idx, t_idx = trials.index(ids)
    ours = backend.score(emb, emb, e_idx, t_idx)
    recipe, _ = read_scored_trials(scores_dir / f"{result['name']}.{result['backend']}.score", trials)
    return float(np.max(np.abs(ours - recipe)))


def write_verify_sidecar(exp: Any, system: Any, results: Sequence[Mapping[str, Any]]) -> Path | None:
    """Write ``<system>/verify.{json,npz}`` from ``score_system``'s results (nothing for the baseline).

    Returns the JSON's path, or None when the system has no model or no validation list was scored.
    """
    if system.model is None:
        return None
    val_names = list(exp.inputs.val_trials)
    val = [r for r in results if val_names and r["name"] == val_names[0]]
    if not val:
        log.info("%s: no validation list scored (inputs.val_trials), so no verify threshold", system.name)
        return None
    score_cfg = exp.cfg["score"]
    info: dict[str, Any] = {"system": system.name, "model": system.model.name, "threshold_kind": THRESHOLD_KIND,
                            "default_backend": val[0]["backend"], "score": score_cfg, "backends": {}}
    arrays: dict[str, np.ndarray] = {}
    for r in val:
        backend = _fit_for(r, score_cfg)
        error = _reproduction_error(backend, r, system.scores)
        if error > REPRODUCE_TOLERANCE:
            log.warning("%s %s: the stored back-end differs from the recipe's scores of %s by up to %.3g",
                        system.name, r["backend"], r["name"], error)
        info["backends"][r["backend"]] = {
            "threshold": float(r["thresholds"][THRESHOLD_KIND]),
            "measured_on": {"name": r["name"], "trials": r["trials"], "eer": float(r["eer"]),
                            "num_trials": int(r["num_trials"])},
            "sources": dict(r.get("sources") or {}), "max_score_difference": error,
        }
        arrays.update({f"{r['backend']}.{k}": v for k, v in backend.arrays().items()})
    npz = system.dir / NPZ_NAME
    _keep_earlier(system, info, arrays)
    with atomic_path(npz) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    out = system.dir / JSON_NAME
    write_json_atomic(out, info)
    log.info("%s: verify thresholds (%s) in %s", system.name, ", ".join(
        f"{b} {v['threshold']:.4f}" for b, v in info["backends"].items()), out)
    return out


def _keep_earlier(system: Any, info: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Keep the back-ends of an earlier sidecar that this scoring did not redo, unless the
    system's training embeddings are newer than it (then they are stale)."""
    try:
        old = read_verify_sidecar(system.dir)
    except SidecarError:
        return
    train = system.train_embeddings / "embeddings.npz"
    if old is None or (train.is_file() and train.stat().st_mtime > old.path.with_name(NPZ_NAME).stat().st_mtime):
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
    path = path / JSON_NAME if path.is_dir() else path
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SidecarError(f"{path}: not a verify.json: {exc}") from exc
    npz = path.with_name(NPZ_NAME)
    if not npz.is_file():
        raise SidecarError(f"{path}: its back-end statistics {npz} are missing (copy both files with the model)")
    backends = {}
    with np.load(npz, allow_pickle=False) as data:
        for name in info.get("backends", {}):
            prefix = f"{name}."
            found = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
            if not found:
                raise SidecarError(f"{npz}: no statistics of back-end '{name}' that {path} lists")
            backends[name] = backend_from_arrays(name, found)
    return Sidecar(path, info, backends)
