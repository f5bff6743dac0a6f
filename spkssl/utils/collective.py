"""Collectives over the DDP ranks that are the identity in a single process.

Statistics that objectives and loss gates gather per epoch (kept fractions, per-sample
losses, DINO entropies) must be the same on every rank, so that rank 0's checkpoint
describes the whole job.  With NCCL the tensors of a collective live on the rank's
GPU; these helpers move them there and back.

Example:
    >>> all_sum([1.0, 2.0])            # no process group: unchanged
    [1.0, 2.0]
    >>> import torch
    >>> all_gather_1d(torch.tensor([0.5, 1.5])).tolist()
    [0.5, 1.5]
"""
from __future__ import annotations

import torch
import torch.distributed as dist


def collective_device() -> torch.device | None:
    """Where the tensors of a collective must live (NCCL: this rank's GPU); None without a process group."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def own_share() -> bool:
    """True where a checkpoint's running (per-rank) statistics are this process's own: rank 0, or no process group."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def all_sum(values: list[float]) -> list[float]:
    """Element-wise sum of ``values`` over the ranks (``values`` themselves without a process group)."""
    device = collective_device()
    if device is None:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def all_gather_1d(values: torch.Tensor) -> torch.Tensor:
    """The 1-D tensors of every rank (lengths may differ), concatenated in rank order, on the CPU."""
    device = collective_device()
    if device is None:
        return values.cpu()
    size = torch.tensor([values.numel()], dtype=torch.int64, device=device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    longest = int(max(s.item() for s in sizes))
    padded = torch.full((longest,), float("nan"), dtype=values.dtype, device=device)
    padded[: values.numel()] = values.to(device)
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)]).cpu()
