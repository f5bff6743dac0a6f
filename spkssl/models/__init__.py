"""Speaker-embedding networks behind a small registry.

A config names a model; adding one means one new module that calls
:func:`register_model` and one import line below.

Every model maps features ``(batch, frames, feat_dim)`` to embeddings
``(batch, embed_dim)`` and exposes ``embed_dim``.

Example:
    >>> import torch
    >>> model = build_model({"name": "tdnn", "embed_dim": 64, "pooling": "stats", "kwargs": {}}, feat_dim=40)
    >>> model(torch.randn(2, 150, 40)).shape
    torch.Size([2, 64])
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch.nn as nn

from spkssl.config import with_defaults

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class decorator adding a model constructor to the registry under ``name``."""

    def deco(cls: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"model '{name}' registered twice")
        MODELS[name] = cls
        return cls

    return deco


def build_model(model_cfg: Mapping[str, Any], feat_dim: int) -> nn.Module:
    """Build the network named by ``model_cfg['name']``.

    ``model_cfg`` holds ``name``, ``embed_dim``, ``pooling`` and free-form
    ``kwargs`` passed to the constructor (a wrong keyword is reported by name);
    missing keys take the package defaults (``spkssl/configs/model.yaml``).
    """
    model_cfg = with_defaults("model", model_cfg)
    name = model_cfg["name"]
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}'; known: {sorted(MODELS)}")
    kwargs = dict(model_cfg["kwargs"] or {})
    try:
        return MODELS[name](
            feat_dim=feat_dim,
            embed_dim=int(model_cfg["embed_dim"]),
            pooling=model_cfg["pooling"],
            **kwargs,
        )
    except TypeError as exc:
        raise ValueError(f"bad options for model '{name}' ({kwargs}): {exc}") from exc


# Model modules register themselves on import.
from spkssl.models import ecapa, resnet, tdnn  # noqa: E402,F401
