"""Shared pytest fixtures: the real-speech corpus beside the project and small helpers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
#: the corpus beside the project; a git worktree elsewhere falls back to the machine's shared copy
SHARED_CORPUS = next((p for p in (REPO.parent / "shared" / "data" / "speechocean762",
                                  Path("/work/shared/data/speechocean762")) if (p / "train" / "wav.scp").is_file()),
                     REPO.parent / "shared" / "data" / "speechocean762")

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def speechocean_dir() -> Path:
    """The read-only speechocean762 corpus (Kaldi data dirs); skipped where absent."""
    if not (SHARED_CORPUS / "train" / "wav.scp").is_file():
        pytest.skip(f"speechocean762 not found at {SHARED_CORPUS}")
    return SHARED_CORPUS


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def edit_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``edit_defaults("features", num_mel_bins=40)``: a copy of spkssl/configs with one section changed.

    The package reads its defaults from the copy for the rest of the test, as if the
    user had edited ``spkssl/configs/<section>.yaml``.
    """
    import shutil

    import yaml

    import spkssl.config

    folder = tmp_path / "configs"
    shutil.copytree(spkssl.config.CONFIG_DIR, folder)
    monkeypatch.setattr(spkssl.config, "CONFIG_DIR", folder)

    def edit(section: str, **values: object) -> None:
        path = folder / f"{section}.yaml"
        data = yaml.safe_load(path.read_text())
        data.update(values)
        path.write_text(yaml.safe_dump(data))

    return edit
