"""Voice activity detection before embedding: a registry of detectors (``infer.vad.name``).

- ``none``: every sample is kept.
- ``energy``: Kaldi's ``compute-vad`` on the frame log-energy (the frames of the
  model's fbank, int16-scaled, DC removed): a frame is above threshold when its
  log-energy exceeds ``energy_threshold + energy_mean_scale * mean``; it is voiced
  when more than ``proportion_threshold`` of the frames within ``frames_context`` of
  it are.  The defaults are Kaldi's VoxCeleb recipe (``conf/vad.conf``).
- ``silero``: the Silero VAD network shipped inside the ``silero-vad`` package
  (``pip install silero-vad``; optional, never needed otherwise).

The waveform kept is the concatenation of the voiced frames' hops (or speech
segments), so every embedding path — the PyTorch model, TorchScript, ONNX —
embeds the same samples.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> wave = np.concatenate([1e-4 * rng.normal(size=16000), 0.3 * rng.normal(size=16000)]).astype(np.float32)
    >>> kept = apply_vad(wave, 16000, {"name": "energy", "energy_threshold": 5.5, "energy_mean_scale": 0.5,
    ...                                "frames_context": 2, "proportion_threshold": 0.12}, "x.wav")
    >>> 15000 < kept.size < 17500
    True
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np
import torch

from spkssl.features.fbank import INT16_SCALE
from spkssl.features.torch_fbank import LOG_FLOOR, fbank_plan, frames_view
from spkssl.inference.audio import AudioError
from spkssl.utils.registry import Registry


def _none(wave: np.ndarray, rate: int, cfg: Mapping[str, Any]) -> np.ndarray:
    return np.ones(wave.shape[0], dtype=bool)


def frame_log_energy(wave: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Natural log-energy of each 25 ms / 10 ms frame (int16-scaled, DC removed) → ``(energies [T], shift)``."""
    plan = fbank_plan({"sampling_rate": int(rate)})
    frames = frames_view(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)) * INT16_SCALE, plan)
    frames = frames - frames.mean(dim=1, keepdim=True)
    energy = (frames * frames).sum(dim=1).clamp_min(LOG_FLOOR).log()
    return energy.numpy().astype(np.float64), plan.shift


def voiced_frames(log_energy: np.ndarray, cfg: Mapping[str, Any]) -> np.ndarray:
    """Kaldi ``compute-vad``: a boolean per frame.

    >>> voiced_frames(np.array([1.0, 1.0, 20.0, 20.0, 1.0, 1.0, 1.0, 1.0]), {"energy_threshold": 5.5,
    ...     "energy_mean_scale": 0.5, "frames_context": 1, "proportion_threshold": 0.3}).astype(int).tolist()
    [0, 1, 1, 1, 1, 0, 0, 0]
    """
    if log_energy.size == 0:
        return np.zeros(0, dtype=bool)
    threshold = float(cfg["energy_threshold"]) + float(cfg["energy_mean_scale"]) * float(log_energy.mean())
    above = np.concatenate([[0], np.cumsum(log_energy > threshold)])
    t = np.arange(log_energy.size)
    ctx = int(cfg["frames_context"])
    lo, hi = np.maximum(t - ctx, 0), np.minimum(t + ctx + 1, log_energy.size)
    return (above[hi] - above[lo]) >= (hi - lo) * float(cfg["proportion_threshold"])


def _energy(wave: np.ndarray, rate: int, cfg: Mapping[str, Any]) -> np.ndarray:
    energy, shift = frame_log_energy(wave, rate)
    voiced = voiced_frames(energy, cfg)
    keep = np.repeat(voiced, shift)[: wave.shape[0]]  # frame t stands for the hop [t * shift, (t + 1) * shift)
    return np.pad(keep, (0, wave.shape[0] - keep.size), constant_values=bool(voiced[-1]) if voiced.size else False)


def _silero(wave: np.ndarray, rate: int, cfg: Mapping[str, Any]) -> np.ndarray:
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as exc:
        raise AudioError("infer.vad.name=silero needs the silero-vad package: pip install silero-vad "
                         f"(or use infer.vad.name=energy): {exc}") from exc
    model = _silero_model(load_silero_vad)
    stamps = get_speech_timestamps(torch.from_numpy(wave), model, threshold=float(cfg["silero_threshold"]),
                                   sampling_rate=int(rate))
    keep = np.zeros(wave.shape[0], dtype=bool)
    for s in stamps:
        keep[int(s["start"]):int(s["end"])] = True
    return keep


_SILERO: list[Any] = []


def _silero_model(load: Callable[[], Any]) -> Any:
    if not _SILERO:
        _SILERO.append(load())
    return _SILERO[0]


def has_speech(wave: np.ndarray, rate: int, cfg: Mapping[str, Any]) -> bool:
    """Whether the energy VAD (the ``infer.vad`` thresholds) finds one voiced frame in ``wave``.

    >>> cfg = {"energy_threshold": 5.5, "energy_mean_scale": 0.5, "frames_context": 2, "proportion_threshold": 0.12}
    >>> has_speech(np.zeros(16000, dtype=np.float32), 16000, cfg)
    False
    >>> has_speech(0.1 * np.random.default_rng(0).standard_normal(16000).astype(np.float32), 16000, cfg)
    True
    """
    if wave.shape[0] == 0:
        return False
    energy, _ = frame_log_energy(wave, rate)
    return bool(voiced_frames(energy, cfg).any())


#: ``infer.vad.name`` → ``detector(wave, rate, vad_cfg) -> keep mask over samples``
VADS: Registry[Callable[[np.ndarray, int, Mapping[str, Any]], np.ndarray]] = Registry(
    "infer.vad.name", {"none": _none, "energy": _energy, "silero": _silero})


def apply_vad(wave: np.ndarray, rate: int, cfg: Mapping[str, Any], where: str) -> np.ndarray:
    """The voiced samples of ``wave`` under detector ``cfg["name"]`` (the ``infer.vad`` section).

    Raises:
        spkssl.inference.audio.AudioError: an unknown detector, or nothing voiced (naming ``where``).
    """
    name = cfg["name"]
    try:
        detector = VADS[name]
    except ValueError as exc:
        raise AudioError(str(exc)) from None
    keep = detector(wave, rate, cfg)
    kept = wave if keep.all() else wave[keep]
    if kept.size == 0:
        raise AudioError(f"{where}: no speech left after {name} VAD ({wave.shape[0] / rate:.2f} s of audio; "
                         "a quiet recording may need a lower infer.vad.energy_threshold, or infer.vad.name=none)")
    return kept
