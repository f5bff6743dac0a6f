"""Kaldi trial lists: ``utt1 utt2 target|nontarget`` (or an unlabelled ``utt1 utt2``).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.trials"
    >>> _ = p.write_text("a b target\\na c nontarget\\n")
    >>> t = read_trials(p)
    >>> t.enroll, t.test, t.labels.tolist()
    (['a', 'a'], ['b', 'c'], [True, False])
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

LABELS = {"target": True, "nontarget": False}


class TrialsError(ValueError):
    """A trial list is missing, empty or malformed (names file, line and content)."""


@dataclass
class Trials:
    """A parsed trial list; ``labels`` is None for an unlabelled list."""

    path: str
    enroll: list[str]
    test: list[str]
    labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.enroll)

    def index(self, ids: Sequence[str], enroll_ids: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Row indices of every trial's two utterances in ``enroll_ids`` (default ``ids``) and ``ids``.

        Raises:
            TrialsError: naming the line number and id of the first utterance without an embedding.
        """
        test_pos = {u: i for i, u in enumerate(ids)}
        enroll_pos = test_pos if enroll_ids is None else {u: i for i, u in enumerate(enroll_ids)}
        e_idx = _lookup(self.enroll, enroll_pos, self.path, "enrollment")
        t_idx = _lookup(self.test, test_pos, self.path, "test")
        return e_idx, t_idx

    def known_only(self, ids: Sequence[str], enroll_ids: Sequence[str] | None = None) -> tuple["Trials", int]:
        """The trials whose two utterances have embeddings, and how many were left out (Kaldi's skip-and-count).

        Raises:
            TrialsError: when no trial is left.
        """
        test, enroll = set(ids), set(ids if enroll_ids is None else enroll_ids)
        keep = [i for i, (e, t) in enumerate(zip(self.enroll, self.test)) if e in enroll and t in test]
        skipped = len(self) - len(keep)
        if not keep:
            raise TrialsError(f"{self.path}: none of its {len(self)} trials has both embeddings")
        labels = None if self.labels is None else self.labels[keep]
        return Trials(self.path, [self.enroll[i] for i in keep], [self.test[i] for i in keep], labels), skipped


def _lookup(names: list[str], pos: dict[str, int], path: str, what: str) -> np.ndarray:
    out = np.fromiter((pos.get(u, -1) for u in names), dtype=np.int64, count=len(names))
    missing = np.flatnonzero(out < 0)
    if missing.size:
        i = int(missing[0])
        raise TrialsError(
            f"{path}:{i + 1}: {what} utterance '{names[i]}' has no embedding "
            f"({missing.size} trial(s) affected)"
        )
    return out


def read_trials(path: str | Path, require_labels: bool = True) -> Trials:
    """Parse a Kaldi trial list.

    Args:
        path: file with ``utt1 utt2 target|nontarget`` per line.
        require_labels: if False, two-column (unlabelled) lists are accepted too.

    Raises:
        TrialsError: missing/empty file, a line with the wrong number of fields or label.
    """
    path = Path(path)
    if not path.is_file():
        raise TrialsError(f"trial list not found: {path}")
    enroll: list[str] = []
    test: list[str] = []
    labels: list[bool] = []
    ncols = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) not in (2, 3) or (len(parts) == 2 and require_labels):
                raise TrialsError(
                    f"{path}:{lineno}: expected 'utt1 utt2 target|nontarget', got {line.rstrip()!r}"
                )
            if ncols is None:
                ncols = len(parts)
            elif len(parts) != ncols:
                raise TrialsError(f"{path}:{lineno}: {len(parts)} fields, earlier lines have {ncols}: {line.rstrip()!r}")
            if len(parts) == 3:
                if parts[2] not in LABELS:
                    raise TrialsError(
                        f"{path}:{lineno}: label must be 'target' or 'nontarget', got {line.rstrip()!r}"
                    )
                labels.append(LABELS[parts[2]])
            enroll.append(parts[0])
            test.append(parts[1])
    if not enroll:
        raise TrialsError(f"trial list {path} is empty")
    return Trials(str(path), enroll, test, np.asarray(labels, dtype=bool) if ncols == 3 else None)
