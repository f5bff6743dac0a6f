"""Trial-list verification with a model's back-end and threshold (``spkssl verify --trials``).

A trial list is Kaldi's ``enroll test [target|nontarget]`` (labels optional).  With an
enrolment ``spk2utt`` the enrolment side names speakers, each represented by the mean
of its utterances' embeddings (Kaldi ``ivector-mean``); without one it names utterances.
Every trial gets a score and a decision at the model's threshold; on a labelled list the
report adds EER and minDCF (the list's own thresholds) and the false-accept and
false-reject rates at the model's threshold, beside the EER.

Example:
    >>> import numpy as np
    >>> from spkssl.scoring.trials import Trials
    >>> from spkssl.scoring.cosine import CosineBackend
    >>> ids = ["a1", "a2", "b1"]
    >>> emb = np.array([[1, 0], [1, 0.2], [0, 1]], dtype=np.float32)
    >>> trials = Trials("t", ["A", "A"], ["a2", "b1"], np.array([True, False]))
    >>> r = verify_trials(trials, ids, emb, CosineBackend(None), 0.5, {"A": ["a1"]})
    >>> r.scores.round(3).tolist(), r.accept.tolist(), r.false_accept_rate, r.false_reject_rate
    ([0.981, 0.0], [True, False], 0.0, 0.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.scoring.base import Backend
from spkssl.scoring.metrics import compute_metrics
from spkssl.scoring.trials import Trials, TrialsError
from spkssl.utils.io import atomic_path


def read_spk2utt(path: str | Path) -> dict[str, list[str]]:
    """Kaldi ``spk2utt`` (``spk utt1 utt2 ...`` per line) → ``{spk: [utts]}``; errors name file and line."""
    path = Path(path)
    if not path.is_file():
        raise TrialsError(f"spk2utt not found: {path}")
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < 2:
                raise TrialsError(f"{path}:{lineno}: expected 'spk utt1 [utt2 ...]', got {line.rstrip()!r}")
            if parts[0] in out:
                raise TrialsError(f"{path}:{lineno}: speaker '{parts[0]}' listed twice")
            out[parts[0]] = parts[1:]
    if not out:
        raise TrialsError(f"spk2utt {path} is empty")
    return out


def enrol(ids: Sequence[str], emb: np.ndarray, spk2utt: Mapping[str, Sequence[str]],
          where: str = "spk2utt") -> tuple[list[str], np.ndarray]:
    """One embedding per speaker: the mean of its utterances' (Kaldi ``ivector-mean``).

    >>> enrol(["u1", "u2"], np.array([[1.0, 0.0], [0.0, 1.0]]), {"s": ["u1", "u2"]})[1].tolist()
    [[0.5, 0.5]]
    """
    pos = {u: i for i, u in enumerate(ids)}
    rows = []
    for spk, utts in spk2utt.items():
        missing = [u for u in utts if u not in pos]
        if missing:
            raise TrialsError(f"{where}: speaker '{spk}': utterance '{missing[0]}' has no embedding "
                              f"({len(missing)} of its {len(utts)} missing)")
        rows.append(np.asarray(emb, dtype=np.float64)[[pos[u] for u in utts]].mean(axis=0))
    return list(spk2utt), np.asarray(rows, dtype=np.float32)


@dataclass
class VerifyResult:
    """Scores and decisions of a trial list; rates when it is labelled."""

    trials: Trials
    scores: np.ndarray
    threshold: float | None
    accept: np.ndarray | None
    metrics: dict[str, Any] | None = None

    @property
    def false_accept_rate(self) -> float | None:
        """Fraction of nontarget trials accepted at the threshold (None: unlabelled or no threshold)."""
        if self.trials.labels is None or self.accept is None:
            return None
        non = ~self.trials.labels
        return float(self.accept[non].mean()) if non.any() else 0.0

    @property
    def false_reject_rate(self) -> float | None:
        """Fraction of target trials rejected at the threshold (None: unlabelled or no threshold)."""
        if self.trials.labels is None or self.accept is None:
            return None
        tar = self.trials.labels
        return float((~self.accept[tar]).mean()) if tar.any() else 0.0


def verify_trials(trials: Trials, ids: Sequence[str], emb: np.ndarray, backend: Backend,
                  threshold: float | None, spk2utt: Mapping[str, Sequence[str]] | None = None,
                  p_targets: Sequence[float] = (0.01, 0.05), where: str = "spk2utt") -> VerifyResult:
    """Score every trial (enrolment by speaker mean when ``spk2utt`` is given) and decide at ``threshold``."""
    if spk2utt is not None:
        enroll_ids, enroll_emb = enrol(ids, emb, spk2utt, where)
        e_idx, t_idx = trials.index(ids, enroll_ids)
    else:
        enroll_emb = emb
        e_idx, t_idx = trials.index(ids)
    scores = backend.score(enroll_emb, emb, e_idx, t_idx)
    accept = None if threshold is None else scores >= threshold
    metrics = None
    if trials.labels is not None and trials.labels.any() and (~trials.labels).any():
        metrics = compute_metrics(scores, trials.labels, p_targets=p_targets)
    return VerifyResult(trials, scores, threshold, accept, metrics)


def write_decisions(path: str | Path, result: VerifyResult) -> None:
    """``enroll test score [accept|reject]`` per trial, in trial order, atomically."""
    t = result.trials
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            for i, (e, u, s) in enumerate(zip(t.enroll, t.test, result.scores.tolist())):
                tail = "" if result.accept is None else (" accept" if result.accept[i] else " reject")
                f.write(f"{e} {u} {s:.6f}{tail}\n")


def format_result(result: VerifyResult, backend: str, source: str) -> list[str]:
    """The summary ``spkssl verify --trials`` prints."""
    n = len(result.trials)
    lines = [f"trials: {n} ({result.trials.path}), back-end {backend}"]
    if result.threshold is None:
        lines.append("threshold: none carried by the model, so scores only")
    else:
        lines.append(f"threshold: {result.threshold:.6f} ({source})")
        lines.append(f"accepted: {int(result.accept.sum())} of {n}")
    m = result.metrics
    if m is None:
        lines.append("no target/nontarget labels in the list: no EER, minDCF or error rates")
        return lines
    p = m["p_targets"]
    lines.append(f"EER {m['eer']:.2f} % (its own threshold {m['thresholds']['eer_kaldi']:.6f}), "
                 + ", ".join(f"minDCF({x:g}) {m[f'mindcf_{x:g}']:.4f}" for x in p))
    if result.threshold is not None:
        nt, nn = m["num_target"], m["num_nontarget"]
        fa, fr = result.false_accept_rate, result.false_reject_rate
        lines.append(f"at the model's threshold: false accepts {100 * fa:.2f} % ({round(fa * nn)} of {nn} "
                     f"nontarget), false rejects {100 * fr:.2f} % ({round(fr * nt)} of {nt} target)")
    return lines
