"""spkssl — iterative self-supervised speaker embedding learning.

Round 0 trains a speaker network contrastively without labels; later rounds
cluster the embeddings into pseudo speakers and retrain with a classification
loss.  See ``README.md`` and ``egs/*/run.sh``.

A trained model, on any audio (:mod:`spkssl.inference`)::

    import spkssl
    model = spkssl.load_model("exp/mini/round2/final.pt")   # or an exported .onnx / .ts
    model.embed_file("a.wav"), model.verify("a.wav", "b.wav")
"""
from typing import Any

from spkssl.version import __version__

__all__ = ["__version__", "load_model"]


def __getattr__(name: str) -> Any:
    """``spkssl.load_model`` is imported on first use, so ``import spkssl`` stays cheap (no torch)."""
    if name == "load_model":
        from spkssl.inference.model import load_model

        return load_model
    raise AttributeError(f"module 'spkssl' has no attribute {name!r}")
