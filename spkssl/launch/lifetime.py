"""Jobs never outlive the recipe that started them.

Two mechanisms, both Linux-only (elsewhere they do nothing):

* :func:`die_with_parent`: a process started by a recipe asks the kernel for SIGTERM
  when its parent dies (``prctl(PR_SET_PDEATHSIG)``).  ``local/recipe_lib.sh`` exports
  ``SPKSSL_DIE_WITH_PARENT=$$`` (the recipe's pid); every ``spkssl`` command and both
  launchers call it first thing, and pass their own pid on to what they start.  If the
  process named there is already gone (the recipe was killed while this one started),
  the process stops at once.  So ``kill -9`` of ``run.sh`` stops the command it was
  running, which stops what that command started, and so on down.  Outside a recipe
  nothing changes (``nohup spkssl train ... &`` keeps running after its shell exits).
* :class:`Reaper`: a launcher's watchdog.  A launcher puts each job in a process group
  of its own (so a kill reaches its pipes too), which a kill of the recipe's group
  does not reach.  The reaper, a forked child in a session of its own, learns every
  job's process group and Slurm job id through a pipe; if the launcher dies without
  saying it is done (``kill -9``), it stops those groups (SIGTERM, then SIGKILL after
  :data:`KILL_GRACE_S`) and ``scancel``\\ s those Slurm jobs.

Example:
    >>> reaper = Reaper()
    >>> reaper.watch_group(12345); reaper.forget_group(12345)
    >>> reaper.close()   # the launcher finished: the reaper exits without killing anything
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Sequence

from spkssl.utils.lock import pid_exists

ENV = "SPKSSL_DIE_WITH_PARENT"
KILL_GRACE_S = 10.0  # seconds a stopped job gets to exit on SIGTERM before SIGKILL
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.1


def die_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask for ``sig`` when the parent dies, if ``SPKSSL_DIE_WITH_PARENT`` names a pid; True when set up.

    That pid is the process this one belongs to (the recipe, or the launcher or command
    that started it); if it is already gone, ``sig`` is sent at once.  The variable is
    then set to this process's pid, for the processes it starts.
    """
    value = os.environ.get(ENV, "")
    if not value.isdigit() or not sys.platform.startswith("linux"):
        return False
    os.environ[ENV] = str(os.getpid())
    parent = os.getppid()
    if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if not pid_exists(int(value)) or os.getppid() != parent:  # orphaned before or while this ran
        os.kill(os.getpid(), sig)
    return True


def child_dies_with_me(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` for ``subprocess.Popen`` whose child gets ``sig`` when this process dies.

    For helpers that only serve this process (e.g. the ``sbatch --wait`` a Slurm launcher
    waits on).  Call it only from a single-threaded process (``preexec_fn``'s rule); None
    where it is not supported.
    """
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop_groups(pgids: Sequence[int], grace_s: float = KILL_GRACE_S) -> None:
    """SIGTERM every process group, wait up to ``grace_s`` for them to exit, then SIGKILL the rest."""
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace_s
    while any(_alive(p) for p in pgids) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _serve(read_fd: int, launcher: int) -> None:
    """The reaper's loop: track groups and Slurm jobs; on EOF without ``done``, stop them."""
    groups: set[int] = set()
    slurm: set[str] = set()
    buffer = b""
    while True:
        chunk = os.read(read_fd, 4096)
        if not chunk:
            break
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            verb, _, arg = line.decode().partition(" ")
            if verb == "done":
                return
            target: set = groups if verb.endswith("group") else slurm
            value: int | str = int(arg) if verb.endswith("group") else arg
            (target.add if verb.startswith("+") else target.discard)(value)
    if not (groups or slurm):
        return
    print(f"spkssl launcher {launcher} died with jobs running: stopping process group(s) "
          f"{sorted(groups)} and Slurm job(s) {sorted(slurm)}", file=sys.stderr, flush=True)
    for job in sorted(slurm):
        subprocess.run(["scancel", job], stdin=subprocess.DEVNULL, capture_output=True)
    stop_groups(sorted(groups))


class Reaper:
    """A launcher's watchdog process (see the module doc); call :meth:`close` when the launcher is done."""

    def __init__(self) -> None:
        read_fd, self._write_fd = os.pipe()
        launcher = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the reaper
            code = 0
            try:
                os.close(self._write_fd)
                os.setsid()  # a kill of the recipe's process group must not reach it
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)  # stderr stays: the recipe's log says what the reaper stopped
                os.closerange(3, read_fd)
                os.closerange(read_fd + 1, 1 << 16)  # e.g. the experiment lock inherited from run.sh
                _serve(read_fd, launcher)
            except BaseException:  # noqa: BLE001 - a forked child must never return into the launcher
                code = 1
            os._exit(code)
        os.close(read_fd)

    def _send(self, line: str) -> None:
        os.write(self._write_fd, f"{line}\n".encode())

    def watch_group(self, pgid: int) -> None:
        """Stop process group ``pgid`` if the launcher dies before :meth:`forget_group`."""
        self._send(f"+group {int(pgid)}")

    def registrar(self) -> Callable[[], None]:
        """A ``preexec_fn`` with which a job started in a new session registers its own group.

        It runs in the child before the job's command does, so a launcher killed between
        starting a job and :meth:`watch_group` cannot leave that job unwatched.
        """
        write_fd = self._write_fd

        def register() -> None:
            os.write(write_fd, f"+group {os.getpgid(0)}\n".encode())

        return register

    def forget_group(self, pgid: int) -> None:
        """The group ended (its id may be reused): leave it alone."""
        self._send(f"-group {int(pgid)}")

    def watch_slurm(self, job_id: str) -> None:
        """``scancel`` Slurm job ``job_id`` if the launcher dies before :meth:`forget_slurm`."""
        self._send(f"+slurm {job_id}")

    def forget_slurm(self, job_id: str) -> None:
        """The Slurm job ended: leave it alone."""
        self._send(f"-slurm {job_id}")

    def close(self) -> None:
        """The launcher is done (its jobs ended or were stopped): the reaper exits without killing."""
        try:
            self._send("done")
            os.close(self._write_fd)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
