"""One logging format for every spkssl program (time, level, place, message), quiet about other libraries.

At the default level (INFO) the console shows spkssl's own lines and other libraries' warnings and
errors only: the INFO chatter of onnxscript, lhotse or torch (an ONNX export logs 78 lines) and the
framework's deprecation warnings appear with ``--log-level DEBUG``.

Example:
    >>> from spkssl.utils.logging import get_logger
    >>> log = get_logger(__name__)
    >>> log.info("computing fbank for %d cuts", 10)  # doctest: +SKIP
"""
from __future__ import annotations

import logging
import sys
import warnings

_FORMAT = "%(asctime)s %(levelname)s [%(filename)s:%(lineno)d] %(message)s"
_configured = False
_OWN = ("spkssl", "__main__")
FRAMEWORKS = r"^(torch|torchaudio|onnx|onnxscript|onnxruntime|lhotse|sklearn|audioread|numpy|tensorboard)(\.|$)"


class OwnLinesFilter(logging.Filter):
    """Pass spkssl's records, and other libraries' warnings and errors; all of them when the root logs DEBUG.

    >>> f = OwnLinesFilter()
    >>> logging.getLogger().setLevel(logging.INFO)
    >>> [f.filter(logging.LogRecord(name, level, "", 0, "m", None, None))
    ...  for name, level in [("spkssl.scoring", logging.INFO), ("onnxscript.rewriter", logging.INFO),
    ...                      ("lhotse", logging.WARNING)]]
    [True, False, True]
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.name.startswith(_OWN) or record.levelno >= logging.WARNING
                or logging.getLogger().isEnabledFor(logging.DEBUG))


def quiet_frameworks(level: int | str) -> None:
    """Below DEBUG, hide Python warnings that only a framework's developers can act on.

    Deprecation and future warnings, and any warning raised inside torch, ONNX, lhotse and the like
    (a TorchScript load warns on every call), are ignored; spkssl's own warnings stay.
    """
    name = logging.getLevelName(level) if isinstance(level, int) else str(level).upper()
    if name == "DEBUG":
        return
    for category in (FutureWarning, DeprecationWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("ignore", module=FRAMEWORKS)


def setup_logging(level: int | str = logging.INFO) -> None:
    """Configure the root logger once (stderr, spkssl format)."""
    global _configured
    if _configured:
        logging.getLogger().setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OwnLinesFilter())
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
