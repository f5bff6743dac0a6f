"""Tiny generated corpora and configs for the training tests (few short wav files, tiny TDNN)."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 16000


def make_cuts(tmp: Path, durations: list[float], num_speakers: int = 3, seed: int = 0) -> Path:
    """Write one wav per duration (speaker-specific tone + noise) and a CutSet; return its path."""
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    rng = np.random.default_rng(seed)
    wav_dir = tmp / "wav"
    wav_dir.mkdir(parents=True, exist_ok=True)
    recs, sups = [], []
    for i, dur in enumerate(durations):
        spk = f"spk{i % num_speakers}"
        t = np.arange(int(dur * SR)) / SR
        f0 = 150.0 + 90.0 * (i % num_speakers)
        x = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(2 * np.pi * 2.7 * f0 * t) + 0.05 * rng.standard_normal(t.size)
        path = wav_dir / f"utt{i:03d}.wav"
        sf.write(path, x.astype(np.float32), SR)
        rec = Recording.from_file(path, recording_id=f"utt{i:03d}")
        recs.append(rec)
        sups.append(SupervisionSegment(id=rec.id, recording_id=rec.id, start=0.0, duration=rec.duration, speaker=spk))
    cuts = CutSet.from_manifests(RecordingSet.from_recordings(recs), SupervisionSet.from_segments(sups))
    cuts = CutSet.from_cuts(c.with_id(c.recording_id) for c in cuts)
    out = tmp / "cuts.jsonl.gz"
    cuts.to_file(out)
    return out


def make_sources(tmp: Path, seed: int = 1) -> Path:
    """Write tiny aug_{noise,music,babble,rir}_recordings.jsonl.gz manifests; return their dir."""
    from lhotse import Recording, RecordingSet

    rng = np.random.default_rng(seed)
    out = tmp / "manifests"
    (out / "wav").mkdir(parents=True, exist_ok=True)
    for kind in ("noise", "music", "babble", "rir"):
        recs = []
        for j in range(2):
            if kind == "rir":
                n = int(0.2 * SR)
                x = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.03 * SR))
                x[:5] = 0.0
                x[5] = 3.0  # direct path
            else:
                x = 0.1 * rng.standard_normal(int(0.7 * SR))
            path = out / "wav" / f"{kind}{j}.wav"
            sf.write(path, x.astype(np.float32), SR)
            recs.append(Recording.from_file(path, recording_id=f"{kind}{j}"))
        RecordingSet.from_recordings(recs).to_file(out / f"aug_{kind}_recordings.jsonl.gz")
    return out


def tiny_cfg(**train: Any) -> dict[str, Any]:
    """Package defaults with a tiny TDNN, 24 mel bins, 0.5 s crops and small batches."""
    from spkssl.config import load_defaults

    cfg = copy.deepcopy(load_defaults())
    cfg["features"] = {**cfg.get("features", {}), "num_mel_bins": 24, "sampling_rate": SR}
    cfg["model"] = {"name": "tdnn", "embed_dim": 16, "pooling": "stats", "kwargs": {"channels": 16}}
    cfg["loss"]["classification"]["name"] = "aam"
    cfg["loss"]["classification"]["margin_warmup_epochs"] = 1
    cfg["train"].update({
        "epochs": 2, "batch_size": 2, "num_segments": 2, "segment_seconds": 0.5, "lr": 0.01,
        "warmup_epochs": 0.5, "num_workers": 0, "keep_last": 2, "average_last": 2,
        "save_every_steps": 2, "log_every_steps": 1, "amp": False, "seed": 7, "max_steps": 0,
    })
    cfg["train"].update(train)
    return cfg


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture
def cuts_path(tmp_path: Path) -> Path:
    """Six cuts of 0.3–1.2 s over three speakers (one shorter than a 0.5 s crop)."""
    return make_cuts(tmp_path / "data", [0.3, 0.8, 1.2, 0.6, 1.0, 0.7])


@pytest.fixture
def aug_dir(tmp_path: Path) -> Path:
    return make_sources(tmp_path / "aug")
