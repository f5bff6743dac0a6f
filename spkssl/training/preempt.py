"""Stop cleanly when asked: SIGUSR1 (Slurm's warning before a time limit, ``scancel --batch --signal=USR1``).

The trainer checks :meth:`StopRequest.agreed` after every step: once any rank got the
signal, every rank stops after the same step, rank 0 writes a full-state checkpoint, and
``spkssl train`` exits with :data:`PREEMPTED_EXIT` (the stage is not marked done), so a
rerun of ``run.sh`` continues from that step.  With Slurm, ask for the
warning with ``SPKSSL_SBATCH_OPTS="--signal=B:USR1@300"`` (five minutes before the limit):
the launcher's batch script passes the signal on to its command, and with several workers
``spkssl-torchrun`` (:mod:`spkssl.launch.agent`) passes it on to every worker.

Example:
    >>> import os, signal
    >>> with StopRequest() as stop:
    ...     os.kill(os.getpid(), signal.SIGUSR1)
    ...     stop.requested
    True
"""
from __future__ import annotations

import signal
import threading
from typing import Any

import torch
import torch.distributed as dist

from spkssl.utils.logging import get_logger

log = get_logger(__name__)
#: exit status of ``spkssl train`` stopped by SIGUSR1 after saving its checkpoint
PREEMPTED_EXIT = 4


class StopRequest:
    """A context in which SIGUSR1 sets :attr:`requested` instead of killing the process."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: object) -> None:
        if not self.requested:
            log.warning("SIGUSR1: stopping after this step with a checkpoint (rerun to continue)")
        self.requested = True

    def install(self) -> "StopRequest":
        """Catch SIGUSR1 from now on (only the main thread can)."""
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGUSR1, self._handle)
        return self

    def uninstall(self) -> None:
        """Give SIGUSR1 back its earlier handler."""
        if self._previous is not None:
            signal.signal(signal.SIGUSR1, self._previous)
            self._previous = None

    def __enter__(self) -> "StopRequest":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def agreed(self, device: torch.device) -> bool:
        """True on every rank once any rank was asked to stop (a MAX over the process group)."""
        if not (dist.is_available() and dist.is_initialized()):
            return self.requested
        flag = torch.tensor([1.0 if self.requested else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)
