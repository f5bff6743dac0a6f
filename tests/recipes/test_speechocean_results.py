"""egs/speechocean762/RESULTS.md states the validation trial list that stage 1 really writes."""
from __future__ import annotations

import re
from pathlib import Path

from spkssl.config import load_config
from spkssl.data.trials import validation_trials

RECIPE = Path(__file__).resolve().parents[2] / "egs" / "speechocean762"


def test_results_md_gives_the_size_of_the_validation_trials(speechocean_dir: Path) -> None:
    v = load_config(RECIPE / "conf" / "cpu.yaml")["data"]["validation"]
    pairs = [tuple(line.split()) for line in (speechocean_dir / "train" / "utt2spk").read_text().splitlines()]
    trials = validation_trials(pairs, v["num_speakers"], v["seed"], v["nontarget_per_target"])
    targets = sum(label == "target" for _, _, label in trials)
    text = re.sub(r"\s+", " ", (RECIPE / "RESULTS.md").read_text())
    stated = re.search(r"`data/trials/val.trials` holds ([\d,]+) trials \(([\d,]+) target, ([\d,]+) nontarget\) "
                       r"over (\d+) training speakers", text)
    assert stated, "RESULTS.md no longer states the size of data/trials/val.trials"
    numbers = [int(g.replace(",", "")) for g in stated.groups()]
    assert numbers == [len(trials), targets, len(trials) - targets, v["num_speakers"]]


def test_results_md_quotes_only_paths_that_exist() -> None:
    """Every path RESULTS.md quotes (its results/, conf/ and local/ files among them) exists; its links are
    checked with every other page's (tests/docs/test_links.py)."""
    text = (RECIPE / "RESULTS.md").read_text()
    quoted = [t for t in re.findall(r"`([^`\s]+)`", text)
              if t.startswith(("results/", "local/", "conf/", "spkssl/", "tests/", "benchmarks/", "egs/"))
              and not re.search(r"[{}<>*$=]", t)]
    missing = [p for p in quoted if not ((RECIPE / p).exists() or (RECIPE.parents[1] / p).exists())]
    assert not missing, f"RESULTS.md names files that do not exist: {missing}"
