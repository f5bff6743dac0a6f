"""Trainer: full run, resume after an interruption (bit-identical), NaN stop, classification rounds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from spkssl.training.checkpoint import list_checkpoints, load_checkpoint
from spkssl.training.trainer import TrainingDiverged, TrainOptions, Trainer, train
from tests.training.conftest import tiny_cfg


def _final_state(out: Path) -> dict[str, torch.Tensor]:
    return torch.load(out / "final.pt", map_location="cpu", weights_only=False)["state_dict"]


def test_interrupted_run_resumes_exactly(cuts_path: Path, aug_dir: Path, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_cfg()  # 6 cuts, batch 2 → 3 steps/epoch, 2 epochs
    ref = tmp_path / "ref"
    res = train(cfg, TrainOptions("contrastive", cuts_path, ref, aug_dir=aug_dir))
    assert res["status"] == "done" and res["steps"] == 6 and res["epochs"] == 2
    summary = json.loads((ref / "train_summary.json").read_text())
    assert summary["steps"] == 6 and len(summary["epoch_losses"]) == 2
    assert summary["averaged_checkpoints"] == ["ckpt-1-3.pt", "ckpt-2-6.pt"]
    assert any(p.name.startswith("events") for p in (ref / "tensorboard").iterdir())

    run = tmp_path / "run"
    stopped = train(cfg, TrainOptions("contrastive", cuts_path, run, aug_dir=aug_dir, max_steps=4))
    assert stopped == {"status": "stopped", "epoch": 1, "step": 4}
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    assert ckpt["step"] == 4 and ckpt["sampler"] == {"epoch": 1, "batch": 1, "items": 2}
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["ckpt-1-3.pt", "ckpt-2-4.pt"]
    assert not (run / "final.pt").exists()

    caplog.clear()
    with caplog.at_level("INFO"):
        res = train(cfg, TrainOptions("contrastive", cuts_path, run, aug_dir=aug_dir))
    assert any("resuming from" in r.message and "ckpt-2-4.pt" in r.getMessage() for r in caplog.records)
    assert res["steps"] == 6  # step count continued (4 → 6), not restarted
    assert res["resumed_from"].endswith("ckpt-2-4.pt")
    # Same data order, augmentation and RNG from the resume position: identical weights.
    a, b = _final_state(ref), _final_state(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((run / "train_summary.json").read_text())["epoch_losses"] == summary["epoch_losses"]

    caplog.clear()
    with caplog.at_level("INFO"):
        assert train(cfg, TrainOptions("contrastive", cuts_path, run))["status"] == "already trained"
    assert any("already trained" in r.message for r in caplog.records)


def test_checkpoint_roundtrip_restores_optimizer_and_scheduler(cuts_path: Path, tmp_path: Path) -> None:
    cfg = tiny_cfg(epochs=3, optimizer="sgd", save_every_steps=0)
    opts = TrainOptions("classification", cuts_path, tmp_path / "r1", max_steps=3)
    t = Trainer(cfg, opts)
    t.resume_or_init()
    assert t.fit() == "stopped"
    path = list_checkpoints(tmp_path / "r1" / "checkpoints")[-1]
    t2 = Trainer(cfg, TrainOptions("classification", cuts_path, tmp_path / "r1"))
    t2.resume_or_init()
    assert (t2.step, t2.epoch, t2.batch_in_epoch) == (3, 1, 0)
    assert t2.scheduler.state_dict()["last_epoch"] == t.scheduler.state_dict()["last_epoch"] == 3
    assert t2.optimizer.param_groups[0]["lr"] == pytest.approx(t.optimizer.param_groups[0]["lr"])
    mom1, mom2 = t.optimizer.state_dict()["state"], t2.optimizer.state_dict()["state"]
    assert mom1.keys() == mom2.keys() and all(
        torch.equal(mom1[k]["momentum_buffer"], mom2[k]["momentum_buffer"]) for k in mom1)
    assert torch.equal(t.loss.weight, t2.loss.weight)  # AAM class weights restored
    assert load_checkpoint(path)["num_classes"] == 3
    assert (tmp_path / "r1" / "spk2id.json").is_file()


def test_nan_loss_stops_and_keeps_last_good_checkpoint(cuts_path: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tiny_cfg(save_every_steps=1)
    out = tmp_path / "nan"
    t = Trainer(cfg, TrainOptions("contrastive", cuts_path, out))
    real = t.loss.forward
    calls = {"n": 0}

    def poisoned(emb: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = real(emb)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(t.loss, "forward", poisoned)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss \(nan\) at step 3, epoch 1.*ckpt-1-2\.pt"):
        t.fit()
    names = [p.name for p in list_checkpoints(out / "checkpoints")]
    assert names[-1] == "ckpt-1-2.pt"
    good = load_checkpoint(out / "checkpoints" / names[-1])
    assert all(torch.isfinite(v).all() for v in good["model"].values() if v.is_floating_point())
    assert not (out / "final.pt").exists()


def test_classification_init_from_previous_round(cuts_path: Path, tmp_path: Path) -> None:
    cfg = tiny_cfg(epochs=1, average_last=1)
    r0 = tmp_path / "round0"
    train(cfg, TrainOptions("contrastive", cuts_path, r0))
    r1 = tmp_path / "round1"
    t = Trainer(cfg, TrainOptions("classification", cuts_path, r1, init_from=r0 / "final.pt"))
    t.resume_or_init()
    prev = _final_state(r0)
    assert all(torch.equal(prev[k], v) for k, v in t.model.state_dict().items())
    res = train(cfg, TrainOptions("classification", cuts_path, r1, init_from=r0 / "final.pt"))
    assert res["num_classes"] == 3 and (r1 / "final.pt").is_file()
    bad = tiny_cfg(epochs=1)
    bad["model"]["kwargs"]["channels"] = 8
    with pytest.raises(ValueError, match="do not fit"):
        Trainer(bad, TrainOptions("classification", cuts_path, tmp_path / "x", init_from=r0 / "final.pt")).resume_or_init()


def test_a_round_initialised_from_round0_trains_only_its_classifier_while_frozen(cuts_path: Path,
                                                                               tmp_path: Path) -> None:
    cfg = tiny_cfg(epochs=2, average_last=1, warmup_epochs=0)
    r0 = tmp_path / "round0"
    train(cfg, TrainOptions("contrastive", cuts_path, r0))
    start = _final_state(r0)
    r2 = tmp_path / "round2"  # a later round that restarts from round 0 (rounds.init_from=round0)
    stopped = train(cfg, TrainOptions("classification", cuts_path, r2, init_from=r0 / "final.pt",
                                      freeze_network_epochs=1, max_steps=3))
    assert stopped["status"] == "stopped"
    ckpt = load_checkpoint(list_checkpoints(r2 / "checkpoints")[-1])  # after epoch 1: the network is untouched
    assert all(torch.equal(start[k], v) for k, v in ckpt["model"].items())
    fresh = Trainer(cfg, TrainOptions("classification", cuts_path, tmp_path / "x"))
    assert not torch.equal(ckpt["loss"]["weight"], fresh.loss.state_dict()["weight"])  # the classifier trained
    train(cfg, TrainOptions("classification", cuts_path, r2, init_from=r0 / "final.pt", freeze_network_epochs=1))
    end = _final_state(r2)
    assert not all(torch.equal(start[k], end[k]) for k in start if end[k].is_floating_point())  # then it trains


def test_an_empty_or_one_speaker_cut_set_is_named(cuts_path: Path, tmp_path: Path) -> None:
    from lhotse import CutSet

    empty = tmp_path / "empty.jsonl.gz"
    CutSet.from_cuts([]).to_file(empty)
    with pytest.raises(ValueError, match=rf"{empty}: the cut set is empty; nothing to train on"):
        train(tiny_cfg(), TrainOptions("classification", empty, tmp_path / "e"))
    one = tmp_path / "one.jsonl.gz"
    CutSet.from_file(cuts_path).filter(lambda c: c.supervisions[0].speaker == "spk0").to_file(one)
    with pytest.raises(ValueError, match=rf"{one}: a classification loss needs at least 2 classes, got 1"):
        train(tiny_cfg(), TrainOptions("classification", one, tmp_path / "o"))


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(cuts_path: Path, aug_dir: Path, tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    cfg = tiny_cfg(save_every_steps=1)
    ref = tmp_path / "ref"
    train(cfg, TrainOptions("contrastive", cuts_path, ref, aug_dir=aug_dir))
    run = tmp_path / "run"
    train(cfg, TrainOptions("contrastive", cuts_path, run, aug_dir=aug_dir, max_steps=5))
    newest = list_checkpoints(run / "checkpoints")[-1]
    assert newest.name == "ckpt-2-5.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # cut short, as by a full disk
    with caplog.at_level("INFO"):
        res = train(cfg, TrainOptions("contrastive", cuts_path, run, aug_dir=aug_dir))
    assert f"cannot read checkpoint {newest}" in caplog.text and f"kept it as {newest}.corrupt" in caplog.text
    assert res["resumed_from"].endswith("ckpt-2-4.pt")
    assert (run / "checkpoints" / "ckpt-2-5.pt.corrupt").stat().st_size == 1000  # never deleted
    a, b = _final_state(ref), _final_state(run)
    assert all(torch.equal(a[k], b[k]) for k in a)  # resumed exactly from the previous checkpoint


def test_a_second_trainer_of_the_same_round_refuses_to_start(cuts_path: Path, tmp_path: Path) -> None:
    from spkssl.utils.lock import LockHeld
    from tests.utils.test_lock import start_holder

    out = tmp_path / "round0"
    holder = start_holder(out / ".train.lock")  # e.g. a killed recipe's trainer that is still alive
    try:
        with pytest.raises(LockHeld, match=rf"round folder {out} is in use: .* held by pid {holder.pid} on "):
            train(tiny_cfg(), TrainOptions("contrastive", cuts_path, out, max_steps=1))
        assert not (out / "checkpoints").exists()
    finally:
        holder.kill()
        holder.wait()
    assert train(tiny_cfg(), TrainOptions("contrastive", cuts_path, out, max_steps=1))["status"] == "stopped"
