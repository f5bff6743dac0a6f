"""The training front-end for a whole batch in torch: augmentation, Kaldi log-mel fbank and CMN.

Training workers deliver raw crops and their augmentation choices
(:mod:`spkssl.augment.batched`); :class:`BatchFrontend` turns a ``[N, L]`` batch of
equal-length crops into the network input ``[N, T, F]`` on whatever device the
tensors are on (the training GPU, or the CPU of a DataLoader worker).  Its fbank is
:mod:`spkssl.features.torch_fbank` (the Kaldi computation, within a stated tolerance
of kaldi-native-fbank), its CMN and options are those of the ``features`` section,
so it gives what :class:`~spkssl.features.frontend.FeatureFrontend` gives one
utterance at a time at extraction.

Example:
    >>> import torch
    >>> from spkssl.config import with_defaults
    >>> front = BatchFrontend(with_defaults("features", {"num_mel_bins": 40}))
    >>> front(torch.zeros(3, 16000)).shape
    torch.Size([3, 100, 40])
"""
from __future__ import annotations

from typing import Any, Mapping

import torch

from spkssl.augment.batched import BatchDraws, augment_batch
from spkssl.features.fbank import INT16_SCALE
from spkssl.features.frontend import FeatureFrontend
from spkssl.features.torch_fbank import FbankPlan, fbank_plan, frames_view, log_mel, plan_on

#: frames per block on a CPU: blocks much larger than this fall out of the cache and run ~4x slower
CPU_BLOCK_FRAMES = 1024


class BatchFrontend:
    """``[N, L]`` crops in [-1, 1] (+ optional :class:`BatchDraws`) → ``[N, T, num_mel_bins]`` float32.

    Args:
        features_cfg: a (partial) ``features`` section; missing keys come from ``configs/features.yaml``.
        dither: Gaussian noise (int16 scale) added to every frame before the FFT, as Kaldi's dither;
            training only (``train.dither``), 0 for a deterministic front-end.
    """

    def __init__(self, features_cfg: Mapping[str, Any] | None, dither: float = 0.0) -> None:
        self.frontend = FeatureFrontend.from_config(features_cfg)
        self.dither = float(dither)
        self._plan = fbank_plan(self.frontend.fbank)
        self._plans: dict[str, FbankPlan] = {}
        self._index: dict[tuple[int, str], torch.Tensor] = {}

    @property
    def cmn(self) -> bool:
        return self.frontend.cmn

    def _device_plan(self, device: torch.device) -> FbankPlan:
        key = str(device)
        if key not in self._plans:
            self._plans[key] = plan_on(self._plan, device)
        return self._plans[key]

    def _frame_index(self, num_samples: int, device: torch.device) -> torch.Tensor:
        """``[T, window]`` sample indices of every frame (Kaldi's edge reflection), cached per length."""
        key = (num_samples, str(device))
        if key not in self._index:
            self._index[key] = frames_view(torch.arange(num_samples), self._plan).contiguous().to(device)
        return self._index[key]

    def _frames(self, wave: torch.Tensor) -> torch.Tensor:
        """``[N, T, window]`` frames of ``[N, L]`` waveforms, edges reflected as Kaldi does."""
        n, length = wave.shape
        p = self._plan
        t = p.num_frames(length)
        first = p.first_sample()
        left, right = max(0, -first), max(0, first + (t - 1) * p.shift + p.window_size - length)
        if t == 0 or left > length or right > length:  # tiny input: several reflections, by index
            return wave[:, self._frame_index(length, wave.device)]
        padded = torch.cat([wave[:, :left].flip(1), wave, wave[:, length - right:].flip(1)], dim=1)
        return padded[:, first + left:].unfold(1, p.window_size, p.shift)[:, :t]

    def fbank(self, wave: torch.Tensor) -> torch.Tensor:
        """Raw Kaldi log-mel fbank of ``[N, L]`` waveforms in [-1, 1] → ``[N, T, F]``."""
        frames = self._frames(wave.float() * INT16_SCALE)
        if self.dither > 0:
            frames = frames + self.dither * torch.randn_like(frames)
        n, t, w = frames.shape
        if n * t == 0:
            return wave.new_zeros((n, t, self.frontend.num_mel_bins), dtype=torch.float32)
        return log_mel(frames.reshape(n * t, w), self._device_plan(wave.device)).reshape(n, t, -1)

    def _rows_per_block(self, wave: torch.Tensor) -> int:
        """Rows processed together: all on a GPU; on a CPU about ``CPU_BLOCK_FRAMES`` frames, which stay in cache."""
        if wave.device.type != "cpu":
            return wave.shape[0]
        return max(1, CPU_BLOCK_FRAMES // max(1, self._plan.num_frames(wave.shape[1])))

    def __call__(self, wave: torch.Tensor, draws: BatchDraws | None = None) -> torch.Tensor:
        """Augment (when ``draws`` are given), fbank, then CMN over each segment when ``features.cmn``."""
        rows = self._rows_per_block(wave)
        with torch.no_grad():
            out = []
            for s in range(0, wave.shape[0], rows):
                block = wave[s:s + rows]
                if draws is not None:
                    block = augment_batch(block, draws.rows(slice(s, s + rows)), self.frontend.sampling_rate)
                feats = self.fbank(block)
                if self.cmn:
                    feats = feats - feats.mean(dim=1, keepdim=True)
                out.append(feats)
            return out[0].contiguous() if len(out) == 1 else torch.cat(out)
