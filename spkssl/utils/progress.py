"""Progress bars on a terminal only: a bar drawn into a log file is kilobytes of carriage returns.

Every progress bar of the package goes through :func:`progress`, which draws it when standard error
is a terminal (or ``SPKSSL_PROGRESS=1`` asks for it) and never otherwise; the line a step prints
when it is done is what a log keeps.

>>> bar = progress(range(3), desc="demo")
>>> sum(bar)  # iterates as tqdm does
3
>>> progress(range(3), enabled=False).disable  # a caller may switch its bar off (a DDP rank that is not rank 0)
True
"""
from __future__ import annotations

import os
import sys
from typing import Any

from tqdm import tqdm


def shown(enabled: bool = True) -> bool:
    """Whether a bar is drawn: the caller wants one and standard error is a terminal (or ``SPKSSL_PROGRESS=1``)."""
    if not enabled:
        return False
    forced = os.environ.get("SPKSSL_PROGRESS", "")
    if forced:
        return forced not in ("0", "false", "no")
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable: Any = None, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar over ``iterable`` (or a manual one with ``total=``), drawn only where :func:`shown`."""
    return tqdm(iterable, disable=not shown(enabled), **kwargs)
