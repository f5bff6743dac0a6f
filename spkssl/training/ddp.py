"""Distributed data-parallel helpers for ``spkssl train`` under ``torchrun``.

Launch multi-process training by running ``spkssl train`` itself under torchrun
(``spkssl train --ngpu N`` does this for one node)::

    torchrun --nnodes 2 --nproc_per_node 8 ... --no-python spkssl train --exp exp/tag --round 0

``torchrun`` sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``;
:func:`init_distributed` then joins the process group (NCCL on CUDA, gloo on
CPU).  Every rank trains on its own shard of each epoch; only rank 0 writes
checkpoints, TensorBoard events, ``final.pt`` and the summary.

Example:
    >>> ctx = DistContext()          # single process
    >>> ctx.is_main, ctx.world_size
    (True, 1)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in a (possibly single-process) job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group is in use."""
        return self.world_size > 1 or (dist.is_available() and dist.is_initialized())

    def barrier(self) -> None:
        """Wait for all ranks (no-op without a process group)."""
        if dist.is_available() and dist.is_initialized():
            dist.barrier()

    def all_finite(self, value: float, device: torch.device) -> bool:
        """True only if ``value`` is finite on every rank (so all ranks stop together)."""
        ok = torch.tensor([1.0 if torch.isfinite(torch.tensor(value)) else 0.0], device=device)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(ok, op=dist.ReduceOp.MIN)
        return bool(ok.item() > 0)


def launched_by_torchrun() -> bool:
    """True when the environment describes a torchrun/torch.distributed launch."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed(device: torch.device) -> DistContext:
    """Join the process group described by the environment (NCCL on CUDA, gloo on CPU)."""
    if not launched_by_torchrun():
        return DistContext()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT")
        if restart is not None and os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True":
            # torchrun restarted the workers: meet in a key space of this attempt, so no address a worker
            # of the lost attempt published is read (gloo would try to connect to it)
            store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world, is_master=False,
                                  timeout=timedelta(minutes=10))
            dist.init_process_group(backend=backend, store=dist.PrefixStore(f"spkssl/attempt_{restart}", store),
                                    rank=rank, world_size=world)
        else:
            dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistContext(rank=rank, world_size=world, local_rank=local_rank)


def cleanup_distributed() -> None:
    """Leave the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
