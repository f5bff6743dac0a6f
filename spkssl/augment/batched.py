"""Augmentation of a whole batch in torch, on the training device, from choices drawn in the workers.

A DataLoader worker crops the segments and draws each one's augmentation with
:meth:`spkssl.augment.augment.Augmentor.draw` (which RIR, which noise / music /
babble and where, which SNR: the distributions of ``spkssl/configs/augment.yaml``);
:func:`collate_draws` packs those choices into tensors, and :func:`augment_batch`
applies them to every segment at once, exactly as :meth:`Augmentor.apply` does to
one: reverberation by FFT convolution with the energy-normalised RIR aligned on
its direct path (output RMS kept), the equaliser tilt, then the additive source at
the drawn SNR.

Example:
    >>> import numpy as np, torch
    >>> from spkssl.augment.augment import AugmentDraw
    >>> wave = torch.randn(2, 1600)
    >>> noise = np.random.default_rng(0).standard_normal(1600).astype(np.float32)
    >>> aug = collate_draws([AugmentDraw(), AugmentDraw(additive="noise", noise=noise, snr_db=10.0)], 1600)
    >>> out = augment_batch(wave, aug)
    >>> bool(torch.equal(out[0], wave[0])), round(float(10 * torch.log10(wave[1].pow(2).mean() / (out[1] - wave[1]).pow(2).mean())), 3)
    (True, 10.0)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch

from spkssl.augment.augment import AugmentDraw
from spkssl.augment.eq import tilt_batch

_EPS = 1e-12


@dataclass
class BatchDraws:
    """The augmentation choices of ``N`` segments as tensors (what crosses from the workers to the device).

    Attributes:
        rir: float32 ``[N, R]`` raw RIRs, zero-padded to the longest in the batch (``R`` may be 0).
        has_rir: bool ``[N]``: the segment is reverberated.
        noise: float32 ``[N, L]`` additive signals (zeros where there is none).
        snr_db: float32 ``[N]`` the SNR of each additive signal (NaN where there is none).
        eq_db: float32 ``[N]`` the equaliser tilt in dB per octave (0 where there is none).
    """

    rir: torch.Tensor
    has_rir: torch.Tensor
    noise: torch.Tensor
    snr_db: torch.Tensor
    eq_db: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> "BatchDraws":
        """The same choices on ``device``."""
        return BatchDraws(*(getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)))

    def rows(self, index: slice) -> "BatchDraws":
        """The choices of some rows (a slice of the batch)."""
        return BatchDraws(*(getattr(self, f.name)[index] for f in fields(self)))

    def pin_memory(self) -> "BatchDraws":
        """Page-locked copies (called by the DataLoader when ``pin_memory`` is on)."""
        return BatchDraws(*(getattr(self, f.name).pin_memory() for f in fields(self)))


def collate_draws(draws: Sequence[AugmentDraw], num_samples: int) -> BatchDraws:
    """Pack per-segment :class:`AugmentDraw` s (segments of ``num_samples`` samples) into tensors."""
    n = len(draws)
    longest = max((d.rir.size for d in draws if d.rir is not None), default=0)
    rir = np.zeros((n, longest), dtype=np.float32)
    noise = np.zeros((n, num_samples), dtype=np.float32)
    snr = np.full(n, np.nan, dtype=np.float32)
    for i, d in enumerate(draws):
        if d.rir is not None:
            rir[i, : d.rir.size] = d.rir
        if d.noise is not None:
            noise[i] = d.noise
            snr[i] = d.snr_db
    has_rir = torch.tensor([d.rir is not None for d in draws], dtype=torch.bool)
    eq = torch.tensor([float(d.eq_db) for d in draws], dtype=torch.float32)
    return BatchDraws(torch.from_numpy(rir), has_rir, torch.from_numpy(noise), torch.from_numpy(snr), eq)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(dim=-1).sqrt()


def fast_fft_length(n: int) -> int:
    """The smallest 2^a * 3^b * 5^c >= ``n`` (FFT sizes that are fast for every FFT library).

    >>> fast_fft_length(39999), fast_fft_length(65537)
    (40000, 65610)
    """
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def reverberate_batch(wave: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """Convolve each row of ``wave`` ``[N, L]`` with its RIR ``[N, R]`` (see the module doc).

    Each RIR is scaled to unit energy and aligned on its largest sample (the direct
    path); the output keeps the input's length and RMS level.  One batched real FFT
    in float32, of a 5-smooth length >= L + R - 1 (a linear convolution).
    """
    n, length = wave.shape
    x = wave.float()
    h = rir.float()
    energy = h.pow(2).sum(dim=1, keepdim=True).sqrt()
    if bool((energy < _EPS).any()):
        raise ValueError("an RIR of the batch is all zeros")
    h = h / energy
    delay = h.abs().argmax(dim=1)
    size = fast_fft_length(length + h.shape[1] - 1)
    full = torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(h, size), size)
    index = delay[:, None] + torch.arange(length, device=wave.device)[None, :]
    out = full.gather(1, index)
    rms_in, rms_out = _rms(x), _rms(out)
    scale = torch.where(rms_out > _EPS, rms_in / rms_out.clamp_min(_EPS), torch.ones_like(rms_in))
    return (out * scale[:, None]).to(wave.dtype)


def mix_at_snr(wave: torch.Tensor, noise: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    """Add ``noise`` ``[N, L]`` to ``wave`` at ``snr_db`` ``[N]``; rows with a NaN SNR or silence are unchanged."""
    p_speech = wave.float().pow(2).mean(dim=1, dtype=torch.float64)
    p_noise = noise.float().pow(2).mean(dim=1, dtype=torch.float64)
    use = (~torch.isnan(snr_db)) & (p_speech >= _EPS) & (p_noise >= _EPS)
    snr = torch.where(use, snr_db.double(), torch.zeros_like(p_speech))
    scale = torch.where(use, (p_speech / (p_noise.clamp_min(_EPS) * 10.0 ** (snr / 10.0))).sqrt(),
                        torch.zeros_like(p_speech))
    return torch.addcmul(wave.float(), scale[:, None].float(), noise.float()).to(wave.dtype)


def augment_batch(wave: torch.Tensor, draws: BatchDraws, sampling_rate: int = 16000) -> torch.Tensor:
    """Reverberate the rows that drew an RIR, tilt those that drew an equaliser, then mix in the additive
    sources: ``[N, L]`` → ``[N, L]``."""
    out = wave
    if bool(draws.has_rir.any()):
        rows = draws.has_rir.nonzero().squeeze(1)
        out = wave.clone()
        out[rows] = reverberate_batch(wave[rows], draws.rir[rows])
    if bool((draws.eq_db != 0).any()):
        out = tilt_batch(out, draws.eq_db, sampling_rate)
    if bool((~torch.isnan(draws.snr_db)).any()):
        out = mix_at_snr(out, draws.noise, draws.snr_db)
    return out
