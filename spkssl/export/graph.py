"""The exported graph: raw samples → Kaldi log-mel fbank → CMN → chunks → network → one embedding.

:class:`WaveEmbedder` wraps a trained network with its own front-end as torch
operations that TorchScript compiles and the ONNX exporter converts, so an
exported file needs neither spkssl nor kaldi-native-fbank: it takes a mono
waveform at the model's rate (float32 in [-1, 1], at least one frame long) and
returns the embedding.  It computes what extraction computes
(:mod:`spkssl.embed.extract`): the fbank of :mod:`spkssl.features.torch_fbank`
(the same window, mel matrix and frame count as kaldi-native-fbank, so equal to
it within :func:`spkssl.features.torch_fbank.kaldi_tolerance`), CMN over the whole
utterance when ``features.cmn``, then equal chunks of ``extract.chunk_seconds``
(the last one aligned to the end) whose embeddings are averaged.  Every step is
branch-free tensor arithmetic on the input length, so one graph serves every length.

Example:
    >>> import torch
    >>> from spkssl.models import build_model
    >>> from spkssl.config import with_defaults
    >>> tdnn = with_defaults("model", {"name": "tdnn", "embed_dim": 8, "kwargs": {"channels": 16}})
    >>> net = build_model(tdnn, feat_dim=80).eval()
    >>> graph = WaveEmbedder(net, with_defaults("features", {"cmn": True}), chunk_seconds=20.0).eval()
    >>> graph(torch.zeros(16000)).shape
    torch.Size([8])
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn as nn

from spkssl.features.fbank import INT16_SCALE
from spkssl.features.frontend import FeatureFrontend
from spkssl.features.torch_fbank import LOG_FLOOR, fbank_plan


def frame_matrix(window: np.ndarray, padded: int, preemph: float, remove_dc: bool) -> np.ndarray:
    """``[window_size, 2 * (padded // 2 + 1)]``: a frame → the real and imaginary parts of its spectrum.

    Kaldi's frame processing is linear in the frame: DC removal (subtract the mean), pre-emphasis
    (``y[i] = x[i] - p * x[i-1]``, ``y[0] = x[0] - p * x[0]``), the window, zero padding to
    ``padded`` and the real DFT.  Their product, computed once in float64, turns a whole
    utterance's frames into spectra with one matrix product: no FFT operator (ONNX Runtime's DFT
    is slower than the product) and the same values within float32 rounding relative to the frame.

    >>> m = frame_matrix(np.ones(4), 4, 0.0, False)
    >>> m.shape, np.allclose(np.array([1.0, 2.0, 3.0, 4.0]) @ m[:, :3], np.fft.rfft([1.0, 2.0, 3.0, 4.0]).real)
    ((4, 6), True)
    """
    n = window.shape[0]
    op = np.eye(n)
    if remove_dc:
        op = op - 1.0 / n  # x - mean(x)
    if preemph != 0.0:
        pre = np.eye(n) - preemph * np.eye(n, k=-1)
        pre[0, 0] = 1.0 - preemph
        op = pre @ op
    op = window[:, None] * op  # [n out, n in]
    k = np.arange(padded // 2 + 1)
    angle = 2.0 * np.pi * np.outer(np.arange(n), k) / padded  # only the window's samples are non-zero
    dft = np.concatenate([np.cos(angle), -np.sin(angle)], axis=1)  # [n, 2 * bins]
    return (op.T @ dft).astype(np.float32)


class WaveFbank(nn.Module):
    """Kaldi log-mel fbank of a 1-D waveform ``[L]`` in [-1, 1] → ``[T, num_mel_bins]`` (deterministic: no dither).

    The waveform is padded by Kaldi's edge reflection (one reflection, so at least ``min_samples``
    samples: ``window_size`` with the default options), cut into rows of ``shift`` samples, and each frame is the
    concatenation of the ``ceil(window_size / shift)`` rows from its start: only reshapes and
    slices, no gathers.  :func:`frame_matrix` gives the spectra, then power, mel and log.
    """

    def __init__(self, features_cfg: Mapping[str, Any] | None) -> None:
        super().__init__()
        front = FeatureFrontend.from_config(features_cfg).deterministic()
        plan = fbank_plan(front.fbank)
        self.window_size = plan.window_size
        self.shift = plan.shift
        self.rows = -(-plan.window_size // plan.shift)  # rows of `shift` samples a frame spans
        self.bins = plan.padded // 2 + 1
        self.snip_edges = plan.snip_edges
        self.left = -plan.first_sample()  # reflected samples before the waveform
        # reflected samples after it: the most the last rows can reach past the end (a constant,
        # so the graph has no data-dependent shape); frames never use more than Kaldi reflects
        last = plan.shift // 2 + (self.rows - 1) * plan.shift - self.left if not plan.snip_edges else \
            self.rows * plan.shift - plan.window_size
        self.right = max(1, last)
        self.min_samples = max(plan.window_size, self.right)
        self.scale = INT16_SCALE  # attributes, not module constants: TorchScript reads no globals
        self.log_floor = LOG_FLOOR
        matrix = frame_matrix(plan.window.numpy().astype(np.float64), plan.padded, plan.preemph, plan.remove_dc)
        self.register_buffer("spectrum", torch.from_numpy(matrix))  # [window_size, 2 * bins]
        self.register_buffer("mel", plan.mel.to_dense().t().contiguous())  # [bins, num_mel_bins]

    def num_frames(self, n: int) -> int:
        """Kaldi ``NumFrames`` of ``n`` samples."""
        if self.snip_edges:
            return (n - self.window_size) // self.shift + 1
        return (n + self.shift // 2) // self.shift

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave.reshape(-1).float() * self.scale
        n = x.shape[0]  # a plain (symbolic, when exporting) integer: no data-dependent shapes
        t = self.num_frames(n)
        parts = [x, torch.flip(x[n - self.right:], [0])]  # Kaldi: n -> n - 1, n + 1 -> n - 2, ...
        if self.left > 0:
            parts.insert(0, torch.flip(x[:self.left], [0]))  # -1 -> 0, -2 -> 1, ...
        rows = torch.cat(parts)[:(t + self.rows - 1) * self.shift].reshape(-1, self.shift)  # [t + rows - 1, shift]
        frames = torch.cat([rows[k:k + t] for k in range(self.rows)], dim=1)[:, :self.window_size]
        spec = frames @ self.spectrum
        re, im = spec[:, :self.bins], spec[:, self.bins:]
        return torch.clamp((re * re + im * im) @ self.mel, min=self.log_floor).log()


class WaveEmbedder(nn.Module):
    """A network and its front-end as one module: waveform ``[L]`` at the model's rate → embedding ``[E]``.

    Args:
        network: a trained speaker network ``[B, T, F] -> [B, E]`` (eval mode).
        features_cfg: the ``features`` section the network was trained with (from its ``final.pt``).
        chunk_seconds: utterances longer than this are embedded in equal chunks whose
            embeddings are averaged (``extract.chunk_seconds``); ``None``: whole utterances.
    """

    def __init__(self, network: nn.Module, features_cfg: Mapping[str, Any] | None,
                 chunk_seconds: float | None) -> None:
        super().__init__()
        front = FeatureFrontend.from_config(features_cfg)
        self.fbank = WaveFbank(features_cfg)
        self.network = network
        self.cmn = front.cmn
        self.chunk_frames = int(round(chunk_seconds * 1000.0 / front.frame_shift_ms)) if chunk_seconds else 0

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        feats = self.fbank(wave)
        if self.cmn:
            feats = feats - feats.mean(dim=0, keepdim=True)
        t = feats.shape[0]
        if self.chunk_frames <= 0:
            size = t
        elif torch.jit.is_scripting():
            size = min(t, self.chunk_frames)
        else:  # torch.export / the ONNX exporter: a symbolic min, no guard on the input length
            size = torch.sym_min(t, self.chunk_frames)
        count = (t + size - 1) // size  # ceil(t / size): one piece when t <= chunk_frames
        starts = torch.clamp(torch.arange(count) * size, max=t - size)
        pieces = feats[starts.unsqueeze(1) + torch.arange(size).unsqueeze(0)]  # [count, size, F]
        return self.network(pieces).mean(dim=0)
