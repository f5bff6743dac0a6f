"""Kaldi-style score files (``utt1 utt2 score``) and their metrics JSON.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from spkssl.scoring.trials import read_trials
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t").write_text("a b target\\na c nontarget\\n")
    >>> trials = read_trials(d / "t")
    >>> write_scores(d / "s.score", trials, np.array([0.5, -0.25]))
    >>> read_scored_trials(d / "s.score", trials)[0].tolist()
    [0.5, -0.25]
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from spkssl.scoring.trials import Trials, TrialsError, read_trials
from spkssl.utils.io import atomic_path


def write_scores(path: str | Path, trials: Trials, scores: np.ndarray) -> None:
    """Write ``utt1 utt2 score`` per trial (trial order) atomically."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size != len(trials):
        raise ValueError(f"{scores.size} scores for {len(trials)} trials ({trials.path})")
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(f"{e} {t} {s:.6f}\n" for e, t, s in zip(trials.enroll, trials.test, scores.tolist()))


def read_score_file(path: str | Path) -> dict[tuple[str, str], float]:
    """Read ``utt1 utt2 score`` lines into a dict (errors name file, line and content).

    A fourth column ``accept|reject`` (``spkssl verify --out``) is allowed: every scoring command's
    file reads here.
    """
    path = Path(path)
    if not path.is_file():
        raise TrialsError(f"score file not found: {path}")
    out: dict[tuple[str, str], float] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 3 and not (len(parts) == 4 and parts[3] in ("accept", "reject")):
                raise TrialsError(f"{path}:{lineno}: expected 'utt1 utt2 score [accept|reject]', "
                                  f"got {line.rstrip()!r}")
            try:
                value = float(parts[2])
            except ValueError:
                raise TrialsError(f"{path}:{lineno}: score is not a number: {line.rstrip()!r}") from None
            if not np.isfinite(value):
                raise TrialsError(f"{path}:{lineno}: score is not finite: {line.rstrip()!r}")
            out[(parts[0], parts[1])] = value
    if not out:
        raise TrialsError(f"score file {path} is empty")
    return out


def read_scored_trials(score_file: str | Path, trials: str | Path | Trials) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a trial list from a score file → ``(scores float64[T], labels bool[T])`` in trial order.

    Raises:
        spkssl.scoring.trials.TrialsError: a trial without a score (naming the trial-list line) or an unlabelled list.
    """
    if not isinstance(trials, Trials):
        trials = read_trials(trials)
    if trials.labels is None:
        raise TrialsError(f"{trials.path}: trial list has no target/nontarget labels")
    table = read_score_file(score_file)
    scores = np.empty(len(trials), dtype=np.float64)
    for i, key in enumerate(zip(trials.enroll, trials.test)):
        value = table.get(key)
        if value is None:
            raise TrialsError(f"{trials.path}:{i + 1}: trial '{key[0]} {key[1]}' has no score in {score_file}")
        scores[i] = value
    return scores, trials.labels


def read_utt2spk(path: str | Path) -> dict[str, str]:
    """Read a Kaldi ``utt2spk`` (``utt spk`` per line); errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise TrialsError(f"utt2spk not found: {path}")
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise TrialsError(f"{path}:{lineno}: expected 'utt spk', got {line.rstrip()!r}")
            if parts[0] in out:
                raise TrialsError(f"{path}:{lineno}: utterance '{parts[0]}' listed twice")
            out[parts[0]] = parts[1]
    if not out:
        raise TrialsError(f"utt2spk {path} is empty")
    return out
