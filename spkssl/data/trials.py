"""Trial lists → Kaldi form ``utt1 utt2 target|nontarget`` keyed by the manifests' cut ids.

Accepts the official VoxCeleb form (``1 id10270/x6uYqmx31kE/00001.wav id10270/...``,
label first; paths map to lhotse's VoxCeleb ids ``id10270-x6uYqmx31kE-00001``)
and the Kaldi form (label last), which is validated and copied.  Every id must
be a cut in the given cut set; an unknown id is an error naming the line.

Example:
    >>> n = convert_trials("veri_test2.txt", "data/trials/vox1_o.trials",
    ...                    cut_ids={"id10270-x6uYqmx31kE-00001"})  # doctest: +SKIP
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Container, Iterable, Iterator

import numpy as np

from spkssl.utils.io import write_text_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

_KALDI_LABELS = ("target", "nontarget")
_OFFICIAL_LABELS = {"1": "target", "0": "nontarget"}


class TrialsError(ValueError):
    """A trial list line is malformed or names an unknown utterance (message names file:line)."""


def voxceleb_path_to_id(path: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` → ``id10270-x6uYqmx31kE-00001`` (lhotse's VoxCeleb id)."""
    stem = path.rsplit(".", 1)[0] if path.lower().endswith((".wav", ".m4a", ".flac")) else path
    return "-".join(p for p in stem.split("/") if p)


def parse_trial_line(line: str, where: str) -> tuple[str, str, str]:
    """Parse one official or Kaldi trial line → ``(utt1, utt2, "target"|"nontarget")``."""
    fields = line.split()
    if len(fields) != 3:
        raise TrialsError(f"{where}: expected 3 fields, got {len(fields)}: {line.strip()!r}")
    if fields[2] in _KALDI_LABELS:
        return fields[0], fields[1], fields[2]
    if fields[0] in _OFFICIAL_LABELS:
        return voxceleb_path_to_id(fields[1]), voxceleb_path_to_id(fields[2]), _OFFICIAL_LABELS[fields[0]]
    raise TrialsError(
        f"{where}: cannot tell the format: neither '<0|1> <path1> <path2>' nor "
        f"'<utt1> <utt2> target|nontarget': {line.strip()!r}"
    )


def iter_trials(path: str | Path) -> Iterator[tuple[str, str, str, str]]:
    """Yield ``(utt1, utt2, label, "file:line")`` for each non-blank line of a trial list."""
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                where = f"{path}:{lineno}"
                yield (*parse_trial_line(line, where), where)


def convert_trials(src: str | Path, out: str | Path, cut_ids: Container[str]) -> int:
    """Convert/validate ``src`` and write Kaldi trials to ``out`` atomically; returns the count.

    Raises:
        TrialsError: naming file:line for a malformed line or an id not in ``cut_ids``;
            nothing is written then.
    """
    lines: list[str] = []
    n_target = 0
    for utt1, utt2, label, where in iter_trials(src):
        for utt in (utt1, utt2):
            if utt not in cut_ids:
                raise TrialsError(f"{where}: utterance '{utt}' is not in the cut set")
        lines.append(f"{utt1} {utt2} {label}\n")
        n_target += label == "target"
    if not lines:
        raise TrialsError(f"{src}: no trials found")
    write_text_atomic(out, "".join(lines))
    log.info("%s: %d trials (%d target, %d nontarget) → %s",
             src, len(lines), n_target, len(lines) - n_target, out)
    return len(lines)


def make_trials(
    spk2utt: dict[str, list[str]],
    rng: np.random.Generator,
    trials_per_target: int = 4,
    max_target_trials: int | None = None,
) -> list[tuple[str, str, str]]:
    """Target pairs (all, or a sample) plus random distinct nontarget pairs.

    Each pair appears once with ``utt1 < utt2``; the list is sorted.  The
    nontarget count is ``trials_per_target`` times the target count, capped by
    the number of cross-speaker pairs.

    Example:
        >>> make_trials({"a": ["a1", "a2"], "b": ["b1", "b2"]}, np.random.default_rng(0), 1)
        [('a1', 'a2', 'target'), ('a1', 'b2', 'nontarget'), ('a2', 'b1', 'nontarget'), ('b1', 'b2', 'target')]
    """
    targets = [p for utts in spk2utt.values() for p in itertools.combinations(sorted(utts), 2)]
    targets.sort()
    if max_target_trials is not None and len(targets) > max_target_trials:
        keep = np.sort(rng.choice(len(targets), size=max_target_trials, replace=False))
        targets = [targets[i] for i in keep]
    utts = sorted(u for us in spk2utt.values() for u in us)
    owner = {u: s for s, us in spk2utt.items() for u in us}
    sizes = [len(us) for us in spk2utt.values()]
    possible = (sum(sizes) ** 2 - sum(n * n for n in sizes)) // 2
    wanted = min(trials_per_target * len(targets), possible)
    chosen: set[tuple[str, str]] = set()
    while len(chosen) < wanted:
        batch = rng.integers(len(utts), size=(2 * (wanted - len(chosen)) + 16, 2))
        for i, j in batch:
            a, b = utts[min(i, j)], utts[max(i, j)]
            if owner[a] != owner[b]:
                chosen.add((a, b))
                if len(chosen) == wanted:
                    break
    trials = [(a, b, "target") for a, b in targets] + [(a, b, "nontarget") for a, b in chosen]
    return sorted(trials)


def validation_trials(
    utt2spk: Iterable[tuple[str, str]],
    num_speakers: int,
    seed: int = 0,
    nontarget_per_target: int = 4,
) -> list[tuple[str, str, str]]:
    """Trials over ``num_speakers`` randomly chosen speakers of a (training) set.

    Used to choose settings on a validation part of the training speakers: their
    labels only *measure* the embeddings, they never reach training.

    Example:
        >>> pairs = [("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")]
        >>> [t[2] for t in validation_trials(pairs, 2, seed=0, nontarget_per_target=1)].count("target")
        2
    """
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for utt, spk in utt2spk:
        spk2utt[spk].append(utt)
    speakers = sorted(s for s, us in spk2utt.items() if len(us) >= 2)
    if len(speakers) < 2:
        raise TrialsError("need at least 2 speakers with 2 or more utterances for validation trials")
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(speakers, size=min(num_speakers, len(speakers)), replace=False))
    return make_trials({s: spk2utt[s] for s in chosen}, rng, nontarget_per_target)
