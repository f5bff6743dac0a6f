"""Objectives: the registry, what each brings to the trainer, refusal of another objective's checkpoint,
and a new objective plugged into the unchanged trainer."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from spkssl.training import objectives
from spkssl.training.checkpoint import list_checkpoints
from spkssl.training.audio import TrainingAudio
from spkssl.training.data import SegmentMaker, build_label_map
from spkssl.training.objectives import (
    OBJECTIVES, ClassificationObjective, ContrastiveObjective, Objective, build_objective,
)
from spkssl.training.trainer import TrainOptions, Trainer, train
from tests.training.conftest import tiny_cfg


def test_registry_and_units(cuts_path: Path) -> None:
    audio = TrainingAudio.from_file(cuts_path, 16000, need_speakers=True)
    cfg = tiny_cfg(num_segments=3)
    con = build_objective("contrastive", cfg, None, None, 16)
    cls = build_objective("classification", cfg, audio.speakers, None, 16)
    assert isinstance(con, ContrastiveObjective) and isinstance(cls, ClassificationObjective)
    assert (con.segments_per_item, cls.segments_per_item) == (3, 1)
    assert (con.num_classes, cls.num_classes) == (None, 3)
    assert con.accuracy_tag == "train/positive_accuracy" and cls.accuracy_tag == "train/accuracy"
    with pytest.raises(ValueError, match="unknown training objective 'triplet'"):
        build_objective("triplet", cfg, None, None, 16)


def test_checkpoint_of_another_objective_is_refused(cuts_path: Path, tmp_path: Path) -> None:
    cfg = tiny_cfg()
    out = tmp_path / "r"
    assert train(cfg, TrainOptions("contrastive", cuts_path, out, max_steps=2))["status"] == "stopped"
    ckpt = list_checkpoints(out / "checkpoints")[-1]
    with pytest.raises(ValueError, match=rf"{ckpt.name}: checkpoint has objective='contrastive', "
                                         r"this run has 'classification'"):
        Trainer(cfg, TrainOptions("classification", cuts_path, out)).resume_or_init()
    state = torch.load(ckpt, weights_only=False)
    del state["objective"]
    torch.save(state, ckpt)
    with pytest.raises(ValueError, match="no 'objective'"):
        Trainer(cfg, TrainOptions("contrastive", cuts_path, out)).resume_or_init()


class _CentroidObjective(Objective):
    """A toy objective for the test: pull each embedding towards a learned centre of its speaker."""

    name = "centroid"
    needs_labels = True

    def __init__(self, cfg, speakers, augmentor, embed_dim: int) -> None:
        self.label_map = build_label_map(speakers)
        self.make_item = SegmentMaker(cfg, augmentor, per_item=1)
        self.loss = nn.Embedding(len(self.label_map), embed_dim)

    def labels(self, speakers):
        return np.array([self.label_map[s] for s in speakers])

    def compute(self, model, loss, batch):
        value = (model(batch.feats) - loss(batch.labels)).pow(2).sum(-1).mean()
        return value, torch.tensor(float("nan"))


def test_a_new_objective_is_one_new_part(cuts_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(objectives, "OBJECTIVES", OBJECTIVES.extended({"centroid": _CentroidObjective}))
    assert objectives.OBJECTIVES["centroid"] is _CentroidObjective
    result = train(tiny_cfg(epochs=1, average_last=1), TrainOptions("centroid", cuts_path, tmp_path / "c"))
    assert result["status"] == "done" and result["objective"] == "centroid" and result["steps"] == 3
    assert (tmp_path / "c" / "final.pt").is_file()


def test_gated_classification_resumes_exactly_and_reports_the_gate(cuts_path: Path, tmp_path: Path) -> None:
    cfg = tiny_cfg(epochs=3)  # 6 cuts, batch 2: 3 steps per epoch
    cfg["loss"]["classification"].update({"name": "subcenter_aam", "subcenters": 2, "gate": "dlg_lc",
                                          "gate_warmup_epochs": 1, "margin_warmup_epochs": 0})
    ref = train(cfg, TrainOptions("classification", cuts_path, tmp_path / "ref"))
    assert ref["gate"] == "dlg_lc" and len(ref["gate_epochs"]) == 3
    assert ref["gate_epochs"][0] == {"kept_fraction": 1.0, "corrected_fraction": 0.0, **{
        k: ref["gate_epochs"][0][k] for k in ("threshold", "clean_mean", "noisy_mean", "clean_weight")}}
    assert all(0.0 <= e["kept_fraction"] <= 1.0 for e in ref["gate_epochs"])
    run = tmp_path / "run"
    assert train(cfg, TrainOptions("classification", cuts_path, run, max_steps=5))["status"] == "stopped"
    state = torch.load(list_checkpoints(run / "checkpoints")[-1], weights_only=False)["objective_state"]
    assert state["gate"]["gate"] == "dlg_lc" and state["gate"]["mixture"] is not None
    assert state["gate"]["epoch_losses"].numel() == 4  # two steps of epoch 2 seen
    res = train(cfg, TrainOptions("classification", cuts_path, run))
    a = torch.load(tmp_path / "ref" / "final.pt", weights_only=False)["state_dict"]
    b = torch.load(run / "final.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert res["gate_epochs"] == ref["gate_epochs"] and res["epoch_losses"] == ref["epoch_losses"]
    acc = EventAccumulator(str(tmp_path / "ref" / "tensorboard"))
    acc.Reload()
    assert {"gate/kept_fraction", "gate/corrected_fraction", "epoch/gate_kept_fraction",
            "epoch/gate_corrected_fraction", "epoch/gate_threshold"} <= set(acc.Tags()["scalars"])
    other = copy.deepcopy(cfg)
    other["loss"]["classification"]["gate"] = "lgl"
    with pytest.raises(ValueError, match="checkpoint has loss gate 'dlg_lc', this run has 'lgl'"):
        Trainer(other, TrainOptions("classification", cuts_path, tmp_path / "run2")).load_state_dict(
            torch.load(list_checkpoints(run / "checkpoints")[-1], weights_only=False))
