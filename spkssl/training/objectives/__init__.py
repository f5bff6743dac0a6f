"""Training objectives: each brings its dataset view, loss and batch handling to the one trainer.

* ``contrastive`` (:class:`ContrastiveObjective`): round 0 without labels, NT-Xent.
* ``dino`` (:class:`DINOObjective`): round 0 without labels, DINO self-distillation
  (multi-crop, EMA teacher).
* ``classification`` (:class:`ClassificationObjective`): pseudo-label rounds (and the
  supervised reference), softmax, AAM or sub-center AAM, with an optional loss gate.
* ``dino_classification`` (:class:`DINOClassificationObjective`): pseudo-label rounds that
  keep round 0's DINO beside the classifier.

Which objective a round trains is decided in :mod:`spkssl.experiment` from the round
number and the config (``rounds.round0_objective``, ``rounds.objective``); ``spkssl train --objective``
picks one directly.

Example:
    >>> sorted(OBJECTIVES)
    ['classification', 'contrastive', 'dino', 'dino_classification']
    >>> build_objective("triplet", {}, None, None, 8)
    Traceback (most recent call last):
    ...
    spkssl.utils.registry.UnknownName: unknown training objective 'triplet'; known: classification, contrastive, dino, dino_classification
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from spkssl.augment.augment import Augmentor
from spkssl.training.objectives.base import Objective
from spkssl.training.objectives.classification import ClassificationObjective
from spkssl.training.objectives.contrastive import ContrastiveObjective
from spkssl.training.objectives.dino import DINOObjective
from spkssl.training.objectives.dino_classification import DINOClassificationObjective
from spkssl.utils.registry import Registry

OBJECTIVES: Registry[type[Objective]] = Registry("training objective", {o.name: o for o in (
    ContrastiveObjective, DINOObjective, ClassificationObjective, DINOClassificationObjective)})


def objective_class(name: str) -> type[Objective]:
    """The registered objective ``name``; an unknown name is an error listing the known ones."""
    return OBJECTIVES[name]


def build_objective(name: str, cfg: Mapping[str, Any], speakers: Sequence[str] | None,
                    augmentor: Augmentor | None, embed_dim: int) -> Objective:
    """The objective ``name`` for a network with ``embed_dim``-dimensional embeddings.

    ``speakers``: the speaker of every training cut, for objectives that need labels.
    """
    return objective_class(name)(cfg, speakers, augmentor, embed_dim)


__all__ = ["OBJECTIVES", "ClassificationObjective", "ContrastiveObjective", "DINOClassificationObjective",
           "DINOObjective", "Objective", "build_objective", "objective_class"]
