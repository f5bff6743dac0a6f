"""Atomic writes and stage markers, so a killed job never leaves a file that looks complete.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "out.txt").read_text()
    'hello'
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary file keeps the final suffix(es) so libraries that infer the
    format from the name (``.jsonl.gz``, ``.npz``) still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp.{os.getpid()}.{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class OutputError(ValueError):
    """An output that cannot be written (the message names the path and what to do)."""


def check_writable(path: str | Path, folder: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written; return it as a Path.

    ``folder``: ``path`` is a folder that will hold the outputs (created if needed);
    otherwise ``path`` is a file whose folder must be writable.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "file").write_text("")
    >>> check_writable(d / "file" / "out", folder=True)
    Traceback (most recent call last):
    ...
    spkssl.utils.io.OutputError: cannot write .../file/out: .../file is a file, not a folder; choose another output folder
    """
    path = Path(path)
    target = path if folder else path.parent
    if folder and path.exists() and not path.is_dir():
        raise OutputError(f"cannot write {path}: it is a file, not a folder; choose another output folder")
    if not folder and path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {path}: {existing} is a file, not a folder; choose another output folder")
    first_new = None if target.exists() else next(p for p in [target, *target.parents] if p.parent.exists())
    try:  # what the command will do: make the folder and write in it (a read-only place says so now)
        target.mkdir(parents=True, exist_ok=True)
        probe = target / f".spkssl-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        if first_new is not None:  # leave nothing behind: the command makes its folders when it writes
            for folder in [target, *target.parents]:  # only the empty folders made here (parallel jobs share parents)
                try:
                    folder.rmdir()
                except OSError:
                    break
                if folder == first_new:
                    break
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc} ({exc.filename or target}); "
                          "choose another output") from None
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
