"""share_cpu: the trainer's and extractors' share of the cores, or an explicit count."""
from __future__ import annotations

import pytest
import torch

from spkssl.config import with_defaults
from spkssl.utils.threads import share_cpu


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_share_leaves_cores_to_workers(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert share_cpu(reserved=2) == 6
    assert torch.get_num_threads() == 6
    assert share_cpu(parallel_jobs=4) == 2
    assert share_cpu(reserved=8) == 1  # never zero


def test_explicit_threads_win_over_the_share(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert share_cpu(reserved=2) == 1
    assert share_cpu(reserved=2, threads=2) == 2
    assert torch.get_num_threads() == 2


def test_omp_num_threads_wins_over_everything(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert share_cpu(reserved=0, threads=4) == 1


def test_negative_threads_is_an_error():
    with pytest.raises(ValueError, match="threads must be >= 0"):
        share_cpu(threads=-1)


def _spin() -> None:
    while True:
        pass


@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_idle_cores_leaves_out_a_core_another_process_keeps_busy():
    import multiprocessing as mp
    import os
    import time

    from spkssl.utils.threads import idle_cores

    cores = len(os.sched_getaffinity(0))
    spinner = mp.Process(target=_spin, daemon=True)
    spinner.start()
    try:
        time.sleep(0.3)
        assert 1 <= idle_cores(window=0.3) <= cores - 1
    finally:
        spinner.terminate()
        spinner.join()


def test_embed_takes_threads(tmp_path):
    import numpy as np
    import soundfile as sf
    from click.testing import CliRunner

    from spkssl.cli import cli
    from spkssl.models import build_model
    from spkssl.models.io import save_final_model

    cfg = {"model": {"name": "tdnn", "embed_dim": 8, "kwargs": {"channels": 16}}, "features": {"num_mel_bins": 80}}
    save_final_model(tmp_path / "final.pt", build_model(with_defaults("model", cfg["model"]), 80), cfg)
    sf.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(16000), 16000)
    r = CliRunner().invoke(cli, ["embed", str(tmp_path / "final.pt"), str(tmp_path / "a.wav"), "--out-dir",
                                 str(tmp_path / "e"), "--threads", "1"])
    assert r.exit_code == 0 and torch.get_num_threads() == 1, r.output
