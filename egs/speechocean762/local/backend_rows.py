#!/usr/bin/env python3
"""Print RESULTS.md's 3-seed table rows (cosine / PLDA / whiten side by side) from `spkssl report` files.

Reads ``RESULTS[_<list>]_<backend>.md`` of one ``exp/<tag>_seeds`` folder (or its copy under
``results/``) and prints, for every system with results, one row: EER % of each back-end,
minDCF 0.01 of each, the NMI of its pseudo labels, and the EER % of each run per back-end.

Usage, from egs/speechocean762/:
    local/backend_rows.py results/seeds test        # test trials
    local/backend_rows.py results/seeds val_xch     # the cross-channel validation trials
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

BACKENDS = ("cosine", "plda", "whiten")


def report_path(folder: Path, trials: str, backend: str) -> Path:
    """The report file ``spkssl report`` writes for a trial list and back-end (test/cosine is RESULTS.md)."""
    parts = [p for p in (None if trials == "test" else trials, None if backend == "cosine" else backend) if p]
    return folder / ("RESULTS" + "".join(f"_{p}" for p in parts) + ".md")


def rows(path: Path) -> dict[str, list[str]]:
    """System → the cells of its row (runs, EER, minDCF 0.01, minDCF 0.05, NMI, per-run EERs), rows with results."""
    if not path.is_file():
        sys.exit(f"{path}: no report (run stage 7 over the seeds first)")
    out = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].isdigit() and int(cells[1]) > 0:
            out[cells[0]] = cells[1:]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="exp/<tag>_seeds or its copy under results/")
    ap.add_argument("trials", help="trial list: test, test_xch, val, val_xch")
    args = ap.parse_args(argv)
    tables = {b: rows(report_path(args.folder, args.trials, b)) for b in BACKENDS}
    for system in tables["cosine"]:
        cells = [tables[b].get(system) for b in BACKENDS]
        if None in cells:
            sys.exit(f"{system}: missing from a back-end's report")
        eers = " | ".join(c[1] for c in cells)
        dcf = " / ".join(c[2] for c in cells)
        runs = " / ".join(c[5] for c in cells)
        print(f"| {system} | {eers} | {dcf} | {cells[0][4]} | {runs} |")


if __name__ == "__main__":
    main()
