"""Which options made a stored-feature manifest, and whether they are the ones a config asks for.

``spkssl compute-fbank`` writes ``<manifest>.options.json`` beside every manifest with
stored features (the fbank options, the extractor, the source cut set).  The data
folder is shared by every experiment tag that names it, while each tag has its own
``features`` section, so before a tag trains or extracts, :func:`check_manifest`
compares the two and refuses a mismatch, naming the keys, instead of training for
hours and then failing at extraction.  Manifests written before these files existed
are checked on what Lhotse records (feature dimension and frame shift).

Example:
    >>> import tempfile, pathlib
    >>> m = pathlib.Path(tempfile.mkdtemp()) / "train_cuts_fbank.jsonl.gz"
    >>> write_options(m, {"num_mel_bins": 80, "frame_shift_ms": 10.0}, "knf-fbank", "train_cuts.jsonl.gz")
    >>> differing(read_options(m)["options"], {"num_mel_bins": 40, "frame_shift_ms": 10.0})
    ['num_mel_bins']
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from spkssl.utils.io import write_json_atomic


class FeatureMismatch(ValueError):
    """Stored features were made with other options than the config asks for (keys named)."""


def options_path(manifest: str | Path) -> Path:
    """``data/manifests/train_cuts_fbank.jsonl.gz`` → ``.../train_cuts_fbank.jsonl.gz.options.json``."""
    manifest = Path(manifest)
    return manifest.with_name(manifest.name + ".options.json")


def write_options(manifest: str | Path, options: Mapping[str, Any], extractor: str, source: str | Path) -> None:
    """Record the options that made ``manifest``'s features (written before the manifest itself)."""
    write_json_atomic(options_path(manifest), {"extractor": extractor, "options": dict(options),
                                               "source_cuts": str(source)})


def read_options(manifest: str | Path) -> dict[str, Any] | None:
    """The recorded options of ``manifest``, or None when it has none (written before they were recorded)."""
    path = options_path(manifest)
    return json.loads(path.read_text()) if path.is_file() else None


def differing(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """Keys of ``wanted`` whose stored value differs (or is missing)."""
    return sorted(k for k, v in wanted.items() if k not in stored or stored[k] != v)


def _legacy_options(manifest: Path) -> dict[str, Any] | None:
    """What a manifest without an options file tells about its features: dimension and frame shift."""
    from lhotse import CutSet

    for cut in CutSet.from_jsonl_lazy(manifest):
        if not cut.has_features:
            return None
        return {"num_mel_bins": int(cut.features.num_features),
                "frame_shift_ms": round(float(cut.features.frame_shift) * 1000.0, 6)}
    return None


def check_manifest(manifest: str | Path, wanted: Mapping[str, Any], config_name: str) -> None:
    """Refuse ``manifest``'s stored features if they were made with options other than ``wanted``.

    ``wanted`` are complete fbank options (:func:`spkssl.features.fbank.fbank_cfg`);
    ``config_name`` names the config they come from, for the message.  A missing
    manifest, or one without stored features, passes: there is nothing to mismatch.

    Raises:
        FeatureMismatch: naming the manifest, every differing ``features.*`` key with both
            values, and the two ways out.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        return
    recorded = read_options(manifest)
    stored = {"backend": "knf", **recorded["options"]} if recorded else _legacy_options(manifest)
    if stored is None:
        return
    keys = differing(stored, {k: v for k, v in wanted.items() if recorded or k in stored})
    if keys:
        pairs = ", ".join(f"features.{k}={stored.get(k)!r} (the config: {wanted[k]!r})" for k in keys)
        raise FeatureMismatch(
            f"{manifest} holds features made with {pairs}, which {config_name} does not ask for. Stored "
            "features are shared by every experiment on this data folder: give this one its own "
            "(run.sh --data-dir <new folder>, whose stages 1-3 compute them), or recompute them for all "
            "(run.sh --stage 3 --force true)")
