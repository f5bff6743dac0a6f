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
