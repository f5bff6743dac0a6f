"""Locks that say who holds them: one recipe per experiment folder, one trainer per round.

A lock file holds one line naming its holder (pid, host, start time, command).  A
second claimant is refused with :class:`LockHeld`, whose message names that holder.
The kernel releases a lock when its holder dies, however it dies, so a crash never
leaves a lock that blocks the next run; the line it leaves behind tells the next
holder that the previous one ended without releasing it (a *stale* lock), which is
logged, and the lock is taken over.

* :func:`hold` (a context manager) locks for the calling process (``lockf``): the
  trainer's ``round<r>/.train.lock``.  POSIX locks are not inherited by forked
  children, so DataLoader workers never keep a dead trainer's lock.
* :func:`claim_fd` locks an open file description that a shell passed on (``flock``),
  so the lock lives as long as the shell keeps the descriptor: ``run.sh`` holds
  ``exp/<tag>/.lock`` this way (``lock_experiment`` in ``local/recipe_lib.sh``, which
  runs ``python -m spkssl.utils.lock FD PATH PID``).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / ".train.lock"
    >>> with hold(path, "round 0"):
    ...     "pid" in path.read_text()
    True
    >>> path.read_text()
    ''
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from spkssl.utils.logging import get_logger

log = get_logger(__name__)


class LockHeld(RuntimeError):
    """Someone else holds the lock; the message names them and what to do."""


def holder_line(pid: int) -> str:
    """``pid 123 on host since 2026-11-30 07:30:00: <command line of pid>``."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {pid} on {socket.gethostname()} since {started}" + (f": {command}" if command else "")


def pid_exists(pid: int) -> bool:
    """True while process ``pid`` exists (also when it belongs to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode(errors="replace").strip()


def _claim(fd: int, path: Path, what: str, pid: int, lock: Callable[[int, int], None]) -> str:
    """Lock ``fd`` without waiting, write our holder line; return the stale holder's line ('' if none)."""
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = _read(fd) or "another process (it has not written its name yet)"
        match = re.match(r"pid (\d+) ", holder)
        if match and not pid_exists(int(match.group(1))):  # e.g. `sleep` left running by a killed run.sh
            raise LockHeld(f"{what} is in use: {path} was taken by {holder}, which has ended, but a process it "
                           f"started still holds it; find it with `fuser -v {path}`, stop it, and rerun") from None
        raise LockHeld(f"{what} is in use: {path} is held by {holder}. Wait for that run to end, "
                       "or stop it (kill its pid) and rerun") from None
    stale = _read(fd)
    os.ftruncate(fd, 0)
    os.pwrite(fd, (holder_line(pid) + "\n").encode(), 0)
    if stale:
        log.warning("%s: taking over %s from %s, which ended without releasing it (killed or crashed)",
                    what, path, stale)
    return stale


@contextlib.contextmanager
def hold(path: str | Path, what: str) -> Iterator[str]:
    """Hold ``path`` for this process while the block runs; yields the stale holder's line ('' if none).

    Raises:
        LockHeld: another process holds it (named).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        stale = _claim(fd, path, what, os.getpid(), fcntl.lockf)
        try:
            yield stale
        finally:
            os.ftruncate(fd, 0)  # a clean end leaves no name behind
    finally:
        os.close(fd)  # releases the lock


def claim_fd(fd: int, path: str | Path, what: str, pid: int) -> str:
    """Lock the open file description ``fd`` (``flock``) for process ``pid``, which keeps it open.

    Returns the stale holder's line ('' if none).

    Raises:
        LockHeld: another process holds it (named).
    """
    return _claim(fd, Path(path), what, pid, fcntl.flock)


def main(argv: list[str] | None = None) -> int:
    """``python -m spkssl.utils.lock FD PATH PID``: lock FD (open on PATH) for PID, e.g. a recipe's shell."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m spkssl.utils.lock FD PATH PID", file=sys.stderr)
        return 2
    fd, path, pid = int(args[0]), Path(args[1]), int(args[2])
    try:
        claim_fd(fd, path, f"experiment {path.parent}", pid)
    except LockHeld as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
