"""The DDP path (gloo, world size 1, in-process) and the ``spkssl train`` command line."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from click.testing import CliRunner

from spkssl.cli import cli
from spkssl.config import save_config
from spkssl.training.ddp import DistContext, init_distributed, launched_by_torchrun
from tests.training.conftest import tiny_cfg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _args(cfg_path: Path, cuts: Path, out: Path, *extra: str, objective: str = "contrastive") -> list[str]:
    return ["train", "--config", str(cfg_path), "--cuts", str(cuts), "--out-dir", str(out),
            "--objective", objective, "--device", "cpu", *extra]


@pytest.mark.parametrize("objective, section, overrides", [
    ("contrastive", "contrastive", {}),
    ("dino", "dino", {"out_dim": 32, "hidden_dim": 16, "bottleneck_dim": 8, "global_seconds": 0.5, "local_crops": 1,
              "local_seconds": 0.3}),  # centre and epoch statistics through the process group
    ("classification", "classification", {"gate": "dlg_lc", "gate_warmup_epochs": 0}),  # losses gathered over the ranks
], ids=["contrastive", "dino", "classification-dlg_lc"])
def test_ddp_world_size_one_on_gloo(cuts_path: Path, aug_dir: Path, tmp_path: Path, objective: str,
                                    section: str, overrides: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}.items():
        monkeypatch.setenv(key, value)
    assert launched_by_torchrun()
    cfg_path = tmp_path / "config.yaml"
    cfg = tiny_cfg(epochs=1, average_last=1)
    cfg["loss"][section].update(overrides)
    save_config(cfg, cfg_path)
    out = tmp_path / "round0"
    result = CliRunner().invoke(cli, _args(cfg_path, cuts_path, out, "--aug-dir", str(aug_dir), objective=objective))
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "trained 1 epochs (3 steps)" in result.output
    assert (out / "final.pt").is_file() and (out / "train_summary.json").is_file()
    assert not dist.is_initialized()  # process group left again
    payload = torch.load(out / "final.pt", weights_only=False)
    assert payload["extra"]["world_size"] == 1
    assert not any(k.startswith("module.") for k in payload["state_dict"])  # bare network keys


def test_cli_stop_resume_skip_and_errors(cuts_path: Path, tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.yaml"
    save_config(tiny_cfg(), cfg_path)
    out = tmp_path / "round0"
    runner = CliRunner()
    r = runner.invoke(cli, _args(cfg_path, cuts_path, out, "--max-steps", "2"))
    assert r.exit_code == 0 and "stopped at step 2" in r.output, r.output
    r = runner.invoke(cli, _args(cfg_path, cuts_path, out))
    assert r.exit_code == 0 and "trained 2 epochs (6 steps)" in r.output, r.output
    r = runner.invoke(cli, _args(cfg_path, cuts_path, out, "--set", "train.epochs=1", "--force", "true"))
    assert r.exit_code == 0 and "trained 1 epochs (3 steps)" in r.output, r.output
    r = runner.invoke(cli, _args(cfg_path, cuts_path, tmp_path / "bad", "--set", "train.epocs=1"))
    assert r.exit_code != 0 and "did you mean 'train.epochs'" in r.output
    r = runner.invoke(cli, _args(cfg_path, cuts_path, tmp_path / "bad", "--set", "train.batch_size=50"))
    assert r.exit_code != 0 and "cannot fill one batch" in r.output


def test_single_process_context() -> None:
    ctx = init_distributed(torch.device("cpu")) if not launched_by_torchrun() else DistContext()
    assert ctx.is_main and ctx.world_size == 1
    assert ctx.all_finite(1.0, torch.device("cpu")) and not ctx.all_finite(float("inf"), torch.device("cpu"))
