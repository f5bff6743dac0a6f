"""Final model files (``final.pt``): the network weights together with the resolved config.

``final.pt`` is a ``torch.save`` of ``{"config": cfg, "state_dict": ..., "extra": ...,
"spkssl": {"version", "git_commit"}}``.  The config is enough to rebuild the network
(``cfg["model"]`` and ``cfg["features"]["num_mel_bins"]``), so extraction needs nothing
else; ``spkssl`` records what wrote the file (files written before it existed have none,
and load as before).

Example:
    >>> import tempfile, pathlib
    >>> from spkssl.models import build_model
    >>> cfg = {"model": with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 32}}),
    ...        "features": {"num_mel_bins": 24}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "final.pt"
    >>> save_final_model(path, build_model(cfg["model"], 24), cfg, extra={"epoch": 3})
    >>> model, cfg2 = load_final_model(path)
    >>> model.embed_dim, model.training
    (16, False)
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from spkssl.config import ConfigError, with_defaults
from spkssl.models import build_model
from spkssl.utils.io import atomic_path
from spkssl.version import __version__


class ModelFileError(RuntimeError):
    """A final model file is missing, unreadable or does not match its config."""


def _unwrap(model: nn.Module) -> nn.Module:
    """The bare network inside DDP / ``torch.compile`` wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def build_info() -> dict[str, Any]:
    """``{"version", "git_commit"}`` of the running spkssl (``git_commit``: None outside a git checkout;
    ``-dirty`` appended when tracked files differ from it).

    >>> sorted(build_info())
    ['git_commit', 'version']
    """
    root = Path(__file__).resolve().parents[2]
    commit = None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        commit = head + ("-dirty" if dirty else "") if head else None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"version": __version__, "git_commit": commit}


def save_final_model(
    path: str | Path, model: nn.Module, cfg: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> None:
    """Write ``{"config", "state_dict", "extra"}`` to ``path`` atomically.

    Tensors are moved to the CPU so the file loads on any machine; DDP and
    ``torch.compile`` wrappers are removed so key names match a bare network.
    """
    state = {k: v.detach().cpu() for k, v in _unwrap(model).state_dict().items()}
    payload = {"config": dict(cfg), "state_dict": state, "extra": dict(extra) if extra is not None else None,
               "spkssl": build_info()}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


#: the sections of a run's config that the users of a model file read (to rebuild, feed and chunk it)
MODEL_SECTIONS = ("model", "features", "extract")


def model_config(cfg: Any, where: str | Path) -> dict[str, Any]:
    """A model file's config with :data:`MODEL_SECTIONS` complete: done once, where a ``final.pt`` or an
    exported file is read, so that every reader after it gets whole sections (a file written before a
    key existed gets that key's package default).

    >>> cfg = model_config({"model": {"name": "tdnn"}, "features": {"num_mel_bins": 40}}, "final.pt")
    >>> cfg["model"]["embed_dim"], cfg["features"]["num_mel_bins"], "chunk_seconds" in cfg["extract"]
    (256, 40, True)
    >>> model_config([], "x.pt")
    Traceback (most recent call last):
    ...
    spkssl.models.io.ModelFileError: x.pt: its config is not a mapping of sections
    """
    if not isinstance(cfg, Mapping):
        raise ModelFileError(f"{where}: its config is not a mapping of sections")
    try:
        return {**cfg, **{s: with_defaults(s, cfg.get(s)) for s in MODEL_SECTIONS}}
    except ConfigError as exc:
        raise ModelFileError(f"{where}: {exc}") from exc


def read_final_payload(path: str | Path) -> dict[str, Any]:
    """The dict inside a ``final.pt`` (``config``, ``state_dict``, ``extra``; ``spkssl`` when recorded), its
    config's model sections complete (:func:`model_config`).

    Raises:
        ModelFileError: the file is missing, unreadable, or not a final model file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt files
        raise ModelFileError(f"{path}: cannot read model file: {exc}") from exc
    if not isinstance(payload, dict) or "config" not in payload or "state_dict" not in payload:
        raise ModelFileError(f"{path}: not a final model file (expected keys 'config' and 'state_dict')")
    payload["config"] = model_config(payload["config"], path)
    return payload


def load_final_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the network saved at ``path``; returns ``(model in eval mode on device, cfg)``.

    Raises:
        ModelFileError: the file is missing or unreadable, lacks ``config`` /
            ``state_dict``, or its weights do not match the network its config
            describes (missing / unexpected keys or shape mismatches are listed).
    """
    payload = read_final_payload(path)
    cfg = payload["config"]
    try:
        model_cfg, feat_dim = cfg["model"], int(cfg["features"]["num_mel_bins"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: config lacks model / features.num_mel_bins: {exc!r}") from exc
    try:
        model = build_model(model_cfg, feat_dim)
    except ValueError as exc:
        raise ModelFileError(f"{path}: cannot build model from its config: {exc}") from exc
    state = payload["state_dict"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ModelFileError(
            f"{path}: weights do not match model '{model_cfg.get('name')}': "
            f"missing keys {missing[:10]}{' ...' if len(missing) > 10 else ''} ({len(missing)}), "
            f"unexpected keys {unexpected[:10]}{' ...' if len(unexpected) > 10 else ''} ({len(unexpected)})"
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # shape mismatches
        raise ModelFileError(f"{path}: weights do not match model '{model_cfg.get('name')}': {exc}") from exc
    model.to(device).eval()
    return model, cfg
