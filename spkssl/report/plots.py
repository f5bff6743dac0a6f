"""Figures of the results report: EER by round (one run, or mean ± std over runs) and the DET curves of every round.

Example:
    >>> plot_eer_by_round([0, 1, 2], [9.0, 6.5, 5.1], {"supervised": 3.0}, "/tmp/eer.png")  # doctest: +SKIP
    >>> plot_eer_spread_by_round([0, 1], [9.0, 6.5], [0.4, 0.9], {"supervised": (3.0, 0.2)}, "/tmp/eer.png",
    ...                          "EER by round over 3 seeds")  # doctest: +SKIP
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from spkssl.scoring.det import plot_det
from spkssl.utils.io import atomic_path


@contextmanager
def _eer_axes(rounds: Sequence[int], out_png: str | Path, title: str) -> Iterator[Any]:
    """Axes for an EER-by-round figure; labelled, saved to ``out_png`` and closed when the block ends."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        yield ax
        ax.set_xlabel("round")
        ax.set_ylabel("EER (%)")
        if len(rounds):
            ax.set_xticks(list(rounds))
        ax.set_title(title)
        ax.grid(True, lw=0.4, alpha=0.6)
        ax.legend(fontsize=8)
        fig.tight_layout()
        with atomic_path(out_png) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)


def plot_eer_by_round(
    rounds: Sequence[int], eers: Sequence[float], references: Mapping[str, float],
    out_png: str | Path, title: str = "EER by round", eers_roc: Sequence[float] | None = None,
) -> None:
    """EER (%) against round; each reference (label → EER %) is a horizontal dashed line."""
    with _eer_axes(rounds, out_png, title) as ax:
        ax.plot(rounds, eers, "o-", lw=1.8, label="EER (Kaldi)")
        if eers_roc is not None:
            ax.plot(rounds, eers_roc, "s--", lw=1.0, ms=4, alpha=0.7, label="EER (ROC)")
        for i, (label, value) in enumerate(references.items()):
            ax.axhline(value, ls="--", lw=1.0, color=f"C{i + 2}", label=f"{label} ({value:.2f}%)")


def plot_eer_spread_by_round(
    rounds: Sequence[int], means: Sequence[float], stds: Sequence[float],
    references: Mapping[str, tuple[float, float]], out_png: str | Path, title: str,
) -> None:
    """Mean EER (%) against round with ±1 std error bars; each reference (label → (mean, std)) a line and band."""
    with _eer_axes(rounds, out_png, title) as ax:
        ax.errorbar(rounds, means, yerr=stds, fmt="o-", lw=1.8, capsize=4, label="EER (Kaldi), mean ± std")
        for i, (label, (mean, std)) in enumerate(references.items()):
            ax.axhline(mean, ls="--", lw=1.0, color=f"C{i + 2}", label=f"{label} ({mean:.2f} ± {std:.2f}%)")
            ax.axhspan(mean - std, mean + std, color=f"C{i + 2}", alpha=0.15)


def plot_loss_curves(curves: Mapping[str, tuple[str, Sequence[float]]], out_png: str | Path,
                     title: str = "training loss by epoch") -> None:
    """Mean training loss of every epoch, one line per round (``label → (objective, losses)``), a panel per objective.

    Whether a round has converged shows as its curve flattening before the last epoch.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(dict.fromkeys(obj for obj, _ in curves.values()))
    if not objectives:
        raise ValueError("no training losses to plot")
    fig, axes = plt.subplots(1, len(objectives), figsize=(5.5 * len(objectives), 4), squeeze=False)
    try:
        for ax, objective in zip(axes[0], objectives):
            for label, (obj, losses) in curves.items():
                if obj == objective:
                    ax.plot(range(1, len(losses) + 1), losses, "o-", ms=3, lw=1.4, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"mean {objective} loss")
            ax.grid(True, lw=0.4, alpha=0.6)
            ax.legend(fontsize=8)
        fig.suptitle(title)
        fig.tight_layout()
        with atomic_path(out_png) as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)


def plot_det_all_rounds(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], eers: Mapping[str, float],
    out_png: str | Path, title: str,
) -> None:
    """All rounds' DET curves (label → ``(p_fa, p_miss)``) on one figure, EERs marked."""
    plot_det(curves, out_png, title=title, eer_points=eers)
