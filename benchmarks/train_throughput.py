#!/usr/bin/env python3
"""Training throughput of the speaker networks: forward + backward + SGD step with NT-Xent.

Random 80-dim fbank crops, ``--batch`` segments per step (``batch / 2`` cuts ×
2 segments, the round-0 contrastive setting).  For every model and device it
prints parameters, segments per second, milliseconds per step and (CUDA) peak
GPU memory from ``torch.cuda.max_memory_allocated``.  Only needs torch and this
repository (``spkssl.models``, ``spkssl.losses``).

Example::

    python benchmarks/train_throughput.py --models tdnn --batch 8 --frames 100 --steps 2
    python benchmarks/train_throughput.py --device cuda --amp            # all models on the GPU
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from spkssl.config import with_defaults  # noqa: E402
from spkssl.losses import NTXentLoss  # noqa: E402
from spkssl.models import build_model  # noqa: E402

MODEL_CFGS: dict[str, dict] = {
    "tdnn": {"name": "tdnn", "pooling": "stats", "kwargs": {}},
    "resnet34": {"name": "resnet34", "pooling": "stats", "kwargs": {}},
    "ecapa512": {"name": "ecapa", "pooling": "attentive", "kwargs": {"channels": 512}},
    "ecapa1024": {"name": "ecapa", "pooling": "attentive", "kwargs": {"channels": 1024}},
}


@dataclass
class Result:
    """One row of the table."""

    model: str
    device: str
    params: int
    seg_per_s: float | None = None
    ms_per_step: float | None = None
    peak_mib: float | None = None
    note: str = ""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_one(name: str, device: torch.device, args: argparse.Namespace) -> Result:
    """Time ``args.steps`` training steps of model ``name`` on ``device`` after ``args.warmup`` untimed ones."""
    cfg = dict(MODEL_CFGS[name], embed_dim=args.embed_dim)
    torch.manual_seed(0)
    model = build_model(with_defaults("model", cfg), args.feat_dim).to(device).train()
    params = sum(p.numel() for p in model.parameters())
    loss_fn = NTXentLoss(temperature=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cuts = args.batch // 2
    feats = torch.randn(args.batch, args.frames, args.feat_dim, device=device)
    use_amp = args.amp
    amp_dtype = torch.bfloat16

    def step() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=amp_dtype, enabled=use_amp):
            emb = model(feats)
        loss = loss_fn(emb.float().view(cuts, 2, -1))
        loss.backward()
        opt.step()
        return loss

    try:
        for _ in range(args.warmup):
            step()
        _sync(device)
        if device.type == "cuda":
            # after warm-up: cuDNN's autotuning workspaces are not the training step's memory
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        _sync(device)
        elapsed = time.perf_counter() - start
    except torch.cuda.OutOfMemoryError:
        return Result(name, str(device), params, note="out of memory")
    if not torch.isfinite(loss):
        return Result(name, str(device), params, note="non-finite loss")
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return Result(
        name, str(device), params, args.batch * args.steps / elapsed, 1000 * elapsed / args.steps, peak
    )


def devices_for(choice: str) -> list[torch.device]:
    """``cpu`` / ``cuda`` / ``auto`` (the CPU, and CUDA too when present)."""
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda: no CUDA device is available")
        return [torch.device("cuda")]
    if choice == "cpu":
        return [torch.device("cpu")]
    return [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])


def format_table(rows: list[Result]) -> str:
    """Fixed-width text table of the results."""
    header = f"{'model':<10} {'device':<6} {'params(M)':>9} {'seg/s':>9} {'ms/step':>9} {'peak GPU MiB':>12}  note"
    lines = [header, "-" * len(header)]
    for r in rows:
        fmt = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
        lines.append(
            f"{r.model:<10} {r.device:<6} {r.params / 1e6:>9.2f} {fmt(r.seg_per_s, '9.1f'):>9} "
            f"{fmt(r.ms_per_step, '9.1f'):>9} {fmt(r.peak_mib, '12.0f'):>12}  {r.note}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--models", default="tdnn,resnet34,ecapa512,ecapa1024", help="comma-separated: " + ",".join(MODEL_CFGS))
    p.add_argument("--batch", type=int, default=32, help="segments per step (even: batch/2 cuts x 2 segments)")
    p.add_argument("--frames", type=int, default=200, help="frames per segment (200 = 2 s at 10 ms shift)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per model and device")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (cuDNN autotuning, allocator)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto", help="auto: CPU, and CUDA when present")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast for the network")
    p.add_argument("--feat-dim", type=int, default=80, help="fbank bins")
    p.add_argument("--embed-dim", type=int, default=256, help="embedding size")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    args = p.parse_args(argv)
    unknown = [m for m in args.models.split(",") if m not in MODEL_CFGS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {list(MODEL_CFGS)}")
    if args.batch < 2 or args.batch % 2:
        p.error(f"--batch must be an even number >= 2, got {args.batch}")
    if args.steps < 1 or args.warmup < 0 or args.frames < 1:
        p.error("--steps must be >= 1, --warmup >= 0, --frames >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    devices = devices_for(args.device)
    print(
        f"torch {torch.__version__}; devices {[str(d) for d in devices]}"
        + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "")
        + f"; CPU threads {torch.get_num_threads()}; batch {args.batch} x {args.frames} frames x {args.feat_dim} bins;"
        f" amp {'bf16' if args.amp else 'off'}; {args.steps} timed steps after {args.warmup} warm-up",
        flush=True,
    )
    rows = []
    for device in devices:
        for name in args.models.split(","):
            rows.append(bench_one(name, device, args))
            print(format_table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
