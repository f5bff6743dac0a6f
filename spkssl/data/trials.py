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

from pathlib import Path
from typing import Container, Iterator

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
