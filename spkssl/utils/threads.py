"""Share the CPU cores between parallel jobs instead of oversubscribing them.

PyTorch starts one intra-op thread per core in every process; N parallel jobs
(or a trainer plus its DataLoader workers) on the same cores then spin against
each other, which on a 2-core machine made CPU extraction ~20x slower.  An
explicit ``OMP_NUM_THREADS`` (set by the launcher's ``--num-threads``) wins.

Example:
    >>> n = share_cpu(parallel_jobs=2)
    >>> n >= 1
    True
"""
from __future__ import annotations

import os
import time

import torch


def share_cpu(parallel_jobs: int = 1, reserved: int = 0, threads: int = 0) -> int:
    """Set torch's thread count to this process's share of the cores; return it.

    Args:
        parallel_jobs: processes running the same work at once (e.g. ``--nj``).
        reserved: cores left to helper processes (e.g. DataLoader workers).
        threads: an explicit count (e.g. ``train.threads``) instead of the share; 0 = the share.
    """
    if threads < 0:
        raise ValueError(f"threads must be >= 0, got {threads}")
    if os.environ.get("OMP_NUM_THREADS"):
        threads = max(1, int(os.environ["OMP_NUM_THREADS"]))
    elif not threads:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, (cores - reserved) // max(1, parallel_jobs))
    torch.set_num_threads(threads)
    return threads


def _cpu_ticks() -> tuple[float, float]:
    """``(busy, total)`` CPU time of the whole machine from ``/proc/stat``, in clock ticks."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [float(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def idle_cores(window: float = 0.2) -> int:
    """The cores this process may use that other processes do not keep busy now, at least 1.

    Measured over ``window`` seconds from ``/proc/stat`` (this process's own use left out); where
    that is not available, the cores minus the 1-minute load average.

    >>> 1 <= idle_cores() <= (os.cpu_count() or 1)
    True
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        busy0, total0 = _cpu_ticks()
        own0 = sum(os.times()[:2])
        time.sleep(window)
        busy1, total1 = _cpu_ticks()
        own = (sum(os.times()[:2]) - own0) * os.sysconf("SC_CLK_TCK")
        busy = cores * max(0.0, busy1 - busy0 - own) / max(1.0, total1 - total0)
    except (OSError, ValueError, IndexError):
        try:
            busy = os.getloadavg()[0]
        except OSError:
            busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))
