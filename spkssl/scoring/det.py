"""DET plots (miss vs false-alarm probability on probit axes), written atomically as PNG.

Example:
    >>> import numpy as np, tempfile
    >>> from spkssl.scoring.metrics import det_curve
    >>> rng = np.random.default_rng(0)
    >>> labels = rng.random(2000) < 0.2
    >>> curve = det_curve(rng.normal(size=2000) + 2 * labels, labels)
    >>> plot_det({"toy": curve}, tempfile.mkdtemp() + "/det.png")
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
from scipy.stats import norm

from spkssl.utils.io import atomic_path

TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9]
LIMITS = (0.0005, 0.6)


def plot_det(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], out_png: str | Path,
    title: str = "DET", eer_points: Mapping[str, float] | None = None,
) -> None:
    """Plot one DET curve per ``name → (p_fa, p_miss)`` (fractions) into ``out_png``.

    ``eer_points`` optionally marks each curve's EER (percent) on the diagonal.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = norm.ppf(LIMITS[0]), norm.ppf(LIMITS[1])
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    try:
        for name, (p_fa, p_miss) in curves.items():
            x = norm.ppf(np.clip(p_fa, 1e-6, 1 - 1e-6))
            y = norm.ppf(np.clip(p_miss, 1e-6, 1 - 1e-6))
            label = name
            if eer_points and name in eer_points:
                e = eer_points[name] / 100.0
                ax.plot(norm.ppf(e), norm.ppf(e), "o", ms=4, color="black")
                label = f"{name} (EER {eer_points[name]:.2f}%)"
            ax.plot(x, y, lw=1.5, label=label)
        ax.plot([lo, hi], [lo, hi], ":", color="grey", lw=0.8)
        ticks = [t for t in TICKS if LIMITS[0] <= t <= LIMITS[1]]
        labels = [f"{100 * t:g}" for t in ticks]
        ax.set_xticks(norm.ppf(ticks), labels)
        ax.set_yticks(norm.ppf(ticks), labels)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel("False alarm probability (%)")
        ax.set_ylabel("Miss probability (%)")
        ax.set_title(title)
        ax.grid(True, lw=0.4, alpha=0.6)
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        with atomic_path(out_png) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
