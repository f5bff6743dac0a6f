"""Audio loading with errors that name the cut and the file.

Example:
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> from lhotse import Recording
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sf.write(d / "a.wav", np.zeros((8000, 2), dtype=np.float32), 16000)  # 0.5 s of stereo
    >>> cut = Recording.from_file(d / "a.wav").to_cut()
    >>> samples = load_cut_audio(cut)  # the first channel, 1-D float32 at the cut's sampling rate
    >>> samples.shape, samples.dtype
    ((8000,), dtype('float32'))
    >>> (d / "a.wav").unlink()
    >>> try:
    ...     load_cut_audio(cut)
    ... except AudioError as exc:
    ...     print(str(exc).startswith(f"cannot read audio of cut 'a' from {d / 'a.wav'}: "))
    True
"""
from __future__ import annotations

import logging
import re

import numpy as np


class AudioError(RuntimeError):
    """An utterance's audio is missing, unreadable or unusable."""


def describe_source(cut) -> str:
    """A human-readable description of where a cut's audio comes from."""
    try:
        rec = cut.recording
        return ", ".join(str(s.source) for s in rec.sources)
    except Exception:  # noqa: BLE001 - best effort for the message only
        return "<unknown source>"


def read_failure(exc: BaseException) -> str:
    """One line saying why audio could not be read: the first audio backend's own reason, not Lhotse's
    report of every backend it tried (``--log-level DEBUG`` logs that report).

    >>> lhotse_report = ("Fetching info about audio from 'x.wav' failed. Details:\\n"
    ...     "Exception #0 (<class 'lhotse.audio.backend.LibsndfileBackend'>): <class 'soundfile.LibsndfileError'>: "
    ...     "Error opening 'x.wav': Format not recognised.\\n"
    ...     "Exception #1 (<class 'lhotse.audio.backend.AudioreadBackend'>): <class 'NoBackendError'>: \\n")
    >>> read_failure(RuntimeError(lhotse_report))
    "Error opening 'x.wav': Format not recognised."
    >>> read_failure(ValueError("bad header"))
    'bad header'
    """
    text = str(exc)
    reasons = [m.strip() for m in re.findall(r"^Exception #\d+ \(<class '[^']+'>\): <class '[^']+'>: (.*)$", text, re.M)]
    reasons = [r for r in reasons if r and "has no attribute" not in r]
    if reasons:
        logging.getLogger(__name__).debug("all the audio backends' reasons: %s", text)
        return reasons[0]
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def load_cut_audio(cut) -> np.ndarray:
    """Return the first channel of ``cut``'s audio as 1-D float32.

    Raises:
        AudioError: naming the cut id and the audio source when reading fails or
            the audio is empty or not finite.
    """
    try:
        samples = cut.load_audio()
    except Exception as exc:  # lhotse/soundfile raise many types
        raise AudioError(
            f"cannot read audio of cut '{cut.id}' from {describe_source(cut)}: {read_failure(exc)}"
        ) from exc
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples[0]
    if samples.size == 0:
        raise AudioError(f"cut '{cut.id}' ({describe_source(cut)}) has no samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError(f"cut '{cut.id}' ({describe_source(cut)}) has NaN/inf samples")
    return samples
