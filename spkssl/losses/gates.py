"""Loss gates: which samples of a pseudo-label batch train, and with which label.

Pseudo labels from clustering are partly wrong.  A sample whose label is wrong
tends to keep a high loss, so the gates select on the per-sample loss of the
classification head (:meth:`spkssl.losses.margin.MarginHead.per_sample`):

* ``none`` (:class:`LossGate`): every sample trains.
* ``lgl`` (:class:`LossGatedLearning`, Tao et al., ICASSP 2022): only samples whose
  loss is at most ``gate_threshold`` contribute.
* ``dlg_lc`` (:class:`DynamicLossGate`, Han, Chen and Qian, Interspeech 2022): a
  two-component Gaussian mixture fitted to the per-sample losses of the previous
  epoch sets the gate: a sample trains when the posterior of the low-loss ("clean")
  component is above ``dlg_clean_posterior``.  A sample the gate rejects but whose
  predicted class has a softmax probability above ``dlg_correct_confidence`` trains
  with that prediction as its label (label correction).

Every gate is open (all samples train) for the first ``gate_warmup_epochs`` epochs:
the network must first fit the labels before its losses tell clean from noisy
(LGL trains ungated until the validation EER stops improving).  With
``gate_full_margin`` it also stays open while the AAM margin warms up
(``margin_warmup_epochs``), and DLG-LC fits its mixture only on losses taken under the
full margin, the one the gated epochs train with.  Each gate counts,
per epoch, the fraction of samples kept and corrected (:meth:`LossGate.end_epoch`, over
every DDP rank); its state (counts, the losses of the running epoch, the mixture, the
history) is part of the full-state checkpoint (:meth:`LossGate.state_dict`; the running
epoch's share is per rank, see :mod:`spkssl.utils.collective`).

Example:
    >>> import torch
    >>> from spkssl.config import with_defaults
    >>> cfg = with_defaults("loss", {"classification": {"gate": "lgl", "gate_threshold": 1.0, "gate_warmup_epochs": 0,
    ...                                                    "gate_full_margin": False}})
    >>> gate = build_gate(with_defaults("loss.classification", cfg["classification"]))
    >>> gate.set_progress(0.0)
    >>> sel = gate.select(torch.tensor([0.2, 3.0, 0.9]), torch.zeros(3, 4), torch.tensor([0, 1, 2]))
    >>> sel.keep.tolist(), gate.end_epoch()["kept_fraction"]
    ([True, False, True], 0.6666666666666666)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from spkssl.config import require_complete
from spkssl.utils.collective import all_gather_1d, all_sum, own_share
from spkssl.utils.logging import get_logger
from spkssl.utils.registry import Registry

log = get_logger(__name__)


@dataclass
class Selection:
    """What a gate decided for one batch.

    Attributes:
        keep: bool ``[B]``: the sample contributes to the loss.
        labels: int64 ``[B]``: the label it trains with (the prediction where corrected).
        corrected: bool ``[B]``: its label was replaced by the prediction.
    """

    keep: torch.Tensor
    labels: torch.Tensor
    corrected: torch.Tensor


#: seeds the k-means initialisation of the loss mixture (same losses, same mixture)
MIXTURE_SEED = 0


class LossGate:
    """The open gate (``gate: none``): every sample trains with its own label; counts what it sees.

    Args:
        cfg: the ``loss.classification`` section (reads ``gate_warmup_epochs``; subclasses read more).
    """

    name = "none"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.warmup_epochs = float(cfg["gate_warmup_epochs"])
        if self.warmup_epochs < 0:
            raise ValueError(f"loss.classification.gate_warmup_epochs must be >= 0, got {self.warmup_epochs}")
        self.margin_epochs = float(cfg["margin_warmup_epochs"]) if bool(cfg["gate_full_margin"]) else 0.0
        self.warmup_epochs = max(self.warmup_epochs, self.margin_epochs)
        self.active = False
        self.full_margin = self.margin_epochs <= 0
        self.counts = [0.0, 0.0, 0.0]  # samples seen, kept, corrected in the running epoch
        self.history: list[dict[str, float]] = []
        self.last = {"kept_fraction": 1.0, "corrected_fraction": 0.0}

    def set_progress(self, epoch: float) -> None:
        """Close the gate once its warm-up has passed (``epoch``: fractional epochs)."""
        self.active = epoch >= self.warmup_epochs
        self.full_margin = epoch >= self.margin_epochs

    def decide(self, losses: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> Selection:
        """The selection of a closed gate (this one keeps all)."""
        keep = torch.ones_like(labels, dtype=torch.bool)
        return Selection(keep, labels, torch.zeros_like(keep))

    def observe(self, losses: torch.Tensor) -> None:
        """Record the per-sample losses of a batch (for a gate that models them); nothing here."""

    def select(self, losses: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> Selection:
        """Decide for one batch (``losses`` ``[B]`` against ``labels``, ``logits`` ``[B, C]``) and count it."""
        losses, logits = losses.detach(), logits.detach()
        self.observe(losses)
        if self.active:
            sel = self.decide(losses, logits, labels)
        else:
            sel = LossGate.decide(self, losses, logits, labels)
        n, kept, corrected = labels.numel(), float(sel.keep.sum()), float(sel.corrected.sum())
        self.counts = [self.counts[0] + n, self.counts[1] + kept, self.counts[2] + corrected]
        self.last = {"kept_fraction": kept / max(1, n), "corrected_fraction": corrected / max(1, n)}
        return sel

    def refit(self) -> dict[str, float]:
        """At an epoch end: update what the gate learned from the epoch; extra statistics to report."""
        return {}

    def end_epoch(self) -> dict[str, float]:
        """Close the epoch: ``kept_fraction``, ``corrected_fraction`` (over all ranks) and the gate's own."""
        seen, kept, corrected = all_sum(self.counts)
        stats = {"kept_fraction": kept / max(1.0, seen), "corrected_fraction": corrected / max(1.0, seen),
                 **self.refit()}
        self.history.append(stats)
        self.counts = [0.0, 0.0, 0.0]
        return stats

    def state_dict(self) -> dict[str, Any]:
        """The gate's running state (checkpointed with the round)."""
        return {"gate": self.name, "counts": list(self.counts), "history": [dict(h) for h in self.history]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`; a state of another gate is an error."""
        if state.get("gate") != self.name:
            raise ValueError(f"checkpoint has loss gate {state.get('gate')!r}, this run has {self.name!r}")
        self.counts = [float(v) for v in state["counts"]] if own_share() else [0.0, 0.0, 0.0]
        self.history = [dict(h) for h in state["history"]]


class LossGatedLearning(LossGate):
    """LGL: a sample trains only when its loss is at most ``gate_threshold``."""

    name = "lgl"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.threshold = float(cfg["gate_threshold"])
        if self.threshold <= 0:
            raise ValueError(f"loss.classification.gate_threshold must be > 0, got {self.threshold}")

    def decide(self, losses: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> Selection:
        keep = losses <= self.threshold
        return Selection(keep, labels, torch.zeros_like(keep))


def fit_loss_mixture(losses: np.ndarray) -> dict[str, float] | None:
    """Two 1-D Gaussians fitted to ``losses``: ``{mean, var, weight}`` of the clean (lower-mean) and noisy ones.

    None when the losses cannot hold two components (fewer than 2 distinct finite values).

    >>> rng = np.random.default_rng(0)
    >>> m = fit_loss_mixture(np.concatenate([rng.normal(1, 0.2, 800), rng.normal(6, 0.5, 200)]))
    >>> round(m["clean_mean"]), round(m["noisy_mean"]), round(m["clean_weight"], 1)
    (1, 6, 0.8)
    """
    from sklearn.mixture import GaussianMixture

    x = np.asarray(losses, dtype=np.float64)
    x = x[np.isfinite(x)]
    if np.unique(x).size < 2:
        return None
    gmm = GaussianMixture(n_components=2, covariance_type="full", random_state=MIXTURE_SEED).fit(x[:, None])
    means, variances, weights = gmm.means_[:, 0], gmm.covariances_[:, 0, 0], gmm.weights_
    c, n = (0, 1) if means[0] <= means[1] else (1, 0)
    return {"clean_mean": float(means[c]), "clean_var": float(variances[c]), "clean_weight": float(weights[c]),
            "noisy_mean": float(means[n]), "noisy_var": float(variances[n]), "noisy_weight": float(weights[n])}


def clean_posterior(losses: torch.Tensor, mix: Mapping[str, float]) -> torch.Tensor:
    """Posterior probability of the clean component for each loss under the mixture ``mix``."""
    x = losses.double()

    def log_joint(kind: str) -> torch.Tensor:
        var = mix[f"{kind}_var"]
        return math.log(mix[f"{kind}_weight"]) - 0.5 * (math.log(2 * math.pi * var) + (x - mix[f"{kind}_mean"]) ** 2 / var)

    clean, noisy = log_joint("clean"), log_joint("noisy")
    return torch.sigmoid(clean - noisy).to(losses.dtype)


def gate_threshold(mix: Mapping[str, float], posterior: float) -> float:
    """The loss between the two means at which the clean posterior equals ``posterior`` (NaN if none)."""
    a1, a2 = 1.0 / mix["clean_var"], 1.0 / mix["noisy_var"]
    m1, m2 = mix["clean_mean"], mix["noisy_mean"]
    # log w1 N1(x) - log w2 N2(x) = logit(posterior): a quadratic a x^2 + b x + c = 0
    a = 0.5 * (a2 - a1)
    b = a1 * m1 - a2 * m2
    c = (0.5 * (a2 * m2 * m2 - a1 * m1 * m1) + math.log(mix["clean_weight"] / mix["noisy_weight"])
         + 0.5 * math.log(mix["noisy_var"] / mix["clean_var"]) - math.log(posterior / (1.0 - posterior)))
    roots = [-c / b] if abs(a) < 1e-12 else [(-b + s * math.sqrt(max(0.0, b * b - 4 * a * c))) / (2 * a) for s in (1, -1)]
    inside = [r for r in roots if min(m1, m2) <= r <= max(m1, m2)]
    return float(inside[0]) if inside else float("nan")


class DynamicLossGate(LossGate):
    """DLG-LC: a mixture on the previous epoch's losses gates; confident predictions correct labels."""

    name = "dlg_lc"

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.posterior = float(cfg["dlg_clean_posterior"])
        self.confidence = float(cfg["dlg_correct_confidence"])
        for key, value in (("dlg_clean_posterior", self.posterior), ("dlg_correct_confidence", self.confidence)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"loss.classification.{key} must lie in (0, 1), got {value}")
        self.mixture: dict[str, float] | None = None
        self.epoch_losses: list[torch.Tensor] = []

    def observe(self, losses: torch.Tensor) -> None:
        if self.full_margin:  # losses under a smaller margin than training will use say little (gate_full_margin)
            self.epoch_losses.append(losses.float().cpu())

    def decide(self, losses: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> Selection:
        if self.mixture is None:  # no epoch seen yet: nothing to gate with
            return LossGate.decide(self, losses, logits, labels)
        passed = clean_posterior(losses, self.mixture) > self.posterior
        prob, pred = logits.float().softmax(dim=-1).max(dim=-1)
        confident = (prob > self.confidence) & ~passed
        corrected = confident & (pred != labels)
        return Selection(passed | confident, torch.where(corrected, pred, labels), corrected)

    def refit(self) -> dict[str, float]:
        values = torch.cat(self.epoch_losses) if self.epoch_losses else torch.zeros(0)
        self.epoch_losses = []
        if not self.full_margin:
            return {}
        self.mixture = fit_loss_mixture(all_gather_1d(values).numpy())
        if self.mixture is None:
            log.warning("dlg_lc: the epoch's losses cannot hold two components; the gate stays open")
            return {}
        return {"threshold": gate_threshold(self.mixture, self.posterior),
                "clean_mean": self.mixture["clean_mean"], "noisy_mean": self.mixture["noisy_mean"],
                "clean_weight": self.mixture["clean_weight"]}

    def state_dict(self) -> dict[str, Any]:
        losses = torch.cat(self.epoch_losses) if self.epoch_losses else torch.zeros(0)
        return {**super().state_dict(), "mixture": self.mixture, "epoch_losses": losses}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.mixture = None if state["mixture"] is None else dict(state["mixture"])
        self.epoch_losses = [state["epoch_losses"].float().cpu()] if own_share() else []


#: ``loss.classification.gate`` → gate class
GATES: Registry[type[LossGate]] = Registry("loss.classification.gate",
                                           {g.name: g for g in (LossGate, LossGatedLearning, DynamicLossGate)})


def build_gate(cfg: Mapping[str, Any]) -> LossGate:
    """The gate named by ``cfg["gate"]`` of a complete ``loss.classification`` section."""
    require_complete("loss.classification", cfg)
    return GATES[cfg["gate"]](cfg)
