"""``spkssl embed`` wall time by thread setting, on an idle and on a loaded machine.

Runs the real command (``spkssl embed MODEL FILES --threads T``) on speechocean762 test files with
the egs/mini-sized TDNN (random weights: only speed is compared), for T in 0 (the default: the
cores not busy now), 1 and every core, first with the machine as it is, then with a busy process
spinning on each of ``--load`` cores.  Each setting is run ``--repeats`` times, alternating, and
its fastest run counts.  The table gives utterances/s and the ratio to one thread in the same
condition; ``--log FILE`` appends it with the load averages.

    python benchmarks/embed_threads.py --num-utts 300 --load 1 --log benchmarks/results/embed_threads.log
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = next((p for p in (REPO.parent / "shared" / "data" / "speechocean762",
                           Path("/work/shared/data/speechocean762")) if (p / "test" / "wav.scp").is_file()), None)


def _spin() -> None:
    while True:
        pass


def run(model: Path, scp: Path, out: Path, threads: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from spkssl.cli import cli; cli()", "embed", str(model), str(scp),
                    "--out-dir", str(out), "--threads", str(threads), "--force", "true"],
                   check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-utts", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--load", type=int, default=1, help="busy processes in the loaded condition")
    ap.add_argument("--log", default=None)
    args = ap.parse_args()
    if CORPUS is None:
        sys.exit("speechocean762 not found beside the project")
    import torch

    from spkssl.config import with_defaults
    from spkssl.models import build_model
    from spkssl.models.io import save_final_model

    cores = len(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    cfg = {"model": {"name": "tdnn", "embed_dim": 128, "kwargs": {"channels": 128}}, "features": {"num_mel_bins": 80}}
    save_final_model(tmp / "final.pt", build_model(with_defaults("model", cfg["model"]), 80), cfg)
    lines = [ln for ln in (CORPUS / "test" / "wav.scp").read_text().splitlines() if ln.strip()][:args.num_utts]
    scp = tmp / "wav.scp"
    scp.write_text("".join(f"{ln.split()[0]} {CORPUS / ln.split()[1]}\n" for ln in lines))
    settings = sorted({0, 1, cores})
    rows = [f"spkssl embed of {len(lines)} speechocean762 test files, egs/mini TDNN, {cores} core(s); fastest of "
            f"{args.repeats}; load average before {os.getloadavg()[0]:.2f}",
            "| machine | --threads | utterances/s | vs 1 thread |", "| --- | --- | --- | --- |"]
    for condition in ("idle", f"{args.load} busy process(es)"):
        spinners = [mp.Process(target=_spin, daemon=True) for _ in range(args.load if condition != "idle" else 0)]
        for p in spinners:
            p.start()
        time.sleep(2 if spinners else 0)
        best = {t: min(run(tmp / "final.pt", scp, tmp / f"e{t}", t) for _ in range(args.repeats)) for t in settings}
        for t in settings:
            name = f"{t} (default: the cores not busy)" if t == 0 else str(t)
            rows.append(f"| {condition} | {name} | {len(lines) / best[t]:.1f} | {best[1] / best[t]:.2f}x |")
        for p in spinners:
            p.terminate()
    rows.append(f"load average after {os.getloadavg()[0]:.2f}")
    text = "\n".join(rows)
    print(text)
    if args.log:
        with open(args.log, "a", encoding="utf-8") as f:
            f.write(text + "\n\n")


if __name__ == "__main__":
    main()
