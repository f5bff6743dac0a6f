"""The one place that turns a device name from the config or command line into a ``torch.device``.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
"""
from __future__ import annotations

import torch


def resolve_device(name: str | None = "auto", local_rank: int = 0) -> torch.device:
    """``auto`` (or None) → ``cuda:<local_rank>`` when CUDA is available, else ``cpu``.

    Any other name goes to ``torch.device``; a bare ``cuda`` gets ``local_rank`` as
    its index, so each DDP process picks its own GPU.
    """
    if name in (None, "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank)
    return dev
