"""The resumable trainer behind ``spkssl train``: one loop for every objective.

One call of :func:`train` runs (or continues) a whole training round in
``out_dir``: it resumes from the newest full-state checkpoint if there is one,
trains to ``train.epochs`` with checkpoints every ``save_every_steps`` and at
each epoch end, logs TensorBoard scalars, then averages the last
``average_last`` epoch-end checkpoints into ``final.pt`` and writes
``train_summary.json``.  A finished round (``final.pt`` exists) is skipped
unless forced.  What is trained on and how a batch becomes a loss is the
:class:`~spkssl.training.objectives.Objective`'s business, never the loop's.

A round trains for minutes to days, so the example is not run here; a call returns the
summary that ``train_summary.json`` holds (``tests/training/test_trainer.py`` runs tiny
rounds).  Usage::

    from spkssl.config import load_config
    from spkssl.training import TrainOptions, train

    cfg = load_config("exp/x/config.yaml")
    summary = train(cfg, TrainOptions("contrastive", "cuts.jsonl.gz", "exp/x/round0", aug_dir="data/manifests"))
    summary["status"]  # "done": exp/x/round0/final.pt written ("stopped" at max_steps, resumable)
"""
from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from spkssl.augment.augment import Augmentor, load_sources
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.models import build_model
from spkssl.models.io import save_final_model
from spkssl.training.checkpoint import (
    average_model_states, load_newest_readable, newest_checkpoint, prune_checkpoints, rng_state, save_checkpoint,
    set_rng_state,
)
from spkssl.training.ddp import DistContext
from spkssl.training.module import Featurize, TrainModule, features_on_device
from spkssl.training.objectives import build_objective, objective_class
from spkssl.training.preempt import StopRequest
from spkssl.training.schedule import build_optimizer, build_scheduler, clip_gradients
from spkssl.training.sources import open_source
from spkssl.utils.device import resolve_device
from spkssl.utils.io import write_json_atomic
from spkssl.utils.lock import hold
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss (or gradient norm) became NaN/inf; the bad state was not saved."""


@dataclass
class TrainOptions:
    """Command-line level options of one training round (the rest comes from the config).

    ``objective`` names an entry of :data:`spkssl.training.objectives.OBJECTIVES`.
    """

    objective: str
    cuts: str | Path
    out_dir: str | Path
    aug_dir: str | Path | None = None
    init_from: str | Path | None = None
    shar: str | Path | None = None  # Shar shards holding the audio of ``cuts`` (read in sequence)
    device: str = "auto"
    force: bool = False
    max_steps: int | None = None  # overrides train.max_steps (0/None = no limit)
    freeze_network_epochs: float = 0.0  # only the loss module (classifier) trains during these first epochs
    dist: DistContext = field(default_factory=DistContext)


def _state(obj: Any) -> Any:
    return obj.state_dict() if obj is not None else None


class Trainer:
    """Holds the objects of one run; :meth:`fit` runs it.  Use :func:`train` for the full flow."""

    def __init__(self, cfg: Mapping[str, Any], opts: TrainOptions) -> None:
        self.cfg, self.opts, self.dist = cfg, opts, opts.dist
        self.tcfg = cfg["train"]
        self.out_dir = Path(opts.out_dir)
        self.ckpt_dir = self.out_dir / "checkpoints"
        self.device = resolve_device(opts.device, self.dist.local_rank)
        self.epochs = int(self.tcfg["epochs"])
        max_steps = opts.max_steps if opts.max_steps is not None else self.tcfg["max_steps"]
        self.max_steps = int(max_steps or 0)
        torch.manual_seed(int(self.tcfg["seed"]))

        source = open_source(cfg, opts.cuts, opts.shar, objective_class(opts.objective).needs_labels, self.dist)
        sr = int(cfg["features"]["sampling_rate"])
        augmentor = Augmentor(load_sources(opts.aug_dir) if opts.aug_dir else {}, cfg["augment"], sr)
        self.model = build_model(cfg["model"], int(cfg["features"]["num_mel_bins"]))  # before the loss: RNG order
        try:
            self.objective = build_objective(opts.objective, cfg, source.speakers, augmentor,
                                             int(self.model.embed_dim))
        except ValueError as exc:
            raise ValueError(f"{opts.cuts}: {exc}") from exc
        self.objective.bind(self.model)
        self.dataset = source.dataset(self.objective.make_item, self.objective.labels(source.speakers))
        self.loss, self.num_classes = self.objective.loss, self.objective.num_classes
        self.objective.prepare(self.out_dir, self.dist.is_main)
        self.module = TrainModule(self.model, self.objective).to(self.device)
        self.frontend = BatchFrontend(cfg["features"], dither=float(self.tcfg["dither"]))
        self.features_on_device = features_on_device(str(self.tcfg["features_on"]), self.device)
        self.sampler, self.num_cuts = source.sampler, source.num_cuts
        collate = self.objective.collate if self.features_on_device else Featurize(self.objective, self.frontend)
        self.loader = source.loader(collate, pin_memory=self.device.type == "cuda")
        self.steps_per_epoch = len(self.sampler)
        self.objective.set_total_steps(self.steps_per_epoch * self.epochs)
        self.optimizer = build_optimizer(self.module.parameters(), self.tcfg)
        self.scheduler = build_scheduler(self.optimizer, self.tcfg, self.steps_per_epoch, self.epochs)
        self.amp = bool(self.tcfg["amp"]) and self.device.type == "cuda"
        self.amp_dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}[str(self.tcfg["amp_dtype"])]
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and self.amp_dtype == torch.float16)
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.epoch_end_ckpts: list[str] = []
        self.epoch_losses: list[float] = []
        self.loss_sum, self.loss_count = 0.0, 0
        self.last_loss = float("nan")
        self.resumed_from: str | None = None
        self.net: nn.Module = self.module
        if self.dist.distributed:
            self.net = nn.parallel.DistributedDataParallel(
                self.module, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly here."""
        return {
            "model": self.model.state_dict(), "loss": self.loss.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": _state(self.scaler), "epoch": self.epoch, "step": self.step,
            "sampler": {"epoch": self.epoch, "batch": self.batch_in_epoch, **self._items_consumed()}, "rng": rng_state(),
            **self.objective.identity(), "objective_state": self.objective.state_dict(),
            "epoch_end_checkpoints": list(self.epoch_end_ckpts),
            "epoch_losses": list(self.epoch_losses), "loss_sum": self.loss_sum,
            "loss_count": self.loss_count, "last_loss": self.last_loss,
        }

    def _items_consumed(self) -> dict[str, int]:
        """``{"items": ...}``: permutation positions of the epoch trained on (all ranks), where the sampler says."""
        items_at = getattr(self.sampler, "items_at", None)
        return {} if items_at is None else {"items": items_at(self.batch_in_epoch)}

    def load_state_dict(self, state: Mapping[str, Any], where: str = "checkpoint") -> None:
        """Restore a :meth:`state_dict` (checkpoint ``where``) into this run; a mismatch is an error naming it."""
        self.objective.check_state(state, where)
        self.model.load_state_dict(state["model"])
        self.loss.load_state_dict(state["loss"])
        self.objective.load_state_dict(state["objective_state"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.sampler.load_state_dict(state["sampler"])
        self.epoch, self.step = self.sampler.epoch, int(state["step"])
        self.batch_in_epoch = self.sampler.start_batch
        self.epoch_end_ckpts = list(state["epoch_end_checkpoints"])
        self.epoch_losses = list(state["epoch_losses"])
        self.loss_sum, self.loss_count = float(state["loss_sum"]), int(state["loss_count"])
        self.last_loss = float(state["last_loss"])
        set_rng_state(state["rng"])

    def resume_or_init(self) -> None:
        """Continue from the newest checkpoint, else load ``--init-from`` network weights if given."""
        found = load_newest_readable(self.ckpt_dir, map_location=self.device, keep_aside=self.dist.is_main)
        if found is not None:
            ckpt, state = found
            self.load_state_dict(state, str(ckpt))
            self.resumed_from = str(ckpt)
            log.info("resuming from %s (epoch %d, step %d, batch %d of %d)", ckpt, self.epoch + 1,
                     self.step, self.sampler.start_batch, self.steps_per_epoch)
        elif self.opts.init_from:
            path = Path(self.opts.init_from)
            if not path.is_file():
                raise FileNotFoundError(f"--init-from model not found: {path}")
            payload = torch.load(path, map_location="cpu", weights_only=False)
            try:
                self.model.load_state_dict(payload["state_dict"], strict=True)
            except (KeyError, RuntimeError) as exc:
                raise ValueError(f"--init-from {path}: weights do not fit this model: {exc}") from exc
            self.objective.bind(self.model)
            log.info("initialised network weights from %s (classifier starts fresh)", path)

    def save(self, epoch_end: bool = False) -> Path | None:
        """Checkpoint on rank 0 as ``ckpt-<1-based epoch>-<step>.pt`` and prune old ones.

        Call with ``epoch_end=True`` after the epoch counter and sampler moved to the next epoch.
        """
        if not self.dist.is_main:
            return None
        label = self.epoch if epoch_end else self.epoch + 1
        if epoch_end:
            self.epoch_end_ckpts.append(f"ckpt-{label}-{self.step}.pt")
        path = save_checkpoint(self.ckpt_dir, {**self.state_dict(), "epoch": label})
        protect = self.epoch_end_ckpts[-max(1, int(self.tcfg["average_last"])):]
        prune_checkpoints(self.ckpt_dir, int(self.tcfg["keep_last"]), protect=protect)
        return path

    # ---------------------------------------------------------------- loop
    def _train_step(self, batch: Any) -> tuple[float, float, float]:
        """One optimizer step; returns ``(loss, accuracy, grad_norm)``; raises on a non-finite loss."""
        batch = self.objective.batch_to(batch, self.device)
        if self.features_on_device:
            batch = self.objective.featurize(batch, self.frontend)
        progress = self.epoch + self.batch_in_epoch / self.steps_per_epoch
        self.objective.set_progress(progress)
        frozen = progress < self.opts.freeze_network_epochs  # the network as it came (BatchNorm statistics too)
        self.model.train(not frozen)
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp):
            loss, acc = self.net(batch)
        value = float(loss.detach())
        if not self.dist.all_finite(value, self.device):
            raise TrainingDiverged(
                f"non-finite loss ({value}) at step {self.step + 1}, epoch {self.epoch + 1} "
                f"(batch {self.batch_in_epoch + 1}/{self.steps_per_epoch}); state not saved; last good "
                f"checkpoint: {newest_checkpoint(self.ckpt_dir) or 'none'}. Lower train.lr or check the data."
            )
        self.scaler.scale(loss).backward()
        if frozen:
            for p in self.model.parameters():  # no gradient, so AdamW leaves them alone (weight decay too)
                p.grad = None
        self.scaler.unscale_(self.optimizer)
        norm_value = clip_gradients(self.module.parameters(), float(self.tcfg["grad_clip"] or 0.0),
                                    bool(self.tcfg["grad_clip_per_parameter"]))
        if not self.scaler.is_enabled() and not math.isfinite(norm_value):
            raise TrainingDiverged(
                f"non-finite gradient norm ({norm_value}) at step {self.step + 1}, epoch {self.epoch + 1}; "
                f"state not saved; last good checkpoint: {newest_checkpoint(self.ckpt_dir) or 'none'}"
            )
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.objective.after_step(self.model)
        return value, float(acc), norm_value

    def _log_scalars(self, writer: Any, loss: float, acc: float, norm: float, seg_per_s: float) -> None:
        if writer is None:
            return
        writer.add_scalar("train/loss", loss, self.step)
        writer.add_scalar("train/lr", self.optimizer.param_groups[0]["lr"], self.step)
        writer.add_scalar("train/grad_norm", norm, self.step)
        writer.add_scalar("train/segments_per_second", seg_per_s, self.step)
        if math.isfinite(acc):
            writer.add_scalar(self.objective.accuracy_tag, acc, self.step)
        for tag, value in self.objective.scalars().items():
            writer.add_scalar(tag, value, self.step)
        if self.device.type == "cuda":
            writer.add_scalar("train/gpu_memory_gb", torch.cuda.max_memory_allocated(self.device) / 2**30, self.step)

    def fit(self) -> str:
        """Train until ``train.epochs`` (returns ``"done"``) or ``max_steps`` (returns ``"stopped"``)."""
        from torch.utils.tensorboard import SummaryWriter

        writer = None
        if self.dist.is_main:
            writer = SummaryWriter(str(self.out_dir / "tensorboard"), purge_step=self.step if self.step else None)
        log_every = max(1, int(self.tcfg["log_every_steps"]))
        save_every = int(self.tcfg["save_every_steps"] or 0)
        per_step = int(self.tcfg["batch_size"]) * self.dist.world_size * self.objective.segments_per_item
        self.module.train()
        stop_request = StopRequest().install()
        try:
            while self.epoch < self.epochs:
                self.sampler.set_epoch(self.epoch, self.batch_in_epoch)
                bar = progress(total=self.steps_per_epoch, initial=self.batch_in_epoch, enabled=self.dist.is_main,
                           desc=f"{self.objective.name} epoch {self.epoch + 1}/{self.epochs}", dynamic_ncols=True)
                tick, segs = time.time(), 0
                for batch in self.loader:
                    loss, acc, norm = self._train_step(batch)
                    self.step += 1
                    self.batch_in_epoch += 1
                    self.loss_sum, self.loss_count, self.last_loss = self.loss_sum + loss, self.loss_count + 1, loss
                    segs += per_step
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.3f}")
                    if self.step % log_every == 0:
                        rate = segs / max(1e-9, time.time() - tick)
                        self._log_scalars(writer, loss, acc, norm, rate)
                        tick, segs = time.time(), 0
                    stop = self.max_steps > 0 and self.step >= self.max_steps
                    end = self.batch_in_epoch >= self.steps_per_epoch
                    if not end and stop_request.agreed(self.device):
                        self.save()
                        log.info("stopped by SIGUSR1 at step %d (epoch %d); checkpoint saved", self.step, self.epoch + 1)
                        return "preempted"
                    if not end and (stop or (save_every > 0 and self.step % save_every == 0)):
                        self.save()
                    if stop and not end:
                        log.info("reached max_steps=%d at epoch %d; checkpoint saved", self.max_steps, self.epoch + 1)
                        return "stopped"
                    if end:
                        break
                bar.close()
                mean = self.loss_sum / max(1, self.loss_count)
                self.epoch_losses.append(mean)
                self.epoch, self.batch_in_epoch, self.loss_sum, self.loss_count = self.epoch + 1, 0, 0.0, 0
                stats = {"loss": mean, **self.objective.end_epoch()}
                for tag, value in stats.items() if writer is not None else ():
                    writer.add_scalar(f"epoch/{tag}", value, self.epoch)
                log.info("epoch %d/%d done: mean loss %.4f, step %d, lr %.3g%s", self.epoch, self.epochs, mean,
                         self.step, self.optimizer.param_groups[0]["lr"],
                         "".join(f", {k} {v:.4g}" for k, v in stats.items() if k != "loss"))
                self.save(epoch_end=True)
                if self.max_steps > 0 and self.step >= self.max_steps and self.epoch < self.epochs:
                    log.info("reached max_steps=%d at an epoch end; checkpoint saved", self.max_steps)
                    return "stopped"
            return "done"
        finally:
            stop_request.uninstall()
            if writer is not None:
                writer.close()

    def finish(self, elapsed: float) -> dict[str, Any]:
        """Average the last epoch-end checkpoints into ``final.pt``; write ``train_summary.json`` (rank 0)."""
        n = max(1, int(self.tcfg["average_last"]))
        names = self.epoch_end_ckpts[-n:]
        summary = {
            **self.objective.summary(), "epochs": self.epoch, "steps": self.step,
            "steps_per_epoch": self.steps_per_epoch, "final_loss": self.last_loss,
            "epoch_losses": self.epoch_losses, "averaged_checkpoints": names,
            "num_cuts": self.num_cuts, "seconds": round(elapsed, 2),
            "world_size": self.dist.world_size, "resumed_from": self.resumed_from,
        }
        chosen = self.objective.embedding_network()
        summary["embedding_network"] = chosen
        if self.dist.is_main:
            paths = [self.ckpt_dir / name for name in names]
            networks = self.objective.networks()
            for net in sorted(networks, key=lambda n: n == chosen):  # the chosen one last: it stays loaded
                key, prefix = networks[net]
                self.model.load_state_dict(average_model_states(paths, key, prefix))
                out = self.out_dir / ("final.pt" if net == chosen else f"final_{net}.pt")
                save_final_model(out, self.model, self.cfg, extra={**summary, "network": net})
                log.info("wrote %s: the %s network, average of %s", out, net, names)
            write_json_atomic(self.out_dir / "train_summary.json", summary)
        self.dist.barrier()
        return summary


def train(cfg: Mapping[str, Any], opts: TrainOptions) -> dict[str, Any]:
    """Run (or resume) one training round; returns the summary (``{"status": ...}`` included).

    The main process holds ``out_dir/.train.lock`` while it runs, so a second trainer of
    the same round (e.g. a rerun while a killed recipe's trainer is still alive) refuses
    to start instead of training into the same checkpoints.

    Raises:
        TrainingDiverged: on a NaN/inf loss; the newest checkpoint stays the last good one.
        spkssl.utils.lock.LockHeld: another trainer holds the round (named: pid, host, start).
    """
    out_dir = Path(opts.out_dir)
    lock = hold(out_dir / ".train.lock", f"round folder {out_dir}") if opts.dist.is_main else contextlib.nullcontext()
    with lock:
        return _train_round(cfg, opts, out_dir)


def _train_round(cfg: Mapping[str, Any], opts: TrainOptions, out_dir: Path) -> dict[str, Any]:
    """:func:`train` under the round's lock."""
    final = out_dir / "final.pt"
    if final.exists() and not opts.force:
        log.info("already trained: %s exists (use --force to retrain)", final)
        return {"status": "already trained"}
    if opts.force and opts.dist.is_main and (final.exists() or (out_dir / "checkpoints").exists()):
        log.info("--force: removing %s and %s", final, out_dir / "checkpoints")
        final.unlink(missing_ok=True)
        shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
    opts.dist.barrier()
    start = time.time()
    trainer = Trainer(cfg, opts)
    batch = int(cfg["train"]["batch_size"])
    log.info("%s training on %s: %d cuts, %d steps/epoch, %d epochs, world size %d: global batch %d cuts "
             "(train.batch_size %d per worker; train.lr as configured, not rescaled)", opts.objective, trainer.device,
             trainer.num_cuts, trainer.steps_per_epoch, trainer.epochs, opts.dist.world_size,
             batch * opts.dist.world_size, batch)
    trainer.resume_or_init()
    status = trainer.fit()
    if status != "done":
        return {"status": status, "epoch": trainer.epoch, "step": trainer.step}
    return {"status": "done", **trainer.finish(time.time() - start)}
