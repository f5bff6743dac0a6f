"""The ranges an utterance varies over (content rate, loudness, channel, noise), shared by the synthesis modules.

Example:
    >>> UtteranceConfig(snr_db=(40.0, 40.0)).snr_db
    (40.0, 40.0)
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UtteranceConfig:
    """Ranges of the per-utterance variation (content, rate, loudness, channel, noise).

    Example:
        >>> UtteranceConfig(snr_db=(40.0, 40.0)).snr_db
        (40.0, 40.0)
    """

    rate: tuple[float, float] = (0.75, 1.35)  # speaking-rate factor (1 = nominal)
    level_dbfs: tuple[float, float] = (-32.0, -16.0)  # output RMS level
    snr_db: tuple[float, float] = (8.0, 30.0)  # background noise SNR
    noise_color: tuple[float, float] = (0.0, 2.0)  # noise spectrum ~ 1/f^beta
    num_eq_bands: tuple[int, int] = (1, 3)  # random peaking filters in the channel
    eq_gain_db: float = 8.0  # peaking / shelf gains drawn from [-g, g]
    highpass_hz: tuple[float, float] = (50.0, 300.0)  # channel low cut
    lowpass_hz: tuple[float, float] = (4000.0, 7800.0)  # channel high cut (capped below Nyquist)
