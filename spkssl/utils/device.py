"""The one place that turns a device name from the config or command line into a ``torch.device``.

Example:
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("auto").type in ("cpu", "cuda")
    True
"""
from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device that this machine does not have (the message says what it has)."""


def check_device(name: str | None) -> torch.device:
    """:func:`resolve_device`, refusing a CUDA device that is not there before any work starts.

    >>> check_device("cpu")
    device(type='cpu')
    """
    try:
        dev = resolve_device(name)
    except RuntimeError:
        raise DeviceError(f"'{name}' is not a device name; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise DeviceError(f"device '{name}': this machine has no usable CUDA GPU; use --device cpu")
        if (dev.index or 0) >= count:
            raise DeviceError(f"device '{name}': this machine has {count} CUDA GPU(s) (cuda:0..cuda:{count - 1})")
    return dev


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
