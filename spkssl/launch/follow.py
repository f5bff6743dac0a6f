"""The lines of a job's log that belong on the console too: a one-job launch echoes them as they come.

A recipe's training stage runs one job whose output goes to its log (``round<r>/log/train.log``);
without this, the console would show nothing for the length of a round. :data:`CONSOLE_LINE` is
the one definition of what is echoed: the trainer's epoch summaries and the lines that say a round
is finished or resumed.

>>> bool(CONSOLE_LINE.search("2026-01-01 10:00:00 INFO [trainer.py:315] epoch 3/8 done: mean loss 1.2"))
True
>>> bool(CONSOLE_LINE.search("contrastive epoch 3/8:  40%|####  | 4/10"))
False
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import IO, Callable

CONSOLE_LINE = re.compile(r"\] (epoch \d+/\d+ done:|resuming from |training diverged|stopped by SIGUSR1|SIGUSR1:)")


class LogFollower:
    """Echo the console lines written to ``path`` after it was opened (``poll`` reads what is new).

    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "train.log"
    >>> _ = log.write_text("old] epoch 1/2 done: kept out\\n")
    >>> shown = []
    >>> f = LogFollower(log, shown.append)
    >>> with open(log, "a") as out:
    ...     _ = out.write("x] epoch 2/2 done: mean loss 0.5\\nnoise\\n")
    >>> f.poll(); shown
    ['x] epoch 2/2 done: mean loss 0.5']
    """

    def __init__(self, path: str | Path, echo: Callable[[str], None], offset: int | None = None) -> None:
        """Follow from ``offset`` (default: the end of what the file holds now)."""
        self.path, self.echo = Path(path), echo
        self.offset = offset if offset is not None else (self.path.stat().st_size if self.path.is_file() else 0)
        self.partial = ""

    def poll(self) -> None:
        """Echo the complete new lines that are console lines."""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                f.seek(self.offset)
                text = f.read()
                self.offset = f.tell()
        except FileNotFoundError:
            return
        lines = (self.partial + text).split("\n")
        self.partial = lines.pop()
        for line in lines:
            line = line.split("\r")[-1]
            if CONSOLE_LINE.search(line):
                self.echo(line)


def stdout_echo(stream: IO[str] | None = None) -> Callable[[str], None]:
    """An ``echo`` for :class:`LogFollower` that writes to stdout (flushed: a recipe's console is a pipe too)."""
    out = stream or sys.stdout

    def echo(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    return echo
