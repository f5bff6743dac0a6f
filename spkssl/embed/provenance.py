"""Where embeddings came from: ``provenance.json`` beside ``embeddings.npz``, checked before they are used.

A folder of embeddings records what made its numbers: the model file's SHA-256 (or
the untrained log-mel baseline), a digest of the input list (utterance ids and where
their audio is) and the settings that change the numbers (the front-end).  A step
that reads embeddings, or writes into a folder that holds some, compares that record
with what it was asked to do and refuses a mismatch naming both (no audio is read
for the check).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "m1.pt").write_bytes(b"one model"); _ = (d / "m2.pt").write_bytes(b"another")
    >>> p1 = Provenance.of(d / "m1.pt", [("a", "a.wav")], {"vad": "none"})
    >>> write_provenance(d / "emb", p1)
    >>> check_provenance(d / "emb", p1)  # the same maker: nothing to say
    >>> check_provenance(d / "emb", Provenance.of(d / "m2.pt", [("a", "a.wav")], {"vad": "none"}))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    spkssl.embed.provenance.ProvenanceError: .../emb holds embeddings made by model .../m1.pt (sha256 ...), not by model .../m2.pt (sha256 ...)
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from spkssl.utils.io import write_json_atomic

PROVENANCE_NAME = "provenance.json"
#: what the untrained log-mel statistics baseline records as its "model"
BASELINE = "log-mel stats (untrained baseline)"


class ProvenanceError(ValueError):
    """Embeddings (or a folder of them) made by something other than what a step was asked to use."""


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (cached while its size and modification time stay the same)."""
    st = os.stat(path)
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def list_digest(items: Iterable[tuple[str, str]]) -> str:
    """A digest of ``(utterance id, where its audio is)`` pairs, independent of their order.

    >>> list_digest([("a", "x.wav"), ("b", "y.wav")]) == list_digest([("b", "y.wav"), ("a", "x.wav")])
    True
    """
    h = hashlib.sha256()
    for utt, where in sorted(items):
        h.update(f"{utt}\t{where}\n".encode("utf-8"))
    return h.hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What made a folder of embeddings: model (path and SHA-256), inputs (count and digest), settings."""

    model: str
    model_sha256: str
    num_inputs: int
    inputs_sha256: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, model: str | Path | None, items: Iterable[tuple[str, str]],
           settings: Mapping[str, Any] | None = None) -> "Provenance":
        """The record of embedding ``items`` (``(id, audio)`` pairs) with ``model`` (None: the baseline)."""
        items = list(items)
        sha = "" if model is None else file_sha256(model)
        return cls(BASELINE if model is None else str(model), sha, len(items), list_digest(items),
                   json.loads(json.dumps(dict(settings or {}), sort_keys=True, default=str)))

    def maker(self) -> str:
        """The model in words, e.g. ``model exp/x/round1/final.pt (sha256 3f2a...)``."""
        return self.model if not self.model_sha256 else f"model {self.model} (sha256 {self.model_sha256[:12]})"

    def differences(self, other: "Provenance") -> list[str]:
        """What differs, in words (empty: the same maker, inputs and settings)."""
        out = []
        if self.model_sha256 != other.model_sha256:
            out.append("model")
        if self.inputs_sha256 != other.inputs_sha256:
            out.append(f"inputs ({self.num_inputs} utterance(s) against {other.num_inputs})")
        keys = sorted(k for k in set(self.settings) | set(other.settings)
                      if self.settings.get(k) != other.settings.get(k))
        out += [f"{k}={self.settings.get(k)!r} against {other.settings.get(k)!r}" for k in keys]
        return out


def write_provenance(out_dir: str | Path, provenance: Provenance) -> None:
    """Write ``provenance.json`` into ``out_dir`` (atomically)."""
    write_json_atomic(Path(out_dir) / PROVENANCE_NAME, asdict(provenance))


def read_provenance(folder_or_file: str | Path) -> Provenance | None:
    """The record of a folder of embeddings (or of the folder of an embeddings file); None when it has none."""
    path = Path(folder_or_file)
    path = (path if path.is_dir() else path.parent) / PROVENANCE_NAME
    if not path.is_file():
        return None
    try:
        return Provenance(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ProvenanceError(f"{path}: not a provenance record of spkssl: {exc}") from exc


def check_provenance(folder: str | Path, wanted: Provenance, model_only: bool = False) -> None:
    """Refuse embeddings in ``folder`` whose record differs from ``wanted`` (``model_only``: compare the model).

    A folder without a record passes (nothing to compare: embeddings from elsewhere, e.g. Kaldi).

    Raises:
        ProvenanceError: naming the folder, what made its embeddings and what was asked for.
    """
    have = read_provenance(folder)
    if have is None:
        return
    diff = have.differences(wanted)
    if model_only:
        diff = [d for d in diff if d == "model"]
    if not diff:
        return
    where = Path(folder) if Path(folder).is_dir() else Path(folder).parent
    if "model" in diff:
        raise ProvenanceError(f"{where} holds embeddings made by {have.maker()}, not by {wanted.maker()}")
    raise ProvenanceError(f"{where} holds embeddings of other inputs or settings than asked: {'; '.join(diff)}")
