"""Embedding files: Kaldi ``xvector.ark``/``xvector.scp`` plus one ``embeddings.npz``.

The ark holds Kaldi *binary float vectors* (``<id> \\0B FV <int32 dim> <floats>``),
readable by Kaldi (``copy-vector``), kaldi_native_io and kaldiio; the scp points
into it with byte offsets.  ``embeddings.npz`` holds ``ids`` (str) and
``embeddings`` (float32 ``[N, E]``) for Python users.  All three files are
written atomically: a killed job leaves no file that looks complete, and
``embeddings.npz`` (the completion marker) is removed first and renamed into place last.

:func:`read_embeddings` reads the npz or *any* Kaldi scp (our ``xvector.scp``,
a Kaldi recipe's ``xvector.scp``/``ivector.scp``), so Kaldi baselines go through
the same scoring backends.

Example:
    >>> import tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> write_embeddings(d, ["a", "b"], np.eye(2, 3, dtype=np.float32))
    >>> ids, emb = read_embeddings(d + "/xvector.scp")
    >>> ids, emb.shape
    (['a', 'b'], (2, 3))
"""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Sequence

import kaldiio  # local import: only needed for scp reading
import numpy as np

from spkssl.utils.io import atomic_path

ARK_NAME = "xvector.ark"
SCP_NAME = "xvector.scp"
NPZ_NAME = "embeddings.npz"


class EmbeddingError(ValueError):
    """An embedding file or matrix is malformed (names the file / id)."""


def check_embeddings(ids: Sequence[str], matrix: np.ndarray, where: str = "embeddings") -> None:
    """Raise :class:`EmbeddingError` on shape mismatch, bad/duplicate ids or NaN/inf rows."""
    if matrix.ndim != 2:
        raise EmbeddingError(f"{where}: expected a 2-D matrix, got shape {matrix.shape}")
    if len(ids) != matrix.shape[0]:
        raise EmbeddingError(f"{where}: {len(ids)} ids but {matrix.shape[0]} embedding rows")
    seen: set[str] = set()
    for utt in ids:
        if not utt or any(c.isspace() for c in utt):
            raise EmbeddingError(f"{where}: invalid utterance id {utt!r} (empty or has whitespace)")
        if utt in seen:
            raise EmbeddingError(f"{where}: duplicate utterance id '{utt}'")
        seen.add(utt)
    bad = ~np.isfinite(matrix).all(axis=1)
    if bad.any():
        first = [ids[i] for i in np.flatnonzero(bad)[:5]]
        raise EmbeddingError(
            f"{where}: {int(bad.sum())} embedding(s) contain NaN/inf, e.g. id(s) {first}"
        )


def write_embeddings(out_dir: str | Path, ids: Sequence[str], matrix: np.ndarray) -> None:
    """Write ``xvector.ark``, ``xvector.scp`` and ``embeddings.npz`` under ``out_dir``.

    Rows of ``matrix`` (``[N, E]``) are stored as float32 in the order of ``ids``.
    The scp refers to the ark by its absolute path, so it reads from any directory.

    Raises:
        EmbeddingError: duplicate/invalid ids, a row count mismatch or NaN/inf values.
    """
    out_dir = Path(out_dir)
    ids = [str(i) for i in ids]
    matrix = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32))
    check_embeddings(ids, matrix, where=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    ark_path = (out_dir / ARK_NAME).resolve()
    dim = matrix.shape[1] if matrix.ndim == 2 else 0
    header = b"\0BFV \x04" + struct.pack("<i", dim)
    npz_path = out_dir / NPZ_NAME
    if npz_path.exists():  # the completion marker goes first and comes back last
        npz_path.unlink()
    scp_lines = []
    with atomic_path(ark_path) as tmp_ark:
        with open(tmp_ark, "wb") as f:
            for utt, row in zip(ids, matrix):
                f.write(utt.encode("utf-8") + b" ")
                scp_lines.append(f"{utt} {ark_path}:{f.tell()}\n")
                f.write(header)
                f.write(row.astype("<f4").tobytes())
    with atomic_path(out_dir / SCP_NAME) as tmp_scp:
        tmp_scp.write_text("".join(scp_lines), encoding="utf-8")
    with atomic_path(npz_path) as tmp_npz:
        with open(tmp_npz, "wb") as f:
            np.savez(f, ids=np.asarray(ids, dtype=str), embeddings=matrix)


def _read_npz(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "ids" not in data or "embeddings" not in data:
                raise EmbeddingError(f"{path}: npz must hold arrays 'ids' and 'embeddings'")
            ids = [str(x) for x in data["ids"]]
            emb = np.asarray(data["embeddings"], dtype=np.float32)
    except (OSError, ValueError) as exc:
        if isinstance(exc, EmbeddingError):
            raise
        raise EmbeddingError(f"{path}: cannot read npz: {exc}") from exc
    return ids, emb


def _resolve_rxfile(rx: str, scp: Path) -> str:
    """Resolve an scp entry ``path:offset``: as given, else relative to the scp's ancestors.

    Kaldi recipes write paths relative to the recipe directory (``exp/xvector/...``),
    so an scp read from elsewhere is looked up relative to each parent of the scp.
    """
    path, sep, offset = rx.rpartition(":")
    if not sep or not offset.isdigit():
        path, offset = rx, ""
    if not os.path.isabs(path) and not os.path.exists(path):
        for parent in scp.resolve().parents:
            if (parent / path).exists():
                path = str(parent / path)
                break
    return f"{path}:{offset}" if offset else path


def _read_scp(path: Path) -> tuple[list[str], np.ndarray]:
    ids: list[str] = []
    rows: list[np.ndarray] = []
    fds: dict = {}
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                parts = line.split(None, 1)
                if len(parts) != 2:
                    raise EmbeddingError(f"{path}:{lineno}: expected '<id> <ark:offset>', got {line.strip()!r}")
                utt, rx = parts[0], parts[1].strip()
                if rx.endswith("|"):
                    raise EmbeddingError(f"{path}:{lineno}: piped scp entries are not supported: {rx!r}")
                try:
                    vec = np.asarray(kaldiio.load_mat(_resolve_rxfile(rx, path), fd_dict=fds))
                except Exception as exc:  # noqa: BLE001 - kaldiio raises many types
                    raise EmbeddingError(f"{path}:{lineno}: cannot read '{utt}' from {rx!r}: {exc}") from exc
                if vec.ndim == 2 and 1 in vec.shape:
                    vec = vec.reshape(-1)
                if vec.ndim != 1:
                    raise EmbeddingError(f"{path}:{lineno}: '{utt}' is a {vec.shape} matrix, not a vector")
                if rows and vec.shape[0] != rows[0].shape[0]:
                    raise EmbeddingError(
                        f"{path}:{lineno}: '{utt}' has dimension {vec.shape[0]}, expected {rows[0].shape[0]}"
                    )
                ids.append(utt)
                rows.append(vec.astype(np.float32, copy=False))
    finally:
        for fd in fds.values():
            fd.close()
    if not rows:
        raise EmbeddingError(f"{path}: no embeddings")
    return ids, np.stack(rows)


def read_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read embeddings from an ``.npz``, a Kaldi ``.scp``, or a directory holding either.

    Returns:
        ``(ids, emb)`` with ``emb`` float32 ``[N, E]`` in file order.

    Raises:
        EmbeddingError: missing/malformed file, duplicate ids, NaN/inf rows (naming the id).
    """
    path = Path(path)
    if path.is_dir():
        for name in (NPZ_NAME, SCP_NAME, "ivector.scp"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise EmbeddingError(f"{path}: no {NPZ_NAME}, {SCP_NAME} or ivector.scp inside")
    if not path.is_file():
        raise EmbeddingError(f"embeddings file not found: {path}")
    ids, emb = _read_npz(path) if path.suffix == ".npz" else _read_scp(path)
    check_embeddings(ids, emb, where=str(path))
    return ids, emb


def embeddings_done(out_dir: str | Path) -> bool:
    """True when ``out_dir`` holds a complete set of embedding files."""
    out_dir = Path(out_dir)
    return all((out_dir / n).is_file() for n in (NPZ_NAME, SCP_NAME, ARK_NAME))
