"""Speaker-embedding networks behind a small registry.

A config names a model; adding one means one new module with its ``nn.Module``
and one entry in :data:`MODELS`.

Every model maps features ``(batch, frames, feat_dim)`` to embeddings
``(batch, embed_dim)`` and exposes ``embed_dim``.

Example:
    >>> import torch
    >>> from spkssl.config import with_defaults
    >>> model = build_model(with_defaults("model", {"name": "tdnn", "embed_dim": 64}), feat_dim=40)
    >>> model(torch.randn(2, 150, 40)).shape
    torch.Size([2, 64])
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch.nn as nn

from spkssl.config import require_complete
from spkssl.models.ecapa import ECAPA
from spkssl.models.resnet import ResNet34
from spkssl.models.tdnn import TDNN
from spkssl.utils.registry import Registry

#: ``model.name`` → constructor ``(feat_dim=, embed_dim=, pooling=, **model.kwargs)``
MODELS: Registry[Callable[..., nn.Module]] = Registry("model", {"tdnn": TDNN, "ecapa": ECAPA, "resnet34": ResNet34})


def build_model(model_cfg: Mapping[str, Any], feat_dim: int) -> nn.Module:
    """Build the network named by ``model_cfg['name']``.

    ``model_cfg`` holds ``name``, ``embed_dim``, ``pooling`` and free-form
    ``kwargs`` passed to the constructor (a wrong keyword is reported by name);
    the section is complete (:func:`spkssl.config.require_complete`).
    """
    require_complete("model", model_cfg)
    name = model_cfg["name"]
    build = MODELS[name]
    kwargs = dict(model_cfg["kwargs"] or {})
    try:
        return build(
            feat_dim=feat_dim,
            embed_dim=int(model_cfg["embed_dim"]),
            pooling=model_cfg["pooling"],
            **kwargs,
        )
    except TypeError as exc:
        raise ValueError(f"bad options for model '{name}' ({kwargs}): {exc}") from exc
