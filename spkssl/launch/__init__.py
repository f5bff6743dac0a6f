"""Kaldi-style job launchers: the shared command-line grammar and job bookkeeping.

Recipes call a launcher through a variable from ``cmd.sh``::

    $train_cmd [--num-threads N] [--gpu N] [--mem 4G] [--max-jobs-run M] \\
        JOB=1:N exp/log/name.JOB.log  command args ... JOB ...

``JOB`` (any identifier, e.g. ``TASK=1:8``) is replaced, as a substring, by the job
index in the log path and in every command argument; without ``VAR=a:b`` a single
job runs. As in Kaldi, arguments without whitespace are passed to ``bash`` as they
are (so ``\\|`` and ``\\>`` build pipes and redirections), arguments with whitespace
are quoted. Each job's log starts with the command line and start time and ends
with its run time and exit code.

:mod:`spkssl.launch.local` runs the jobs on this machine,
:mod:`spkssl.launch.slurm` as one Slurm array job.

Example:
    >>> spec, opts = parse_launch_args(
    ...     ["--max-jobs-run", "2", "JOB=1:3", "log/a.JOB.log", "echo", "JOB", "a b"],
    ...     prog="run_local.sh")
    >>> spec.indices, opts.max_jobs_run
    ([1, 2, 3], 2)
    >>> spec.log_path(2), spec.command(2)
    ('log/a.2.log', "echo 2 'a b'")
"""
from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

_RANGE_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$")
_MEM_RE = re.compile(r"^\d+(\.\d+)?[KMGTkmgt]?$")


class LaunchError(Exception):
    """Bad launcher arguments or a failed submission; the message says what is wrong."""


@dataclass
class LaunchOptions:
    """Resources requested with ``--num-threads/--gpu/--nodes/--mem/--max-jobs-run`` (+ extras).

    ``nodes`` > 1 asks for that many nodes per job, one task on each, with ``gpu`` GPUs per node
    (``spkssl train --nodes N`` then starts one torchrun agent per task); the local launcher runs
    the job once, here, as it ignores ``gpu``.
    """

    num_threads: int | None = None
    gpu: int = 0
    nodes: int = 1
    mem: str | None = None
    max_jobs_run: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class JobSpec:
    """What to run: ``VAR=start:end`` (or a single job), the log template and the command."""

    var: str | None
    start: int
    end: int
    log_template: str
    argv: list[str]

    @property
    def indices(self) -> list[int]:
        """The job indices, e.g. ``[1, 2, 3]`` for ``JOB=1:3``."""
        return list(range(self.start, self.end + 1))

    @property
    def num_jobs(self) -> int:
        return self.end - self.start + 1

    def _sub(self, text: str, index: int) -> str:
        return text.replace(self.var, str(index)) if self.var else text

    def log_path(self, index: int) -> str:
        """The log path of job ``index``."""
        return self._sub(self.log_template, index)

    def command(self, index: int) -> str:
        """The bash command line of job ``index``."""
        return join_command([self._sub(a, index) for a in self.argv])

    def command_template(self) -> str:
        """The bash command line with the job variable still in place."""
        return join_command(self.argv)

    def job_name(self) -> str:
        """A short name from the log file: ``exp/log/train.JOB.log`` -> ``train``."""
        name = Path(self.log_template).name
        if self.var:
            name = name.replace(f".{self.var}", "").replace(self.var, "")
        name = re.sub(r"\.log$", "", name) or "job"
        return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def join_command(argv: Sequence[str]) -> str:
    """Join arguments Kaldi-style: whitespace-free words raw, others shell-quoted.

    >>> join_command(["a", "|", "b c", "ark:gunzip -c x|"])
    "a | 'b c' 'ark:gunzip -c x|'"
    """
    return " ".join(a if a and not re.search(r"\s", a) else shlex.quote(a) for a in argv)


def _int_opt(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise LaunchError(f"--{name} needs an integer, got {value!r}") from None
    if number < minimum:
        raise LaunchError(f"--{name} must be >= {minimum}, got {number}")
    return number


def parse_launch_args(
    args: Sequence[str], prog: str, extra_options: Sequence[str] = ()
) -> tuple[JobSpec, LaunchOptions]:
    """Parse ``[options] [VAR=a:b] LOG command ...`` into a job spec and options.

    ``extra_options`` names launcher-specific options that take a value (stored in
    ``LaunchOptions.extra`` under the name with underscores), e.g. ``partition``.
    Raises :class:`LaunchError` on anything malformed.
    """
    args = list(args)
    opts = LaunchOptions()
    known = {"num-threads", "gpu", "nodes", "mem", "max-jobs-run", *extra_options}
    while args and args[0].startswith("--"):
        raw = args.pop(0)
        name, eq, value = raw[2:].partition("=")
        name = name.replace("_", "-")
        if name not in known:
            raise LaunchError(
                f"{prog}: unknown option {raw!r}; known: " + ", ".join(f"--{k}" for k in sorted(known))
            )
        if not eq:
            if not args:
                raise LaunchError(f"{prog}: option --{name} needs a value")
            value = args.pop(0)
        if name == "num-threads":
            opts.num_threads = _int_opt(name, value, 1)
        elif name == "gpu":
            opts.gpu = _int_opt(name, value, 0)
        elif name == "nodes":
            opts.nodes = _int_opt(name, value, 1)
        elif name == "max-jobs-run":
            opts.max_jobs_run = _int_opt(name, value, 1)
        elif name == "mem":
            if not _MEM_RE.match(value):
                raise LaunchError(f"{prog}: --mem needs a size like 4G or 500M, got {value!r}")
            opts.mem = value.upper()
        else:
            opts.extra[name.replace("-", "_")] = value

    var, start, end = None, 1, 1
    if args and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", args[0]):
        match = _RANGE_RE.match(args[0])
        if match is None:
            raise LaunchError(f"{prog}: bad job range {args[0]!r}; expected e.g. JOB=1:4 or JOB=3")
        args.pop(0)
        var, start = match.group(1), int(match.group(2))
        end = int(match.group(3)) if match.group(3) is not None else start
        if end < start:
            raise LaunchError(f"{prog}: empty job range {var}={start}:{end}")
    if len(args) < 2:
        raise LaunchError(
            f"usage: {prog} [--num-threads N] [--gpu N] [--nodes N] [--mem 4G] [--max-jobs-run M] "
            "[JOB=1:N] log/name.JOB.log command args ..."
        )
    log_template, argv = args[0], args[1:]
    if var and end > start and var not in log_template:
        raise LaunchError(
            f"{prog}: {end - start + 1} jobs ({var}={start}:{end}) would share one log "
            f"file {log_template!r}; put {var} in the log path"
        )
    return JobSpec(var, start, end, log_template, argv), opts


def log_header(command: str, where: str) -> str:
    """The first lines of every job log."""
    return f"# {command}\n# Running on {where}\n# Started at {time.strftime('%c')}\n#\n"


def log_footer(code: int, seconds: float, threads: int) -> str:
    """The last lines of every job log."""
    return (
        f"# Accounting: time={seconds:.0f} threads={threads}\n"
        f"# Ended (code {code}) at {time.strftime('%c')}\n"
    )


def hostname() -> str:
    return socket.gethostname()


def report_failures(prog: str, failed: Sequence[tuple[int, str, str]], total: int) -> None:
    """Print one line per failed job (index, reason, log path) to stderr."""
    for index, reason, log in failed:
        print(f"{prog}: job {index} {reason}; see {log}", file=sys.stderr)
    print(f"{prog}: {len(failed)} / {total} jobs failed", file=sys.stderr)


def run_with_launcher(cmd: str, log_template: str | Path, argv: Sequence[str], num_jobs: int = 1) -> None:
    """Run ``argv`` as jobs ``JOB=1:num_jobs`` through a launcher command line such as ``$extract_cmd``.

    ``cmd`` is what ``cmd.sh`` exports (``run_local.sh``, ``run_slurm.sh --mem 8G``, ...);
    ``JOB`` in ``log_template`` and in ``argv`` becomes the job index.

    Raises:
        LaunchError: the launcher failed; the message names the logs.
    """
    # exec: the launcher replaces the shell, so it is this process's child and dies with it (lifetime.py)
    line = f"exec {cmd} JOB=1:{int(num_jobs)} {shlex.quote(str(log_template))} " + " ".join(shlex.quote(a) for a in argv)
    code = subprocess.run(line, shell=True).returncode
    if code != 0:
        raise LaunchError(f"{argv[0] if argv else 'job'} failed under '{cmd}' (exit {code}); see {log_template}")
