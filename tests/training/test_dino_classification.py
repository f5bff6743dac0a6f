"""Rounds with DINO beside the classifier: labels, both loss parts, exact resume, the start from round 0."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from spkssl.training.checkpoint import average_model_states, list_checkpoints
from spkssl.training.objectives import DINOClassificationObjective, build_objective
from spkssl.training.trainer import TrainOptions, Trainer, train
from tests.training.test_dino import _tags, dino_cfg


def test_trains_on_labels_with_both_parts_logged(cuts_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "r1"
    res = train(dino_cfg(), TrainOptions("dino_classification", cuts_path, out))
    assert res["status"] == "done" and res["objective"] == "dino_classification" and res["num_classes"] == 3
    assert json.loads((out / "spk2id.json").read_text()) == {"spk0": 0, "spk1": 1, "spk2": 2}
    epochs = res["dino_epochs"]
    assert len(epochs) == 2 and all(e["classification_loss"] > 0 and e["dino_loss"] > 0 for e in epochs)
    assert {"joint/classification_loss", "joint/dino_loss", "dino/teacher_entropy", "train/accuracy",
            "epoch/classification_loss", "epoch/dino_loss"} <= _tags(out)
    ckpts = [out / "checkpoints" / n for n in res["averaged_checkpoints"]]
    teacher = average_model_states(ckpts, "loss", "dino.teacher.")
    payload = torch.load(out / "final_student.pt", weights_only=False)  # dino_cfg keeps the teacher in final.pt
    assert payload["extra"]["network"] == "student"
    final = torch.load(out / "final.pt", weights_only=False)["state_dict"]
    assert final.keys() == teacher.keys() and all(torch.equal(final[k], teacher[k]) for k in final)


def test_interrupted_round_resumes_exactly(cuts_path: Path, aug_dir: Path, tmp_path: Path) -> None:
    cfg = dino_cfg()
    ref = train(cfg, TrainOptions("dino_classification", cuts_path, tmp_path / "ref", aug_dir=aug_dir))
    run = tmp_path / "run"
    train(cfg, TrainOptions("dino_classification", cuts_path, run, aug_dir=aug_dir, max_steps=4))
    assert "part_sums" in torch.load(list_checkpoints(run / "checkpoints")[-1], weights_only=False)["objective_state"]
    res = train(cfg, TrainOptions("dino_classification", cuts_path, run, aug_dir=aug_dir))
    assert res["resumed_from"].endswith("ckpt-2-4.pt")
    assert res["epoch_losses"] == ref["epoch_losses"] and res["dino_epochs"] == ref["dino_epochs"]
    a = torch.load(tmp_path / "ref" / "final.pt", weights_only=False)["state_dict"]
    b = torch.load(run / "final.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_round_from_round0_starts_its_teacher_there(cuts_path: Path, tmp_path: Path) -> None:
    cfg = dino_cfg()
    train(cfg, TrainOptions("dino", cuts_path, tmp_path / "round0"))
    start = torch.load(tmp_path / "round0" / "final.pt", weights_only=False)["state_dict"]
    trainer = Trainer(cfg, TrainOptions("dino_classification", cuts_path, tmp_path / "round1",
                                        init_from=tmp_path / "round0" / "final.pt"))
    trainer.resume_or_init()
    teacher = trainer.objective.dino.teacher.state_dict()
    assert all(torch.equal(teacher[k], start[k]) for k in start)
    assert all(torch.equal(trainer.model.state_dict()[k], start[k]) for k in start)


def test_a_loss_gate_and_missing_labels_are_refused(cuts_path: Path) -> None:
    cfg = dino_cfg()
    cfg["loss"]["classification"]["gate"] = "lgl"
    with pytest.raises(ValueError, match="gate=lgl: the dino_classification objective trains every sample"):
        build_objective("dino_classification", cfg, ["a", "b"], None, 16)
    with pytest.raises(ValueError, match="dino_classification needs the speaker of every training cut"):
        build_objective("dino_classification", dino_cfg(), None, None, 16)
    obj = build_objective("dino_classification", dino_cfg(), ["a", "b", "a"], None, 16)
    assert isinstance(obj, DINOClassificationObjective) and obj.num_classes == 2 and obj.segments_per_item == 4
    with pytest.raises(ValueError, match="must hold part_sums"):
        obj.load_state_dict({"sums": [0.0] * 3, "steps": 0, "history": []})
