"""``spkssl info MODEL``: what a model file is, how it was trained and how well it did.

Reads the model file alone (``final.pt`` or an exported file's metadata) and, when
the model lies in its round's folder, that round's ``scores/*.json`` (EER and
minDCF of each trial list and back-end) and ``verify.json`` (the thresholds it carries).

Example (an untrained tiny TDNN saved as round 2 of an experiment, with nothing scored yet):
    >>> import tempfile, torch
    >>> from spkssl.models import build_model
    >>> from spkssl.models.io import save_final_model
    >>> path = Path(tempfile.mkdtemp()) / "round2" / "final.pt"
    >>> path.parent.mkdir()
    >>> from spkssl.config import with_defaults
    >>> tdnn = with_defaults("model", {"name": "tdnn", "embed_dim": 16, "kwargs": {"channels": 16}})
    >>> cfg = {"model": tdnn, "features": {"num_mel_bins": 80}}
    >>> save_final_model(path, build_model(cfg["model"], 80), cfg, extra={"objective": "classification", "epochs": 3})
    >>> info = model_info(path)
    >>> info["kind"], info["round"], info["model"]["embed_dim"], info["training"], info["runs"], info["verify"]
    ('final', 2, 16, {'epochs': 3}, [], None)
    >>> for line in format_info(info)[1:5]:  # after the file's own (temporary) path
    ...     print(line)
    objective:    classification, round 2
    network:      tdnn (embed_dim 16, pooling stats, kwargs {'channels': 16})
    features:     80 mel bins at 16000 Hz, CMN on, fbank backend knf
    data:         not recorded
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from spkssl.inference.engines import model_kind, open_engine
from spkssl.inference.sidecar import read_verify_sidecar
from spkssl.models.io import read_final_payload


def _payload(path: Path, kind: str) -> dict[str, Any]:
    if kind == "final":
        p = read_final_payload(path)
        return {"config": p["config"], "extra": p.get("extra") or {}, "trained_with": p.get("spkssl")}

    meta = open_engine(path).metadata
    return {"config": meta["config"], "extra": meta.get("training") or {}, "trained_with": meta.get("trained_with"),
            "exported_with": meta.get("exported_with"), "exported_from": meta.get("model")}


def model_info(path: str | Path) -> dict[str, Any]:
    """Everything ``spkssl info`` prints, as a dict (``runs``: the round's score JSONs, when beside it)."""
    path = Path(path)
    kind = model_kind(path)
    p = _payload(path, kind)
    cfg = p["config"]
    match = re.fullmatch(r"round(\d+)", path.resolve().parent.name)
    runs = []
    scores = path.parent / "scores"
    for js in sorted(scores.glob("*.json")) if scores.is_dir() else []:
        r = json.loads(js.read_text(encoding="utf-8"))
        if "eer" in r:
            runs.append({k: r.get(k) for k in ("name", "backend", "eer", "eer_roc", "mindcf_0.01", "mindcf_0.05",
                                              "num_trials", "trials")})
    sidecar = read_verify_sidecar(path.parent)
    return {
        "path": str(path), "kind": kind,
        "objective": p["extra"].get("objective"), "round": int(match.group(1)) if match else None,
        "model": cfg["model"], "features": cfg["features"],  # complete: see models.io.model_config
        "data": {k: (cfg.get("inputs") or {}).get(k) for k in ("data_dir", "train_cuts", "eval_cuts")},
        "training": {k: p["extra"].get(k) for k in ("epochs", "steps", "num_cuts", "num_classes", "seconds")
                     if k in p["extra"]},
        "trained_with": p["trained_with"], "exported_with": p.get("exported_with"),
        "exported_from": p.get("exported_from"), "runs": runs,
        "verify": None if sidecar is None else dict(sidecar.info["backends"]),
    }


def _version(v: dict[str, Any] | None) -> str:
    if not v:
        return "not recorded (written before spkssl recorded it)"
    return f"spkssl {v.get('version')}, git commit {v.get('git_commit') or 'unknown (not a git checkout)'}"


def format_info(info: dict[str, Any]) -> list[str]:
    """The lines ``spkssl info`` prints."""
    m, f = info["model"], info["features"]
    lines = [
        f"model file:   {info['path']} ({info['kind']})",
        f"objective:    {info['objective'] or 'not recorded'}" + (f", round {info['round']}" if info["round"] is not None else ""),
        f"network:      {m['name']} (embed_dim {m['embed_dim']}, pooling {m['pooling']}, kwargs {m['kwargs']})",
        f"features:     {f['num_mel_bins']} mel bins at {f['sampling_rate']} Hz, CMN {'on' if f['cmn'] else 'off'}, "
        + (f"fbank backend {f['backend']}" if info["kind"] == "final" else "fbank and CMN inside the graph"),
        "data:         " + ", ".join(f"{k} {v}" for k, v in info["data"].items() if v) if any(info["data"].values())
        else "data:         not recorded",
    ]
    if info["training"]:
        lines.append("training:     " + ", ".join(f"{k} {v}" for k, v in info["training"].items()))
    lines.append(f"trained with: {_version(info['trained_with'])}")
    if info["kind"] != "final":
        lines.append(f"exported:     from {info['exported_from']} with {_version(info['exported_with'])}")
    if info["runs"]:
        lines.append("runs (scores/ beside the model):")
        lines += [f"  {r['name']} {r['backend']}: EER {r['eer']:.2f} %, minDCF(0.01) {r['mindcf_0.01']:.4f}, "
                  f"{r['num_trials']} trials" for r in info["runs"]]
    else:
        lines.append("runs:         none beside the model (no scores/*.json)")
    if info["verify"]:
        lines.append("verify thresholds (verify.json):")
        lines += [f"  {b}: {v['threshold']:.6f} (EER threshold of {v['measured_on']['name']}, EER "
                  f"{v['measured_on']['eer']:.2f} %)" for b, v in info["verify"].items()]
    else:
        lines.append("verify:       no verify.json beside the model (spkssl score --exp E --system round<r> writes it)")
    return lines
