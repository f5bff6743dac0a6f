"""A real one-node Slurm for the tests: Debian's slurm-wlm with munged, slurmctld and slurmd on localhost.

:func:`start_cluster` installs ``slurm-wlm`` where it is missing (``apt-get update``
first; root only), writes a ``slurm.conf`` for this host into a fresh folder (its own
ports, munge socket and key, state and log files, so several test sessions on one
machine do not meet), starts the three daemons and waits until the node is idle.
It returns the environment a client needs (``SLURM_CONF``) and a ``stop`` function.
When Slurm cannot be installed or started, :class:`SlurmUnavailable` says why (the
tests skip with that reason).

The node declares more CPUs and memory than this machine has (``config_overrides``),
so the recipes' ``--mem 32G --num-threads 4`` requests fit; the jobs simply share the
real cores.

Example:
    >>> # env, stop = start_cluster(tmp_path); subprocess.run(["sbatch", ...], env=env); stop()
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

DAEMONS = ("munged", "slurmctld", "slurmd")
START_TIMEOUT_S = 60.0  # the daemons are up in a few seconds; this is only the give-up point
INSTALL_TIMEOUT_S = 900.0


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be installed or started here (the message says why)."""


def _run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def ensure_installed() -> None:
    """Install ``slurm-wlm`` with apt when its daemons are missing.

    Raises:
        SlurmUnavailable: not root, no apt-get, or the installation failed (its output's tail).
    """
    if all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS):
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable("slurm-wlm is not installed and installing it needs root")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable("slurm-wlm is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "slurm-wlm"]):
        done = _run(cmd, INSTALL_TIMEOUT_S, env=env)
        if done.returncode != 0:
            raise SlurmUnavailable(f"'{' '.join(cmd)}' failed: {(done.stdout + done.stderr)[-500:]}")


def _daemon(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _conf(root: Path, host: str, ctld_port: int, slurmd_port: int) -> str:
    return "\n".join([
        "ClusterName=spkssltest", f"SlurmctldHost={host}(127.0.0.1)", "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", f"AuthInfo=socket={root}/munge/socket", "CredType=cred/munge",
        f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid", f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log", f"SlurmdLogFile={root}/slurmd.log",
        f"SlurmctldPort={ctld_port}", f"SlurmdPort={slurmd_port}",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SchedulerType=sched/builtin",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU", "SlurmdParameters=config_overrides",
        "ReturnToService=2", "MpiDefault=none", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs=8 RealMemory=65536 State=UNKNOWN",
        f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP", "",
    ])


def _stop(root: Path) -> None:
    for name in ("slurmd", "slurmctld", "munge/munged"):
        pid_file = root / f"{name}.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            continue
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def start_cluster(root: Path) -> tuple[dict[str, str], Callable[[], None]]:
    """Start munged, slurmctld and slurmd with their files under ``root``; return ``(env, stop)``.

    Raises:
        SlurmUnavailable: installation or start failed (with the daemon's log tail).
    """
    ensure_installed()
    if os.geteuid() != 0:
        raise SlurmUnavailable("slurmd must run as root to start jobs")
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = root / "slurm.conf"
    conf.write_text(_conf(root, host, *_free_ports(2)))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    steps = [
        [_daemon("munged"), "--force", f"--socket={root}/munge/socket", f"--key-file={key}",
         f"--pid-file={root}/munge/munged.pid", f"--log-file={root}/munge/munged.log", f"--seed-file={root}/munge/seed"],
        [_daemon("slurmctld"), "-f", str(conf)],
        [_daemon("slurmd"), "-f", str(conf), "-N", host],
    ]
    for cmd in steps:
        done = _run(cmd, START_TIMEOUT_S, env=env)
        if done.returncode != 0:
            _stop(root)
            raise SlurmUnavailable(f"{Path(cmd[0]).name} did not start: {(done.stdout + done.stderr)[-500:]}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        state = _run(["sinfo", "-h", "-o", "%T"], START_TIMEOUT_S, env=env).stdout.strip()
        if state == "idle":
            return env, lambda: _stop(root)
        if time.monotonic() > deadline:
            logs = "".join((root / f).read_text()[-300:] for f in ("slurmctld.log", "slurmd.log") if (root / f).exists())
            _stop(root)
            raise SlurmUnavailable(f"the node did not become idle (sinfo: {state!r}): {logs}")
        time.sleep(0.2)
