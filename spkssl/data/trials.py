"""Trial lists in Kaldi form ``utt1 utt2 target|nontarget``, keyed by the manifests' cut ids.

Converting (:func:`convert_trials`): the official VoxCeleb form (``1 id10270/x6uYqmx31kE/00001.wav
id10270/...``, label first; paths map to lhotse's VoxCeleb ids ``id10270-x6uYqmx31kE-00001``)
and the Kaldi form (label last), which is validated and copied.  Every id must be a cut in
the given cut set; an unknown id is an error naming the line, or, with ``skip_missing``,
a trial left out and counted, as Kaldi's scoring programs do.

Making (:func:`speaker_trials`): for a labelled set that ships no list, every target pair
(or a number per speaker) plus random nontarget pairs; the validation trials over training
speakers (:func:`validation_trials`) follow the same rules on a draw of speakers.

Example:
    >>> done = convert_trials("veri_test2.txt", "data/trials/vox1_o.trials",
    ...                       cut_ids={"id10270-x6uYqmx31kE-00001"})  # doctest: +SKIP
    >>> trials = speaker_trials([("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")], nontarget_per_target=1)
    >>> [t for t in trials if t[2] == "target"]
    [('a1', 'a2', 'target'), ('b1', 'b2', 'target')]
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Container, Iterable, Iterator, Sequence

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


@dataclass(frozen=True)
class WrittenTrials:
    """What a written trial list holds: trials, target trials, and the trials left out."""

    num_trials: int
    num_target: int
    num_skipped: int = 0

    def describe(self, out: str | Path) -> str:
        """``wrote 4 trials (2 target, 2 nontarget) to OUT`` (and how many were skipped)."""
        text = (f"wrote {self.num_trials} trials ({self.num_target} target, "
                f"{self.num_trials - self.num_target} nontarget) to {out}")
        return text + (f"; skipped {self.num_skipped} naming utterances not in the cut set" if self.num_skipped else "")


def convert_trials(src: str | Path, out: str | Path, cut_ids: Container[str],
                   skip_missing: bool = False) -> WrittenTrials:
    """Convert/validate ``src`` and write Kaldi trials to ``out`` atomically.

    Args:
        src: the official VoxCeleb or a Kaldi trial list.
        out: the Kaldi trial list to write.
        cut_ids: the ids of the cut set the trials must use.
        skip_missing: leave out a trial naming an utterance not in ``cut_ids`` (warned and
            counted, the first one named) instead of failing.

    Raises:
        TrialsError: naming file:line for a malformed line or (without ``skip_missing``) an
            id not in ``cut_ids``, or when no trial is left; nothing is written then.
    """
    lines: list[str] = []
    n_target = 0
    skipped: list[str] = []
    for utt1, utt2, label, where in iter_trials(src):
        unknown = next((u for u in (utt1, utt2) if u not in cut_ids), None)
        if unknown is not None:
            if not skip_missing:
                raise TrialsError(f"{where}: utterance '{unknown}' is not in the cut set")
            skipped.append(f"{where}: '{unknown}'")
            continue
        lines.append(f"{utt1} {utt2} {label}\n")
        n_target += label == "target"
    if skipped:
        log.warning("%s: skipped %d trial(s) naming utterances not in the cut set, first %s",
                    src, len(skipped), skipped[0])
    if not lines:
        raise TrialsError(f"{src}: no trials found" + (f" ({len(skipped)} skipped)" if skipped else ""))
    write_text_atomic(out, "".join(lines))
    log.info("%s: %d trials (%d target, %d nontarget) → %s",
             src, len(lines), n_target, len(lines) - n_target, out)
    return WrittenTrials(len(lines), n_target, len(skipped))


def write_trials(out: str | Path, trials: Sequence[tuple[str, str, str]]) -> WrittenTrials:
    """Write ``(utt1, utt2, label)`` trials to ``out`` in Kaldi form, atomically."""
    write_text_atomic(out, "".join(f"{a} {b} {lab}\n" for a, b, lab in trials))
    return WrittenTrials(len(trials), sum(lab == "target" for _, _, lab in trials))


def cut_speakers(cuts: Iterable, where: str = "the cut set", require_all: bool = True) -> list[tuple[str, str]]:
    """``(cut id, speaker)`` of every cut whose first supervision has a speaker.

    Raises:
        TrialsError: when ``require_all`` and a cut has no speaker (the first is named), or
            when no cut has one.
    """
    pairs, unlabelled = [], []
    for cut in cuts:
        spk = cut.supervisions[0].speaker if cut.supervisions else None
        (unlabelled.append(cut.id) if spk is None else pairs.append((cut.id, str(spk))))
    if unlabelled and (require_all or not pairs):
        raise TrialsError(f"{where}: {len(unlabelled)} cut(s) have no speaker, e.g. '{unlabelled[0]}'; "
                          "trials need speaker labels")
    if unlabelled:
        log.warning("%s: %d cut(s) without a speaker are left out of the trials", where, len(unlabelled))
    return pairs


def make_trials(
    spk2utt: dict[str, list[str]],
    rng: np.random.Generator,
    trials_per_target: int = 4,
    max_target_trials: int | None = None,
    targets_per_speaker: int | None = None,
) -> list[tuple[str, str, str]]:
    """Target pairs (all, or a sample) plus random distinct nontarget pairs.

    Each pair appears once with ``utt1 < utt2``; the list is sorted.  The
    nontarget count is ``trials_per_target`` times the target count, capped by
    the number of cross-speaker pairs.  ``targets_per_speaker`` samples that many
    target pairs of each speaker (all of a speaker with fewer); ``max_target_trials``
    then samples that many of all the target pairs.

    Example:
        >>> make_trials({"a": ["a1", "a2"], "b": ["b1", "b2"]}, np.random.default_rng(0), 1)
        [('a1', 'a2', 'target'), ('a1', 'b2', 'nontarget'), ('a2', 'b1', 'nontarget'), ('b1', 'b2', 'target')]
    """
    if targets_per_speaker is None:
        targets = [p for utts in spk2utt.values() for p in itertools.combinations(sorted(utts), 2)]
    else:
        targets = []
        for spk in sorted(spk2utt):
            pairs = list(itertools.combinations(sorted(spk2utt[spk]), 2))
            if len(pairs) > targets_per_speaker:
                pairs = [pairs[i] for i in np.sort(rng.choice(len(pairs), size=targets_per_speaker, replace=False))]
            targets += pairs
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


def speaker_trials(
    utt2spk: Iterable[tuple[str, str]],
    num_speakers: int | None = None,
    seed: int = 0,
    nontarget_per_target: int = 4,
    targets_per_speaker: int | None = None,
) -> list[tuple[str, str, str]]:
    """Trials over the speakers of a labelled set that have 2 or more utterances.

    Args:
        utt2spk: ``(utterance, speaker)`` pairs.
        num_speakers: draw this many of those speakers (None: all of them).
        seed: seeds the draws of speakers and pairs.
        nontarget_per_target: nontarget trials per target trial.
        targets_per_speaker: target pairs drawn per speaker (None: every pair).

    Raises:
        TrialsError: fewer than 2 speakers with 2 or more utterances.

    Example:
        >>> pairs = [("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")]
        >>> trials = speaker_trials(pairs, targets_per_speaker=1, nontarget_per_target=2)
        >>> sum(t[2] == "target" for t in trials), sum(t[2] == "nontarget" for t in trials)
        (2, 4)
    """
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for utt, spk in utt2spk:
        spk2utt[spk].append(utt)
    speakers = sorted(s for s, us in spk2utt.items() if len(us) >= 2)
    if len(speakers) < 2:
        raise TrialsError(f"need at least 2 speakers with 2 or more utterances for trials, found {len(speakers)}")
    rng = np.random.default_rng(seed)
    if num_speakers is not None:
        speakers = sorted(rng.choice(speakers, size=min(num_speakers, len(speakers)), replace=False))
    return make_trials({s: spk2utt[s] for s in speakers}, rng, nontarget_per_target,
                       targets_per_speaker=targets_per_speaker)


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
    return speaker_trials(utt2spk, num_speakers, seed, nontarget_per_target)
