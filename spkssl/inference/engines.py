"""The three kinds of model file a user may hold, each behind one small engine.

- ``final``: a ``final.pt`` written by training.  Its front-end is the one extraction
  uses (:class:`~spkssl.features.frontend.FeatureFrontend`: kaldi-native-fbank unless
  ``features.backend=torch``, CMN when ``features.cmn``), its batching and chunking are
  :func:`spkssl.embed.extract.extract_cuts`'s, so it gives ``spkssl extract``'s embeddings.
- ``torchscript`` / ``onnx``: files written by ``spkssl export``; the graph holds the
  front-end (:class:`spkssl.export.graph.WaveEmbedder`), so the engine feeds it samples.

:func:`open_engine` tells them apart by content (a TorchScript archive holds ``code/``,
a ``torch.save`` archive ``data.pkl``; anything else is read as ONNX).  Every engine
embeds ``(id, waveform at engine.sampling_rate)`` pairs → ``[N, E]`` float32.

Example (an untrained tiny TDNN):
    >>> import tempfile, torch
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = torch.manual_seed(0)
    >>> from spkssl.config import with_defaults
    >>> tdnn = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}})
    >>> cfg = {"model": tdnn, "features": {"num_mel_bins": 80}}
    >>> save_final_model(d / "final.pt", build_model(cfg["model"], 80), cfg)
    >>> model_kind(d / "final.pt")
    'final'
    >>> engine = open_engine(d / "final.pt")
    >>> type(engine).__name__, engine.sampling_rate, embed_dim(engine)
    ('FinalEngine', 16000, 16)
    >>> rng = np.random.default_rng(0)
    >>> waves = [Waveform(f"u{i}", 1.5, lambda: 0.1 * rng.standard_normal(24000).astype(np.float32)) for i in range(2)]
    >>> emb = engine.embed_waves(waves)
    >>> emb.shape, emb.dtype
    ((2, 16), dtype('float32'))
    >>> try:
    ...     open_engine(d / "missing.pt")
    ... except ModelKindError as exc:
    ...     print(str(exc) == f"model file not found: {d / 'missing.pt'}")
    True
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from spkssl.embed.extract import extract_cuts, model_embedder
from spkssl.export.exporters import METADATA_KEY, SCRIPT_EXTRA  # where an exported file keeps its metadata
from spkssl.features.frontend import FeatureFrontend
from spkssl.models.io import load_final_model, model_config, read_final_payload
from spkssl.utils.progress import progress as bar


class ModelKindError(ValueError):
    """A file that is none of the model kinds spkssl reads (the message names it)."""


class Engine:
    """Embeds waveforms. Attributes: ``kind``, ``path``, ``config`` (the model's), ``metadata``, ``sampling_rate``."""

    kind = ""

    def __init__(self, path: Path, config: dict[str, Any], metadata: dict[str, Any]) -> None:
        self.path = path
        self.config = config
        self.metadata = metadata
        self.sampling_rate = int(config["features"]["sampling_rate"])  # complete: see models.io.model_config

    def embed_waves(self, waves: Sequence[Waveform], progress: bool = False) -> np.ndarray:
        """``[N, E]`` float32 embeddings of the waveforms, in order; each is read when it is embedded."""
        raise NotImplementedError


@dataclass(frozen=True)
class Waveform:
    """An utterance to embed: its id, its duration in seconds if known (for batching) and ``load()``,
    which returns its mono float32 samples at the engine's rate."""

    id: str
    duration: float
    load: Callable[[], np.ndarray]


class _Utterance:
    """What :func:`spkssl.embed.extract.extract_cuts` reads of a cut, for a :class:`Waveform`."""

    has_features = True

    def __init__(self, wave: Waveform, rate: int, frontend: Any) -> None:
        self.id, self.duration = wave.id, wave.duration
        self._wave, self._rate, self._frontend = wave, rate, frontend
        self.features = SimpleNamespace(storage_path=f"<fbank of '{wave.id}'>")

    def load_features(self) -> np.ndarray:
        return self._frontend.fbank_of(self._wave.load(), self._rate)


class FinalEngine(Engine):
    """A ``final.pt``: the network on the features extraction computes."""

    kind = "final"

    def __init__(self, path: Path, device: str = "cpu") -> None:
        net, cfg = load_final_model(path, device)
        payload = read_final_payload(path)
        super().__init__(path, cfg, {"spkssl": payload.get("spkssl"), "extra": payload.get("extra")})
        self.frontend = FeatureFrontend.from_config(cfg["features"]).deterministic()
        self.extract_cfg = cfg["extract"]
        self.embedder = model_embedder(net, device)
        self.network = net

    def embed_waves(self, waves, progress=False):
        utts = [_Utterance(w, self.sampling_rate, self.frontend) for w in waves]
        _, emb = extract_cuts(utts, self.embedder, self.frontend, self.extract_cfg["chunk_seconds"],
                              int(self.extract_cfg["max_batch_frames"]), progress=progress)
        return emb


class _GraphEngine(Engine):
    """An exported graph: one waveform in, one embedding out."""

    run: Callable[[np.ndarray], np.ndarray]

    def embed_waves(self, waves, progress=False):
        rows = [self.run(np.ascontiguousarray(w.load(), dtype=np.float32))
                for w in bar(waves, desc="embed", unit="utt", enabled=progress)]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)


class ScriptEngine(_GraphEngine):
    """A TorchScript file from ``spkssl export --format torchscript``."""

    kind = "torchscript"

    def __init__(self, path: Path, device: str = "cpu") -> None:
        extra = {SCRIPT_EXTRA: ""}
        self.module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
        meta = _metadata(extra[SCRIPT_EXTRA], path)
        super().__init__(path, meta["config"], meta)
        self._device = device

        def run(wave: np.ndarray) -> np.ndarray:
            # the plain interpreter: the profiling executor re-optimises for every new input length
            with torch.inference_mode(), torch.jit.optimized_execution(False):
                return self.module(torch.from_numpy(wave).to(self._device)).float().cpu().numpy()

        self.run = run


class OnnxEngine(_GraphEngine):
    """An ONNX file from ``spkssl export --format onnx``, run by ONNX Runtime (``pip install onnxruntime``)."""

    kind = "onnx"

    def __init__(self, path: Path, device: str = "cpu", threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelKindError(f"{path}: an ONNX model needs onnxruntime: pip install onnxruntime "
                                 "(or pip install -e '.[export]')") from exc

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or torch.get_num_threads())
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
            raise ModelKindError(f"{path}: not a model file spkssl reads (final.pt, TorchScript or ONNX "
                                 f"export): {exc}") from exc
        meta = _metadata(self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, ""), path)
        super().__init__(path, meta["config"], meta)
        name = self.session.get_inputs()[0].name
        self.run = lambda wave: self.session.run(None, {name: wave})[0]


def _metadata(text: str | bytes, path: Path) -> dict[str, Any]:
    if not text:
        raise ModelKindError(f"{path}: an exported model without spkssl metadata: export it with `spkssl export`")
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise ModelKindError(f"{path}: its spkssl metadata is not JSON: {exc}") from exc
    if "config" not in meta:
        raise ModelKindError(f"{path}: its spkssl metadata lacks the model's config")
    meta["config"] = model_config(meta["config"], path)
    return meta


def model_kind(path: str | Path) -> str:
    """``final``, ``torchscript`` or ``onnx``, from the file's content.

    Raises:
        ModelKindError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelKindError(f"model file not found: {path}")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
        if any("/code/" in n for n in names):
            return "torchscript"
        return "final"
    return "onnx"


ENGINES: dict[str, Callable[..., Engine]] = {"final": FinalEngine, "torchscript": ScriptEngine, "onnx": OnnxEngine}


def open_engine(path: str | Path, device: str = "cpu") -> Engine:
    """The engine of a model file (see :func:`model_kind`)."""
    path = Path(path)
    return ENGINES[model_kind(path)](path, device)


def embed_dim(engine: Engine) -> int:
    """The embedding size of the engine's network (``model.embed_dim`` of its config)."""
    return int(engine.config["model"]["embed_dim"])


__all__: Sequence[str] = ("ENGINES", "Engine", "ModelKindError", "Waveform", "embed_dim", "model_kind", "open_engine")
