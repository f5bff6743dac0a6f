"""share_cpu: the trainer's and extractors' share of the cores, or an explicit count."""
from __future__ import annotations

import pytest
import torch

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
