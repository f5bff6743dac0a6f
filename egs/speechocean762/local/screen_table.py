#!/usr/bin/env python3
"""Print the settings-screen tables of RESULTS.md from the score files of finished experiments.

For every experiment folder and round: EER % of val, val_xch, test and test_xch with cosine /
PLDA / whiten, and the validation criterion (mean of the val and val_xch cosine EERs). With
``--seeds``, ``exp/<tag>_seed<S>`` for each S, then the mean ± std (n - 1) over the seeds, cosine /
PLDA, and the criterion of each seed.

Usage, from egs/speechocean762/:
    local/screen_table.py exp/cpu_seed0 exp/lr5e4_seed0          # single runs
    local/screen_table.py --seeds "0 1 2" cpu lr5e4 lr5e4e20      # over seeds
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

LISTS = ("val", "val_xch", "test", "test_xch")
BACKENDS = ("cosine", "plda", "whiten")


def eer(round_dir: Path, trials: str, backend: str) -> float:
    """The EER % that ``spkssl score`` wrote for one trial list and back-end."""
    path = round_dir / "scores" / f"{trials}.{backend}.json"
    try:
        return float(json.loads(path.read_text())["eer"])
    except FileNotFoundError:
        sys.exit(f"{path}: no score (the round is not scored yet)")


def criterion(round_dir: Path) -> float:
    return (eer(round_dir, "val", "cosine") + eer(round_dir, "val_xch", "cosine")) / 2


def rounds(exp: Path) -> list[str]:
    return sorted(p.name for p in exp.glob("round*") if (p / "scores").is_dir())


def single(exp: Path) -> None:
    for r in rounds(exp):
        cells = [" / ".join(f"{eer(exp / r, t, b):.2f}" for b in BACKENDS) for t in LISTS]
        print(f"| {exp.name} | {r} | " + " | ".join(cells) + f" | {criterion(exp / r):.2f} |")


def over_seeds(tag: str, seeds: list[str]) -> None:
    exps = [Path("exp") / f"{tag}_seed{s}" for s in seeds]
    for r in rounds(exps[0]):
        def ms(values: list[float]) -> str:
            return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
        cells = [" / ".join(ms([eer(e / r, t, b) for e in exps]) for b in BACKENDS[:2]) for t in LISTS]
        crit = [criterion(e / r) for e in exps]
        print(f"| {tag} | {r} | " + " | ".join(cells)
              + f" | {ms(crit)} ({', '.join(f'{c:.2f}' for c in crit)}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiments", nargs="+", help="experiment folders, or tags with --seeds")
    parser.add_argument("--seeds", help='e.g. "0 1 2": the arguments are tags of exp/<tag>_seed<S>')
    args = parser.parse_args()
    for name in args.experiments:
        if args.seeds:
            over_seeds(name, args.seeds.split())
        else:
            single(Path(name))


if __name__ == "__main__":
    main()
