"""One logging format for every spkssl program (time, level, place, message).

Example:
    >>> from spkssl.utils.logging import get_logger
    >>> log = get_logger(__name__)
    >>> log.info("computing fbank for %d cuts", 10)  # doctest: +SKIP
"""
from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"
_configured = False


def setup_logging(level: int | str = logging.INFO) -> None:
    """Configure the root logger once (stderr, spkssl format)."""
    global _configured
    if _configured:
        logging.getLogger().setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True


def get_logger(name: str) -> logging.Logger:
    """Return a logger; the root handler is installed on first use (the level is kept)."""
    if not _configured:
        setup_logging()
    return logging.getLogger(name)
