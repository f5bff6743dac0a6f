"""A trained model in one object: ``spkssl.load_model(path)`` → embed any audio, score, verify.

:func:`load_model` opens a ``final.pt`` or a file written by ``spkssl export``
(TorchScript or ONNX) and the decision the model carries, when there is one
(``verify.json`` + ``verify.npz`` beside it, written by ``spkssl score --exp``:
its back-ends' training statistics and the EER threshold on the validation trials).

Audio is read by Lhotse (WAV, FLAC, Ogg/Opus, …), reduced to one channel (the first by default),
resampled to the model's rate, passed through the VAD of ``infer.vad``, and embedded
as extraction does (whole utterances; chunks of ``extract.chunk_seconds`` averaged).

Example (the model below is untrained: the numbers only show the shapes):
    >>> import tempfile, pathlib, numpy as np, soundfile as sf
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> cfg = {"model": with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 32}}),
    ...        "features": {"num_mel_bins": 80, "cmn": True}}
    >>> save_final_model(d / "final.pt", build_model(cfg["model"], 80), cfg)
    >>> model = load_model(d / "final.pt")
    >>> model.kind, model.sampling_rate, model.embed_dim
    ('final', 16000, 16)
    >>> wave = np.random.default_rng(0).normal(scale=0.1, size=24000).astype(np.float32)
    >>> model.embed(wave, 16000).shape
    (16,)
    >>> sf.write(d / "a.wav", wave, 8000)  # another rate: resampled to 16 kHz
    >>> model.embed_file(d / "a.wav").shape
    (16,)
    >>> round(model.score(d / "a.wav", d / "a.wav"), 4)
    1.0
    >>> model.verify(d / "a.wav", d / "a.wav")
    Traceback (most recent call last):
    ...
    spkssl.inference.model.VerifyError: ... carries no verify threshold ...
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from spkssl.config import require_complete, with_defaults
from spkssl.inference.audio import AudioError, AudioItem, file_item, prepare_audio
from spkssl.scoring.backends import backend_class
from spkssl.scoring.base import Backend
from spkssl.scoring.cosine import CosineBackend
from spkssl.inference.engines import Engine, Waveform, embed_dim, open_engine
from spkssl.inference.sidecar import Sidecar, read_verify_sidecar
from spkssl.inference.vad import apply_vad, has_speech


class VerifyError(ValueError):
    """A verification that cannot be decided (no threshold, unknown back-end)."""


@dataclass(frozen=True)
class Decision:
    """The outcome of :meth:`SpeakerModel.verify`.

    Attributes:
        score: the back-end's score of the pair.
        threshold: the model's threshold for that back-end.
        same_speaker: ``score >= threshold``.
        backend: the back-end used.
        threshold_source: where the threshold comes from (list, EER, file).
    """

    score: float
    threshold: float
    same_speaker: bool
    backend: str
    threshold_source: str


class SpeakerModel:
    """A loaded model: see :func:`load_model`.

    Attributes:
        path, kind (``final`` | ``torchscript`` | ``onnx``), sampling_rate, embed_dim,
        config (the model's training config), infer (the ``infer`` section in use),
        sidecar (the :class:`~spkssl.inference.sidecar.Sidecar`, or None).
    """

    def __init__(self, engine: Engine, infer_cfg: Mapping[str, Any] | None = None,
                 sidecar: Sidecar | None = None) -> None:
        self.engine = engine
        self.infer = require_complete("infer", infer_cfg)
        self.sidecar = sidecar

    path = property(lambda self: self.engine.path)
    kind = property(lambda self: self.engine.kind)
    config = property(lambda self: self.engine.config)
    sampling_rate = property(lambda self: self.engine.sampling_rate)
    embed_dim = property(lambda self: embed_dim(self.engine))

    # ------------------------------------------------------------------ audio → embeddings
    def waveform(self, samples: np.ndarray, rate: int, where: str = "<waveform>") -> np.ndarray:
        """Samples as read (``[n]``, ``[channels, n]`` or ``[n, channels]``) → the network's input waveform.

        Raises:
            spkssl.inference.audio.AudioError: naming ``where`` (no samples, a missing channel, a rate
                the model does not take with ``infer.resample`` false, nothing voiced, too short).
        """
        wave = prepare_audio(samples, rate, self.sampling_rate, self.infer, where)
        if self.infer["require_speech"] and not has_speech(wave, self.sampling_rate, self.infer["vad"]):
            raise AudioError(f"{where}: no speech found ({wave.shape[0] / self.sampling_rate:.2f} s of silence or "
                             "a flat signal by the energy VAD): not embedded (infer.require_speech=false embeds "
                             "it anyway)")
        wave = apply_vad(wave, self.sampling_rate, self.infer["vad"], where)
        if wave.shape[0] < self.infer["min_seconds"] * self.sampling_rate:
            raise AudioError(f"{where}: {wave.shape[0] / self.sampling_rate:.3f} s of audio"
                             f"{' after VAD' if self.infer['vad']['name'] != 'none' else ''}, shorter than "
                             f"infer.min_seconds ({self.infer['min_seconds']} s)")
        return wave

    def _waveform_of(self, item: AudioItem) -> Waveform:
        return Waveform(item.id, item.duration, lambda: self.waveform(*item.read(), where=item.where))

    def embed_items(self, items: Sequence[AudioItem], progress: bool = False) -> np.ndarray:
        """``[N, E]`` embeddings of :class:`~spkssl.inference.audio.AudioItem` s (see :mod:`spkssl.inference.sources`)."""
        return self.engine.embed_waves([self._waveform_of(i) for i in items], progress=progress)

    def embed(self, waveform: np.ndarray, sampling_rate: int) -> np.ndarray:
        """The ``[E]`` embedding of a waveform at ``sampling_rate``: float in [-1, 1], ``[n]``, ``[channels, n]``
        (torchaudio, librosa) or ``[n, channels]`` (soundfile), a numpy array or a CPU tensor."""
        wave = self.waveform(np.asarray(waveform, dtype=np.float32), int(sampling_rate))
        return self.engine.embed_waves([Waveform("<waveform>", wave.shape[0] / self.sampling_rate,
                                                 lambda: wave)])[0]

    def embed_file(self, path: str | Path) -> np.ndarray:
        """The ``[E]`` embedding of an audio file (any format Lhotse reads)."""
        return self.embed_items([file_item(path)])[0]

    # ------------------------------------------------------------------ scoring
    def backend(self, name: str | None = None) -> Backend:
        """The scoring back-end ``name`` the model carries (None: its default; plain cosine without a sidecar)."""
        if name is not None:
            backend_class(name)  # an unknown name lists the registered back-ends
        if self.sidecar is not None:
            return self.sidecar.backend(name)
        if name not in (None, "cosine"):
            raise VerifyError(f"{self.path}: carries no back-end statistics (no verify.json beside it), so only "
                              f"plain cosine scoring, not '{name}'")
        return CosineBackend(None)

    def _embedding(self, x: Any) -> np.ndarray:
        if isinstance(x, (str, Path)):
            return self.embed_file(x)
        x = np.asarray(x, dtype=np.float32)
        if x.shape != (self.embed_dim,):
            raise ValueError(f"expected an audio file path or an embedding of shape ({self.embed_dim},), "
                             f"got an array of shape {x.shape} (embed a waveform with .embed(wave, rate) first)")
        return x

    def score(self, a: Any, b: Any, backend: str | None = None) -> float:
        """Score of two utterances: audio file paths or embeddings (from :meth:`embed`), with ``backend``."""
        pair = np.stack([self._embedding(a), self._embedding(b)])
        return float(self.backend(backend).score(pair[:1], pair[1:], np.array([0]), np.array([0]))[0])

    def threshold(self, backend: str | None = None) -> tuple[float, str]:
        """``(threshold, where it comes from)`` of ``backend``.

        Raises:
            VerifyError: the model carries no threshold for it.
        """
        thr, source = (None, "") if self.sidecar is None else self.sidecar.threshold(backend)
        if thr is None:
            raise VerifyError(f"{self.path} carries no verify threshold ({source or 'no verify.json beside it'}): "
                              "`spkssl score --exp E --system round<r>` with validation trials (inputs.val_trials) "
                              "writes one")
        if self.infer["vad"]["name"] != "none":  # the threshold was measured on whole utterances
            source += (f"; measured without VAD, so with infer.vad.name={self.infer['vad']['name']} it may not "
                       "hold")
        return thr, source

    def verify(self, a: Any, b: Any, backend: str | None = None) -> Decision:
        """Same speaker? The score of ``a`` and ``b`` against the threshold the model carries."""
        name = backend or (self.sidecar.default_backend if self.sidecar else "cosine")
        thr, source = self.threshold(name)
        s = self.score(a, b, name)
        return Decision(s, thr, s >= thr, name, source)


def load_model(path: str | Path, infer: Mapping[str, Any] | None = None, device: str = "cpu",
               verify: str | Path | None = None) -> SpeakerModel:
    """Open a model file: a ``final.pt``, or a TorchScript / ONNX file from ``spkssl export``.

    Args:
        path: the model file.
        infer: a (partial) ``infer`` section: channel, resampling, VAD (defaults: ``spkssl/configs/infer.yaml``).
        device: ``cpu`` or a CUDA device for ``final.pt`` and TorchScript.
        verify: a ``verify.json`` (default: the one in the model's folder, if any).

    Raises:
        spkssl.inference.engines.ModelKindError: not a model file spkssl reads.
        spkssl.models.io.ModelFileError: a ``final.pt`` that does not load.
    """
    path = Path(path)
    engine = open_engine(path, device)
    return SpeakerModel(engine, with_defaults("infer", infer), read_verify_sidecar(verify or path.parent))
