"""The registry of scoring back-ends: name → :class:`~spkssl.scoring.base.Backend` class.

Each back-end is fitted once per system (:func:`fit_backend`) and then scores any
trial list; :func:`load_backend` rebuilds one from the arrays a model carries.  A new
back-end is one module with a :class:`~spkssl.scoring.base.Backend` subclass and one
entry in :data:`BACKENDS`.

Example:
    >>> import numpy as np
    >>> from spkssl.scoring.base import TrainingSet
    >>> rng = np.random.default_rng(0)
    >>> train = TrainingSet([f"u{i}" for i in range(40)], rng.normal(size=(40, 8)).astype(np.float32))
    >>> from spkssl.config import with_defaults
    >>> b = fit_backend("whiten", train, with_defaults("score", {"whiten": {"floor": 0.3}}))
    >>> again = load_backend("whiten", b.arrays())
    >>> x = rng.normal(size=(2, 8)).astype(np.float32)
    >>> bool(np.array_equal(b.score(x, x, np.array([0]), np.array([1])), again.score(x, x, np.array([0]), np.array([1]))))
    True
    >>> fit_backend("plda2", train, with_defaults("score", {}))
    Traceback (most recent call last):
    ...
    spkssl.utils.registry.UnknownName: unknown scoring back-end 'plda2'; known: asnorm, cosine, plda, whiten
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from spkssl.config import require_complete
from spkssl.scoring.asnorm import AsnormBackend
from spkssl.scoring.base import Backend, TrainingSet
from spkssl.scoring.cosine import CosineBackend
from spkssl.scoring.plda import PldaBackend
from spkssl.scoring.whiten import WhitenBackend
from spkssl.utils.registry import Registry

#: ``score.backends`` entry → class (the order is the documentation's)
BACKENDS: Registry[type[Backend]] = Registry("scoring back-end", {
    b.name: b for b in (CosineBackend, WhitenBackend, AsnormBackend, PldaBackend)})


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``; the error lists the registered ones."""
    return BACKENDS[name]


def fit_backend(name: str, train: TrainingSet | None, score_cfg: Mapping[str, Any]) -> Backend:
    """Fit back-end ``name`` on ``train`` (``score_cfg``: the complete ``score`` section).

    Raises:
        ValueError: an unknown back-end, or training data or labels it needs and lacks.
    """
    cls = backend_class(name)
    if train is not None:
        train = TrainingSet(list(train.ids), np.asarray(train.emb, dtype=np.float32), train.utt2spk, train.sources)
    return cls.fit(train, require_complete("score", score_cfg))


def load_backend(name: str, arrays: Mapping[str, np.ndarray]) -> Backend:
    """Rebuild a back-end from its :meth:`~spkssl.scoring.base.Backend.arrays`."""
    return backend_class(name).from_arrays(arrays)
