"""Audio for a trained model: read any file, pick or mix channels, resample to the model's rate.

Everything a user may hand to ``spkssl embed`` / :func:`spkssl.load_model` becomes an
:class:`AudioItem`: an utterance id and a way to read its samples (a file through
Lhotse's audio backends — WAV, FLAC, Ogg/Opus, MP3 … —, a ``wav.scp`` pipe, a cut
of a Lhotse manifest).  :func:`prepare_audio` turns the samples into what the
network's front-end expects: one channel (``infer.channel``: the first by default, as the data
import and Kaldi take a stereo file, or another, or the mean of all), at the model's sampling
rate (``infer.resample``), float32 in [-1, 1]. Arrays come in any layout the audio libraries
return: ``[n]``, soundfile's ``[n, channels]``, torchaudio's and librosa's ``[channels, n]``.
Every error names the file and says what is wrong.

Example:
    >>> import numpy as np
    >>> stereo = np.stack([np.ones(8000), np.zeros(8000)]).astype(np.float32)
    >>> wave = prepare_audio(stereo, 8000, 16000, {"channel": None, "resample": True}, "a.wav")
    >>> wave.shape, round(float(wave[4000:12000].mean()), 3)
    ((16000,), 0.5)
    >>> prepare_audio(stereo, 8000, 16000, {"channel": None, "resample": False}, "a.wav")
    Traceback (most recent call last):
    ...
    spkssl.inference.audio.AudioError: a.wav: audio at 8000 Hz, the model expects 16000 Hz (infer.resample is false: resample the file, or set infer.resample=true)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from spkssl.data.audio import describe_source, read_failure

#: file name endings read as audio when a folder is searched (any other single file is tried as audio too)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".m4a", ".sph", ".aac", ".wma")


class AudioError(ValueError):
    """Audio that cannot be read or used (the message names the file or utterance)."""


@dataclass(frozen=True)
class AudioItem:
    """One utterance to embed: its id, where it comes from (for messages), and a reader.

    ``read()`` returns ``(samples [channels, n] float32, sampling_rate)``; ``duration`` (seconds,
    from the header) orders the work.
    """

    id: str
    where: str
    read: Callable[[], tuple[np.ndarray, int]]
    duration: float = 0.0


def file_item(path: str | Path, utt_id: str | None = None) -> AudioItem:
    """An :class:`AudioItem` for an audio file (its id: the file name without suffix unless given).

    Raises:
        AudioError: the file is missing or its header is not audio Lhotse reads (named).
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    from lhotse import Recording

    try:
        rec = Recording.from_file(path)
    except Exception as exc:  # noqa: BLE001 - lhotse/soundfile/ffmpeg raise many types
        raise AudioError(f"{path}: cannot read audio: {read_failure(exc)}") from exc
    return recording_item(rec, utt_id or path.stem, str(path))


def cut_item(cut: Any) -> AudioItem:
    """An :class:`AudioItem` for a Lhotse cut: every channel of its recording over the cut's span."""
    def read() -> tuple[np.ndarray, int]:
        rec = getattr(cut, "recording", None)
        if rec is not None and not getattr(cut, "has_features", False) and not rec.transforms:
            samples = rec.load_audio(offset=cut.start, duration=cut.duration)
        else:
            samples = cut.load_audio()
        return np.atleast_2d(np.asarray(samples, dtype=np.float32)), int(cut.sampling_rate)

    return AudioItem(cut.id, describe_source(cut), _named(read, f"cut '{cut.id}' ({describe_source(cut)})"),
                     float(cut.duration))


def recording_item(recording: Any, utt_id: str | None = None, where: str | None = None) -> AudioItem:
    """An :class:`AudioItem` for a Lhotse ``Recording`` (all channels, whole recording)."""
    where = where or ", ".join(str(s.source) for s in recording.sources)

    def read() -> tuple[np.ndarray, int]:
        return np.atleast_2d(np.asarray(recording.load_audio(), dtype=np.float32)), int(recording.sampling_rate)

    return AudioItem(utt_id or recording.id, where, _named(read, where), float(recording.duration))


def _named(read: Callable[[], tuple[np.ndarray, int]], where: str) -> Callable[[], tuple[np.ndarray, int]]:
    def wrapped() -> tuple[np.ndarray, int]:
        try:
            return read()
        except AudioError:
            raise
        except Exception as exc:  # noqa: BLE001 - lhotse/soundfile/ffmpeg raise many types
            raise AudioError(f"{where}: cannot read audio: {read_failure(exc)}") from exc

    return wrapped


def read_file(path: str | Path) -> tuple[np.ndarray, int]:
    """``(samples [channels, n] float32 in [-1, 1], rate)`` of an audio file, any format Lhotse reads.

    Raises:
        AudioError: the file is missing or not audio Lhotse can decode (named, with the reason).
    """
    return file_item(path).read()


def channels_first(samples: np.ndarray, where: str) -> np.ndarray:
    """``[channels, n]`` from ``[n]``, ``[channels, n]`` (torchaudio, librosa) or ``[n, channels]`` (soundfile):
    the channels are the shorter axis.

    >>> channels_first(np.zeros(5), "x").shape, channels_first(np.zeros((2, 5)), "x").shape
    ((1, 5), (2, 5))
    >>> channels_first(np.zeros((5, 2)), "x").shape  # soundfile's layout
    (2, 5)
    >>> channels_first(np.zeros((1, 2, 5)), "x.wav")
    Traceback (most recent call last):
    ...
    spkssl.inference.audio.AudioError: x.wav: audio of shape (1, 2, 5): give [samples], [channels, samples] or [samples, channels]
    """
    samples = np.asarray(samples)
    if samples.ndim == 1:
        return samples[None, :]
    if samples.ndim != 2:
        raise AudioError(f"{where}: audio of shape {tuple(samples.shape)}: give [samples], [channels, samples] or "
                         "[samples, channels]")
    return samples if samples.shape[0] <= samples.shape[1] else samples.T


def select_channel(samples: np.ndarray, channel: int | None, where: str) -> np.ndarray:
    """``[channels, n]`` (or any layout :func:`channels_first` takes) → ``[n]``: channel ``channel``, or the mean
    of every channel (``channel`` None).

    >>> select_channel(np.array([[1.0, 1.0], [3.0, 5.0]]), None, "x").tolist()
    [2.0, 3.0]
    >>> select_channel(np.array([[1.0, 3.0], [1.0, 5.0], [1.0, 7.0]]), 0, "x").tolist()  # [n, channels]
    [1.0, 1.0, 1.0]
    >>> select_channel(np.array([[1.0, 1.0]]), 1, "x.wav")
    Traceback (most recent call last):
    ...
    spkssl.inference.audio.AudioError: x.wav: has 1 channel(s), infer.channel asks for channel 1 (0 is the first)
    """
    samples = channels_first(samples, where)
    if channel is None:
        return samples.mean(axis=0) if samples.shape[0] > 1 else samples[0]
    if not 0 <= channel < samples.shape[0]:
        raise AudioError(f"{where}: has {samples.shape[0]} channel(s), infer.channel asks for channel {channel} "
                         "(0 is the first)")
    return samples[channel]


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``wave`` at ``rate`` Hz → ``target`` Hz (torchaudio's band-limited sinc interpolation)."""
    if rate == target:
        return wave
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), rate, target).numpy()


def prepare_audio(samples: np.ndarray, rate: int, target_rate: int, cfg: Mapping[str, Any], where: str) -> np.ndarray:
    """Samples as read → the model's input waveform: one channel, ``target_rate``, finite float32.

    Args:
        samples: ``[n]``, ``[channels, n]`` or ``[n, channels]``.
        rate: their sampling rate (Hz).
        target_rate: the model's (``features.sampling_rate`` of its config).
        cfg: the ``infer`` section (``channel``, ``resample``).
        where: the file or utterance, for the errors.

    Raises:
        AudioError: no samples, NaN/inf samples, a missing channel, or another rate with
            ``infer.resample`` false (each naming ``where``).
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        raise AudioError(f"{where}: the audio has no samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{where}: the audio has NaN/inf samples")
    wave = select_channel(samples, cfg["channel"], where)
    if int(rate) != int(target_rate):
        if not cfg["resample"]:
            raise AudioError(f"{where}: audio at {rate} Hz, the model expects {target_rate} Hz (infer.resample is "
                             "false: resample the file, or set infer.resample=true)")
        wave = resample(wave, int(rate), int(target_rate))
    return np.ascontiguousarray(wave, dtype=np.float32)
