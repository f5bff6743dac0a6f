"""Run Kaldi-style jobs on this machine, several at a time (``local/run_local.sh``).

Every job runs ``bash -o pipefail -c <command>`` with its index substituted, output
going to its own log. All jobs run to the end even when some fail; then the failed
ones are listed with their logs and the exit status is 1.  Each job runs in a process
group of its own; the launcher's :class:`~spkssl.launch.lifetime.Reaper` stops those
groups if the launcher is killed, and SIGTERM/SIGINT stop them too.  A job's log is
appended to, with a header per attempt, so a rerun keeps what the killed attempt
wrote.  ``--num-threads N`` sets
``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for the jobs; ``--gpu`` and ``--mem`` are
accepted for compatibility with the Slurm launcher but reserve nothing here.

Example::

    python -m spkssl.launch.local --max-jobs-run 4 JOB=1:8 exp/log/fbank.JOB.log \\
        spkssl compute-fbank --job JOB --nj 8 ...
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Sequence

from spkssl.launch import (
    JobSpec,
    LaunchError,
    LaunchOptions,
    hostname,
    log_footer,
    log_header,
    parse_launch_args,
    report_failures,
)
from spkssl.launch.follow import LogFollower, stdout_echo
from spkssl.launch.lifetime import Reaper, die_with_parent

PROG = "run_local.sh"
_POLL_S = 0.05


@dataclass
class _Running:
    index: int
    proc: subprocess.Popen
    log: IO[str]
    started: float
    body_offset: int  # where the job's own output starts in its log (after the attempt's header)


class _Terminated(Exception):
    """Raised in the main loop when the launcher itself receives SIGTERM."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _job_env(opts: LaunchOptions, index: int) -> dict[str, str]:
    env = dict(os.environ)
    if opts.num_threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(opts.num_threads)
    env["SPKSSL_JOB_INDEX"] = str(index)
    return env


def _start(spec: JobSpec, opts: LaunchOptions, index: int, reaper: Reaper | None = None) -> _Running:
    log_path = Path(spec.log_path(index))
    command = spec.command(index)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "a", encoding="utf-8")
    log.write(("\n" if log.tell() else "") + log_header(command, f"{hostname()} (local job {index})"))
    log.flush()
    body_offset = log.tell()
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_job_env(opts, index),
        start_new_session=True,  # its own process group, so a kill reaches pipes too
        preexec_fn=None if reaper is None else reaper.registrar(),  # watched before the command runs
    )
    return _Running(index, proc, log, time.monotonic(), body_offset)


def _finish(job: _Running, code: int, opts: LaunchOptions) -> int:
    """Write the log footer; return the shell-style exit code (128 + signal if killed)."""
    if code < 0:
        code = 128 - code
    job.log.write(log_footer(code, time.monotonic() - job.started, opts.num_threads or 1))
    job.log.close()
    return code


def _kill_all(running: list[_Running], opts: LaunchOptions) -> None:
    for job in running:
        try:
            os.killpg(job.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for job in running:
        try:
            code = job.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(job.proc.pid, signal.SIGKILL)
            code = job.proc.wait()
        _finish(job, code, opts)


def run_jobs(spec: JobSpec, opts: LaunchOptions, reaper: Reaper | None = None) -> list[tuple[int, str, str]]:
    """Run every job of ``spec``; return ``(index, reason, log path)`` of each failure.

    At most ``opts.max_jobs_run`` jobs run at once (default: the number of jobs,
    capped at the CPU count). On SIGTERM/SIGINT the running jobs are killed; ``reaper``
    (if given) is told about every job's process group.

    >>> from spkssl.launch import parse_launch_args
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> spec, opts = parse_launch_args(["J=1:2", f"{d}/a.J.log", "exit", "0"], "x")
    >>> run_jobs(spec, opts)
    []
    """
    limit = opts.max_jobs_run or max(1, min(spec.num_jobs, os.cpu_count() or 1))
    pending = spec.indices
    follower: LogFollower | None = None
    running: list[_Running] = []
    failed: list[tuple[int, str, str]] = []
    old_handler = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        while pending or running:
            while pending and len(running) < limit:
                index = pending.pop(0)
                try:
                    running.append(_start(spec, opts, index, reaper))
                    if spec.num_jobs == 1:  # a training round: its epoch lines reach the console too
                        follower = LogFollower(spec.log_path(index), stdout_echo(), running[-1].body_offset)
                except OSError as exc:
                    failed.append((index, f"could not start ({exc})", spec.log_path(index)))
            still: list[_Running] = []
            for job in running:
                code = job.proc.poll()
                if code is None:
                    still.append(job)
                    continue
                code = _finish(job, code, opts)
                if reaper is not None:
                    reaper.forget_group(job.proc.pid)
                if code != 0:
                    failed.append((job.index, f"failed (exit code {code})", spec.log_path(job.index)))
            running = still
            if follower is not None:
                follower.poll()
            if running:
                time.sleep(_POLL_S)
    except (KeyboardInterrupt, _Terminated):
        _kill_all(running, opts)
        raise
    finally:
        signal.signal(signal.SIGTERM, old_handler)
    return sorted(failed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        spec, opts = parse_launch_args(args, PROG)
    except LaunchError as exc:
        print(exc, file=sys.stderr)
        return 2
    die_with_parent()
    reaper = Reaper()
    try:
        failed = run_jobs(spec, opts, reaper)
    except (KeyboardInterrupt, _Terminated):
        print(f"{PROG}: interrupted; running jobs were killed", file=sys.stderr)
        return 130
    finally:
        reaper.close()
    if failed:
        report_failures(PROG, failed, spec.num_jobs)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
