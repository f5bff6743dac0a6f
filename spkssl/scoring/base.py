"""What every scoring back-end is: fitted once on training embeddings, then scores any trial list.

A back-end is a class with a ``name``, a :meth:`Backend.fit` from a
:class:`TrainingSet` and the ``score`` config section, a ``score`` of index-paired
trials, and a round trip through named numpy arrays (:meth:`Backend.arrays` /
:meth:`Backend.from_arrays`), which is how a model carries it (``verify.npz``).
The registry that names them is :data:`spkssl.scoring.backends.BACKENDS`.

Example:
    >>> import numpy as np
    >>> train = TrainingSet(["a", "b"], np.eye(2, dtype=np.float32), {"a": "s1"})
    >>> train.labels_of("plda")
    Traceback (most recent call last):
    ...
    ValueError: 1 training utterance(s) of the training embeddings have no speaker in utt2spk, e.g. 'b'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from spkssl.utils.io import atomic_path


@dataclass
class TrainingSet:
    """The training embeddings a back-end is fitted on: ``ids``, ``emb`` ``[N, E]``, optional speakers.

    ``sources`` names the files (``train_embeddings``, ``train_utt2spk``) for errors and reports.
    """

    ids: Sequence[str]
    emb: np.ndarray
    utt2spk: Mapping[str, str] | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def labels_of(self, backend: str) -> np.ndarray:
        """The speaker of every training utterance, in order (``backend`` names who asks).

        Raises:
            ValueError: no ``utt2spk``, or an utterance without a speaker (both files named).
        """
        if self.utt2spk is None:
            raise ValueError(f"back-end '{backend}' needs speaker labels of the training embeddings "
                             "(--train-utt2spk)")
        missing = [u for u in self.ids if u not in self.utt2spk]
        if missing:
            raise ValueError(f"{len(missing)} training utterance(s) of "
                             f"{self.sources.get('train_embeddings', 'the training embeddings')} have no speaker in "
                             f"{self.sources.get('train_utt2spk', 'utt2spk')}, e.g. '{missing[0]}'")
        return np.asarray([self.utt2spk[u] for u in self.ids])


class Backend:
    """A fitted back-end: ``score(enroll, test, e_idx, t_idx) -> scores [T]``.

    Subclasses set ``name`` and implement :meth:`fit`, :meth:`score`, :meth:`arrays`,
    :meth:`from_arrays` and :meth:`describe`.  ``needs_training`` says whether
    :meth:`fit` needs a :class:`TrainingSet`; ``writes_model`` whether ``spkssl score``
    also saves the fitted back-end as ``NAME.BACKEND.plda.npz``-style file beside the scores.
    """

    name: ClassVar[str] = ""
    needs_training: ClassVar[bool] = True
    writes_model: ClassVar[bool] = False

    @classmethod
    def fit(cls, train: TrainingSet | None, cfg: Mapping[str, Any]) -> "Backend":
        """Fit on ``train`` with the complete ``score`` config section ``cfg``."""
        raise NotImplementedError

    @staticmethod
    def uses_labels(cfg: Mapping[str, Any]) -> bool:
        """Whether :meth:`fit` reads the training set's speakers with this ``score`` section."""
        return False

    def score(self, enroll: np.ndarray, test: np.ndarray, e_idx: np.ndarray, t_idx: np.ndarray) -> np.ndarray:
        """Score of each trial ``(enroll[e_idx[i]], test[t_idx[i]])``."""
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything :meth:`from_arrays` needs, as named numpy arrays."""
        raise NotImplementedError

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "Backend":
        """The back-end :meth:`arrays` describes."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the scores' JSON records about this back-end (besides its name)."""
        return {}

    def save(self, path: str | Path) -> None:
        """Write :meth:`arrays` as ``.npz`` atomically."""
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **self.arrays())


def optional_array(x: np.ndarray | None) -> np.ndarray:
    """``x``, or an empty array standing for None in :meth:`Backend.arrays`."""
    return np.zeros(0, dtype=np.float32) if x is None else np.asarray(x)


def array_or_none(x: np.ndarray) -> np.ndarray | None:
    """The inverse of :func:`optional_array`.

    >>> array_or_none(optional_array(None)) is None
    True
    """
    return x if x.size else None
