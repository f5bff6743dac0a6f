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
    >>> net = build_model({"name": "tdnn", "embed_dim": 8, "kwargs": {"channels": 16}}, feat_dim=80).eval()
    >>> graph = WaveEmbedder(net, {"cmn": True}, chunk_seconds=20.0).eval()
    >>> graph(torch.zeros(16000)).shape
    torch.Size([8])
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn as nn

from spkssl.features.fbank import INT16_SCALE
from spkssl.features.frontend import FeatureFrontend
from spkssl.features.torch_fbank import LOG_FLOOR, fbank_plan


class WaveFbank(nn.Module):
    """Kaldi log-mel fbank of a 1-D waveform ``[L]`` in [-1, 1] → ``[T, num_mel_bins]`` (deterministic: no dither).

    Frames and their edge reflection are gathered by index (Kaldi's reflection, applied
    twice: enough for any input of at least ``window_size`` samples).
    """

    def __init__(self, features_cfg: Mapping[str, Any] | None) -> None:
        super().__init__()
        front = FeatureFrontend.from_config(features_cfg).deterministic()
        plan = fbank_plan(front.fbank)
        self.window_size = plan.window_size
        self.shift = plan.shift
        self.padded = plan.padded
        self.snip_edges = plan.snip_edges
        self.first = plan.first_sample()
        self.preemph = plan.preemph
        self.remove_dc = plan.remove_dc
        self.scale = INT16_SCALE  # attributes, not module constants: TorchScript reads no globals
        self.log_floor = LOG_FLOOR
        self.register_buffer("window", plan.window.clone())
        self.register_buffer("mel", plan.mel.to_dense().t().contiguous())  # [padded // 2 + 1, bins]

    def num_frames(self, n: int) -> int:
        """Kaldi ``NumFrames`` of ``n`` samples."""
        if self.snip_edges:
            return (n - self.window_size) // self.shift + 1
        return (n + self.shift // 2) // self.shift

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave.reshape(-1).float() * self.scale
        n = x.shape[0]  # a plain (symbolic, when exporting) integer: no data-dependent shapes
        t = self.num_frames(n)
        idx = (self.first + self.shift * torch.arange(t)).unsqueeze(1) + torch.arange(self.window_size).unsqueeze(0)
        for _ in range(2):  # Kaldi's edge reflection: -1 -> 0, n -> n - 1
            idx = torch.where(idx < 0, -idx - 1, idx)
            idx = torch.where(idx >= n, 2 * n - 1 - idx, idx)
        frames = x[idx]
        if self.remove_dc:
            frames = frames - frames.mean(dim=1, keepdim=True)
        if self.preemph != 0.0:
            frames = frames - self.preemph * torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
        frames = nn.functional.pad(frames * self.window, [0, self.padded - self.window_size])
        spec = torch.fft.rfft(frames, dim=1)
        power = spec.real * spec.real + spec.imag * spec.imag
        return torch.clamp(power @ self.mel, min=self.log_floor).log()


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
