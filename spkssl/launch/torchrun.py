"""``spkssl train --nodes N --ngpu G``: one torchrun agent per node, meeting through a c10d rendezvous.

- One node (``--ngpu G``, G > 1): ``torchrun --standalone --nproc_per_node=G``.
- Several nodes inside a Slurm allocation (``SLURM_JOB_ID``, at least N tasks: what
  ``$cuda_cmd --nodes N`` asks for): ``srun --ntasks=N --ntasks-per-node=1 torchrun ...``, the
  rendezvous on the allocation's first node; no one logs into a node.
- Several nodes anywhere else: N agents on this machine (how the tests run it; containers too).

Every agent runs ``spkssl-torchrun --nnodes=N --nproc_per_node=G --rdzv_backend=c10d
--rdzv_endpoint=HOST:PORT --rdzv_id=ID --max_restarts=R --no-python spkssl train ...``: torchrun with
SIGUSR1 passed on to its workers (:mod:`spkssl.launch.agent`). A lost worker makes torchrun restart
the group (up to R times), and the trainer resumes from its newest full-state checkpoint; SIGUSR1
to the launcher (or to an agent) stops every worker after the same step with a checkpoint, and the
launch exits 4.

Example:
    >>> agent_argv(["train", "--exp", "e", "--round", "0", "--nodes", "2", "--ngpu", "1"], 2, 1, "n1:29400", "j7", 3)
    ... # doctest: +NORMALIZE_WHITESPACE
    ['spkssl-torchrun', '--nnodes=2', '--nproc_per_node=1', '--rdzv_backend=c10d', '--rdzv_endpoint=n1:29400',
     '--rdzv_id=j7', '--max_restarts=3', '--no-python', 'spkssl', 'train', '--exp', 'e', '--round', '0']
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from typing import Sequence

from spkssl.launch.agent import MARKER_ENV, forward_usr1, new_marker, preempted
from spkssl.training.preempt import PREEMPTED_EXIT
from spkssl.utils.logging import get_logger

log = get_logger(__name__)
#: options of ``spkssl train`` that choose the launch, not the training (removed from the workers' command)
LAUNCH_OPTIONS = ("--ngpu", "--nodes", "--max-restarts")
#: torchrun with SIGUSR1 passed on to the workers (spkssl/launch/agent.py, installed with the package)
AGENT = "spkssl-torchrun"
_NO_AGENT = f"several workers need {AGENT} on PATH (installed with spkssl: pip install -e .)"


def strip_launch_options(argv: Sequence[str]) -> list[str]:
    """``argv`` without :data:`LAUNCH_OPTIONS` and their values.

    >>> strip_launch_options(["train", "--nodes", "2", "--ngpu=4", "--exp", "e"])
    ['train', '--exp', 'e']
    """
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in LAUNCH_OPTIONS:
            skip = True
        elif not arg.startswith(tuple(f"{o}=" for o in LAUNCH_OPTIONS)):
            kept.append(arg)
    return kept


def standalone_argv(argv: Sequence[str], nproc: int, max_restarts: int = 0) -> list[str]:
    """The one-node torchrun command of ``spkssl <argv>`` on ``nproc`` local processes.

    >>> standalone_argv(["train", "--exp", "e", "--ngpu", "2"], 2)[:4]
    ['spkssl-torchrun', '--standalone', '--nnodes=1', '--nproc_per_node=2']
    """
    return [AGENT, "--standalone", "--nnodes=1", f"--nproc_per_node={nproc}", f"--max_restarts={max_restarts}",
            "--no-python", "spkssl", *strip_launch_options(argv)]


def agent_argv(argv: Sequence[str], nodes: int, nproc: int, endpoint: str, rdzv_id: str,
               max_restarts: int = 0) -> list[str]:
    """One node's torchrun agent of ``spkssl <argv>`` in a ``nodes``-node job."""
    return [AGENT, f"--nnodes={nodes}", f"--nproc_per_node={nproc}", "--rdzv_backend=c10d",
            f"--rdzv_endpoint={endpoint}", f"--rdzv_id={rdzv_id}", f"--max_restarts={max_restarts}", "--no-python",
            "spkssl", *strip_launch_options(argv)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_tasks() -> int:
    """Tasks of the Slurm allocation this process runs in (0 outside Slurm)."""
    if not os.environ.get("SLURM_JOB_ID"):
        return 0
    return int(os.environ.get("SLURM_NTASKS") or os.environ.get("SLURM_JOB_NUM_NODES") or 0)


def _first_node() -> str:
    nodes = os.environ.get("SLURM_JOB_NODELIST", "")
    try:
        out = subprocess.run(["scontrol", "show", "hostnames", nodes], capture_output=True, text=True,
                             timeout=30, check=True).stdout.split()
        return out[0] if out else socket.gethostname()
    except (OSError, subprocess.SubprocessError):
        return socket.gethostname()


def launch_agents(argv: Sequence[str], nodes: int, nproc: int, max_restarts: int = 0) -> int:
    """Run ``spkssl <argv>`` on ``nodes`` x ``nproc`` workers; return the worst agent's exit status.

    Raises:
        RuntimeError: torchrun (or srun, inside Slurm) is not on PATH, or the Slurm allocation
            has fewer tasks than ``nodes``.
    """
    if shutil.which(AGENT) is None:
        raise RuntimeError(_NO_AGENT)
    marker = new_marker()  # rank 0 leaves it when SIGUSR1 stopped the workers (on the shared working folder)
    env = {**os.environ, MARKER_ENV: str(marker)}
    previous = signal.signal(signal.SIGUSR1, forward_usr1)  # to the agents (or srun, which passes it to them)
    try:
        code = _run_agents(argv, nodes, nproc, max_restarts, env)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    if preempted(marker):
        marker.unlink(missing_ok=True)
        return PREEMPTED_EXIT
    return code


def _run_agents(argv: Sequence[str], nodes: int, nproc: int, max_restarts: int, env: dict[str, str]) -> int:
    tasks = slurm_tasks()
    if tasks:
        if tasks < nodes:
            raise RuntimeError(f"--nodes {nodes} in a Slurm allocation of {tasks} task(s): ask for one task per node "
                               f"(cmd.sh's $cuda_cmd --nodes {nodes})")
        if shutil.which("srun") is None:
            raise RuntimeError("inside a Slurm allocation but srun is not on PATH")
        endpoint = f"{_first_node()}:{29400 + int(os.environ['SLURM_JOB_ID']) % 1000}"
        spread = ["--ntasks-per-node=1"] if int(os.environ.get("SLURM_JOB_NUM_NODES") or 1) >= nodes else []
        cmd = ["srun", f"--ntasks={nodes}", *spread, "--kill-on-bad-exit=1",
               *agent_argv(argv, nodes, nproc, endpoint, os.environ["SLURM_JOB_ID"], max_restarts)]
        log.info("starting %d x %d workers through Slurm: %s", nodes, nproc, " ".join(cmd))
        return subprocess.run(cmd, env=env).returncode
    endpoint, rdzv_id = f"127.0.0.1:{_free_port()}", uuid.uuid4().hex[:12]
    cmd = agent_argv(argv, nodes, nproc, endpoint, rdzv_id, max_restarts)
    log.info("starting %d torchrun agents of %d worker(s) on this machine: %s", nodes, nproc, " ".join(cmd))
    agents = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env=env) for _ in range(nodes)]
    codes = [a.wait() for a in agents]
    return max(codes, key=abs)


def exec_standalone(argv: Sequence[str], nproc: int, max_restarts: int = 0) -> None:
    """Replace this process with the one-node torchrun of ``spkssl <argv>``."""
    cmd = standalone_argv(argv, nproc, max_restarts)
    if shutil.which(AGENT) is None:
        raise RuntimeError(_NO_AGENT)
    print(f"starting DDP: {' '.join(cmd)}", file=sys.stderr, flush=True)
    os.execvp(cmd[0], cmd)
