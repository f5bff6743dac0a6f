"""``spkssl-torchrun``: torchrun that passes SIGUSR1 on to its workers and reports their stop as exit 4.

torchrun (``torch.distributed.run``) does not pass SIGUSR1 — Slurm's warning before a time limit,
``scancel --signal=USR1`` — on to the workers it starts, and a worker that exits with a non-zero
status makes it restart the group or fail. This command runs torchrun in its own process with a
SIGUSR1 handler that signals every worker (its child processes). The workers stop after the same
step, rank 0 saves a full-state checkpoint and leaves a marker (the file :data:`MARKER_ENV` names,
in the folder the job runs in, which every node shares), and they exit 0, so torchrun neither
restarts them nor reports a failure. The agent then exits with
:data:`~spkssl.training.preempt.PREEMPTED_EXIT` (4), as one ``spkssl train`` stopped by SIGUSR1 does,
and a rerun continues from the checkpoint.

Its arguments are torchrun's; ``spkssl train --ngpu G`` / ``--nodes N`` build them
(:mod:`spkssl.launch.torchrun`).
"""
from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Sequence

#: environment variable naming the marker file rank 0 writes when SIGUSR1 stopped the workers
MARKER_ENV = "SPKSSL_PREEMPT_MARKER"


def child_pids(pid: int | None = None) -> list[int]:
    """The direct children of process ``pid`` (this one by default), from ``/proc`` (Linux).

    >>> import subprocess, sys
    >>> child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    >>> child.pid in child_pids()
    True
    >>> child.kill(); _ = child.wait()
    """
    out: list[int] = []
    for task in Path(f"/proc/{pid or os.getpid()}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def forward_usr1(signum: int = signal.SIGUSR1, frame: object = None) -> None:
    """Send SIGUSR1 on to every child process (the workers of an agent, the agents of a launcher)."""
    for pid in child_pids():
        try:
            os.kill(pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass


def new_marker() -> Path:
    """A marker path in the working folder (shared by the nodes of a job), unique to this launch."""
    return Path(f".spkssl-preempted-{uuid.uuid4().hex[:12]}").resolve()


def preempted(marker: str | Path | None) -> bool:
    """Whether rank 0 left the marker: SIGUSR1 stopped the workers after a checkpoint."""
    return bool(marker) and Path(marker).is_file()


def main(argv: Sequence[str] | None = None) -> int:
    """Run torchrun with ``argv``; 4 when SIGUSR1 stopped its workers, else torchrun's outcome."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    from spkssl.training.preempt import PREEMPTED_EXIT

    own_marker = MARKER_ENV not in os.environ  # one node: this agent owns the marker; several: the launcher
    if own_marker:
        os.environ[MARKER_ENV] = str(new_marker())
    marker = os.environ[MARKER_ENV]
    signal.signal(signal.SIGUSR1, forward_usr1)
    try:
        torchrun(list(sys.argv[1:] if argv is None else argv))
        code = 0
    except ChildFailedError as exc:
        print(exc.format_msg(), file=sys.stderr)
        code = 1
    if preempted(marker):
        code = PREEMPTED_EXIT
        if own_marker:
            Path(marker).unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
