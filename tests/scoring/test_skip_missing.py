"""`spkssl score --skip-missing`: trials naming an utterance without an embedding are left out and counted."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.embed.io import write_embeddings
from spkssl.scoring.trials import TrialsError, read_trials


@pytest.fixture
def scored(tmp_path: Path, rng: np.random.Generator) -> Path:
    ids = [f"s{s}_{k}" for s in range(3) for k in range(3)]
    emb = np.repeat(rng.normal(size=(3, 8)), 3, axis=0) + 0.1 * rng.normal(size=(9, 8))
    write_embeddings(tmp_path / "emb", ids, emb.astype(np.float32))
    lines = [f"{a} {b} {'target' if a[1] == b[1] else 'nontarget'}" for i, a in enumerate(ids) for b in ids[i + 1:]]
    lines += ["s0_0 gone_1 target", "gone_2 s1_0 nontarget"]
    (tmp_path / "t.trials").write_text("\n".join(lines) + "\n")
    return tmp_path


def _score(d: Path, *extra: str):
    return CliRunner().invoke(cli, ["score", "--trials", str(d / "t.trials"), "--embeddings", str(d / "emb"),
                                    "--backend", "cosine", "--out-dir", str(d / "scores"), "--name", "t", *extra])


def test_unknown_utterances_fail_without_and_are_counted_with_skip_missing(scored: Path) -> None:
    res = _score(scored)
    assert res.exit_code == 1 and "t.trials:38: enrollment utterance 'gone_2' has no embedding" in res.output
    res = _score(scored, "--skip-missing", "true")
    assert res.exit_code == 0, res.output
    assert "skipped 2 trial(s) naming an utterance without an embedding" in res.stderr
    metrics = json.loads((scored / "scores" / "t.cosine.json").read_text())
    assert metrics["num_trials"] == 36 and metrics["eer"] == 0.0
    assert len((scored / "scores" / "t.cosine.score").read_text().splitlines()) == 36


def test_known_only_keeps_labels_in_order(scored: Path) -> None:
    trials = read_trials(scored / "t.trials")
    kept, skipped = trials.known_only([f"s{s}_{k}" for s in range(3) for k in range(3)])
    assert skipped == 2 and len(kept) == 36 and kept.labels.tolist() == trials.labels[:36].tolist()
    with pytest.raises(TrialsError, match="none of its 38 trials has both embeddings"):
        trials.known_only(["nobody"])
