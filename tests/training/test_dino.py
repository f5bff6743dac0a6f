"""DINO round 0 in the trainer: multi-crop batches, exact resume (teacher, centre, schedules), TensorBoard, collapse."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn as nn
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from spkssl.config import with_defaults
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.models import build_model
from spkssl.training.checkpoint import list_checkpoints, load_checkpoint
from spkssl.training.data import FeatBatch, Views
from spkssl.training.objectives import DINOObjective, build_objective
from spkssl.training.trainer import TrainOptions, train
from tests.training.conftest import tiny_cfg


def dino_cfg(**train_opts: Any) -> dict[str, Any]:
    """The tiny training config with a small DINO head, two 0.6 s global and two 0.3 s local crops."""
    cfg = tiny_cfg(**train_opts)
    cfg["loss"]["dino"].update({"out_dim": 32, "hidden_dim": 16, "bottleneck_dim": 8, "global_seconds": 0.6,
                                "local_crops": 2, "local_seconds": 0.3, "teacher_temp_warmup_fraction": 0.5})
    return cfg


def _tags(run: Path) -> set[str]:
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    return set(acc.Tags()["scalars"])


def test_objective_makes_one_batch_per_crop_length() -> None:
    obj = build_objective("dino", dino_cfg(), None, None, 16)
    assert isinstance(obj, DINOObjective) and obj.segments_per_item == 4
    items = [obj.make_item(lambda n, r: r.random(n).astype(np.float32), np.random.default_rng(i)) for i in range(3)]
    raw = obj.collate(items)
    assert [b.wave.shape for b in raw.batches] == [(6, 9600), (6, 4800)]
    feats = obj.featurize(raw, BatchFrontend(with_defaults("features", {"num_mel_bins": 24})))
    assert [tuple(b.feats.shape) for b in feats.batches] == [(3, 2, 60, 24), (3, 2, 30, 24)]
    with pytest.raises(ValueError, match="global_crops >= 1"):
        cfg = dino_cfg()
        cfg["loss"]["dino"].update({"global_crops": 1, "local_crops": 0})
        build_objective("dino", cfg, None, None, 16)


def test_interrupted_dino_round_resumes_exactly(cuts_path: Path, aug_dir: Path, tmp_path: Path) -> None:
    cfg = dino_cfg()  # 6 cuts, batch 2: 3 steps per epoch, 2 epochs
    ref = train(cfg, TrainOptions("dino", cuts_path, tmp_path / "ref", aug_dir=aug_dir))
    assert ref["status"] == "done" and ref["objective"] == "dino" and len(ref["dino_epochs"]) == 2
    assert ref["collapsed_epochs"] == [] and all(e["embedding_std"] > 0.05 for e in ref["dino_epochs"])
    run = tmp_path / "run"
    assert train(cfg, TrainOptions("dino", cuts_path, run, aug_dir=aug_dir, max_steps=4))["status"] == "stopped"
    mid = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert mid["sampler"] == {"epoch": 1, "batch": 1, "items": 2} and mid["objective_state"]["steps"] == 1
    assert any(k.startswith("teacher.") for k in mid["loss"]) and "center" in mid["loss"]
    res = train(cfg, TrainOptions("dino", cuts_path, run, aug_dir=aug_dir))
    assert res["resumed_from"].endswith("ckpt-2-4.pt") and res["steps"] == 6
    a = torch.load(tmp_path / "ref" / "final.pt", weights_only=False)["state_dict"]
    b = torch.load(run / "final.pt", weights_only=False)["state_dict"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # student backbone only
    assert a.keys() == build_model(cfg["model"], 24).state_dict().keys()  # the network alone: no teacher, no DINO head
    last_a = load_checkpoint(tmp_path / "ref" / "checkpoints" / "ckpt-2-6.pt")
    last_b = load_checkpoint(run / "checkpoints" / "ckpt-2-6.pt")
    assert all(torch.equal(last_a["loss"][k], last_b["loss"][k]) for k in last_a["loss"])  # teacher, heads, centre
    assert res["epoch_losses"] == ref["epoch_losses"] and res["dino_epochs"] == ref["dino_epochs"]
    summary = json.loads((run / "train_summary.json").read_text())
    assert summary["dino_epochs"] == ref["dino_epochs"]
    tags = _tags(tmp_path / "ref")
    assert {"dino/teacher_entropy", "dino/center_norm", "dino/embedding_std", "dino/collapsed",
            "epoch/dino_teacher_entropy", "epoch/dino_collapsed", "train/teacher_agreement"} <= tags


@pytest.mark.parametrize("extract_from", ["teacher", "student"])
def test_final_pt_holds_the_chosen_network_and_final_other_the_other(cuts_path: Path, tmp_path: Path,
                                                                      extract_from: str) -> None:
    from spkssl.training.checkpoint import average_model_states

    cfg = dino_cfg()
    cfg["loss"]["dino"]["extract_from"] = extract_from
    out = tmp_path / "r0"
    res = train(cfg, TrainOptions("dino", cuts_path, out))
    other = {"teacher": "student", "student": "teacher"}[extract_from]
    ckpts = [out / "checkpoints" / n for n in res["averaged_checkpoints"]]
    teacher = average_model_states(ckpts, "loss", "teacher.")
    student = average_model_states(ckpts, "model")
    want = {"teacher": teacher, "student": student}
    for name, path in ((extract_from, out / "final.pt"), (other, out / f"final_{other}.pt")):
        payload = torch.load(path, weights_only=False)
        assert payload["extra"]["network"] == name
        assert payload["state_dict"].keys() == want[name].keys()
        assert all(torch.equal(payload["state_dict"][k], want[name][k]) for k in want[name])
    assert not all(torch.equal(teacher[k], student[k]) for k in teacher)  # the EMA lags the student
    assert res["embedding_network"] == extract_from and res["teacher_base_momentum"] < 0.996  # 6 steps: forget rule


def test_checkpoint_of_a_contrastive_round_is_refused(cuts_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "r0"
    train(tiny_cfg(), TrainOptions("contrastive", cuts_path, out, max_steps=2))
    with pytest.raises(ValueError, match="checkpoint has objective='contrastive', this run has 'dino'"):
        train(dino_cfg(), TrainOptions("dino", cuts_path, out))


class _Constant(nn.Module):
    """A collapsed network: the same embedding for every input."""

    def __init__(self) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.ones(16))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.value.expand(feats.shape[0], -1)


def test_collapse_is_detected_logged_and_summarised(caplog: pytest.LogCaptureFixture) -> None:
    obj = build_objective("dino", dino_cfg(), None, None, 16)
    net = _Constant()
    obj.bind(net)
    batch = Views([FeatBatch(torch.randn(3, 2, 60, 24), None), FeatBatch(torch.randn(3, 2, 30, 24), None)])
    obj.set_progress(0.0)
    value, _ = obj.compute(net, obj.loss, batch)
    assert torch.isfinite(value)
    obj.after_step(net)
    assert obj.scalars()["dino/collapsed"] == 1.0 and obj.scalars()["dino/embedding_std"] < 1e-3
    with caplog.at_level("WARNING"):
        stats = obj.end_epoch()
    assert stats["dino_collapsed"] == 1.0
    assert any("DINO training collapsed in epoch 1" in r.getMessage() and "constant embeddings" in r.getMessage()
               for r in caplog.records)
    assert obj.summary()["collapsed_epochs"] == [1]
    twin = build_objective("dino", dino_cfg(), None, None, 16)
    twin.load_state_dict(obj.state_dict())
    assert twin.summary() == obj.summary()
    with pytest.raises(ValueError, match="dino objective state must hold"):
        twin.load_state_dict({"gate": {}})
