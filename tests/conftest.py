"""Shared pytest fixtures: the real-speech corpus beside the project and small helpers."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# The corpus lies beside the project's checkout (../shared/data); a git worktree elsewhere
# (e.g. under /tmp) finds it at the project's usual place instead.
CORPUS_PLACES = (REPO.parent / "shared" / "data" / "speechocean762", Path("/work/shared/data/speechocean762"))
SHARED_CORPUS = next((p for p in CORPUS_PLACES if (p / "train" / "wav.scp").is_file()), CORPUS_PLACES[0])

torch.set_num_threads(1)

#: the longest tests (minutes of subprocesses each), started first so that the workers finish together;
#: pytest.ini keeps this order for pytest-xdist (--no-loadscope-reorder)
LONGEST_FIRST = (
    "tests/docs/test_doc_commands.py", "tests/recipes/test_mini_recipe.py",  # one worker: the shared mini run
    "tests/recipes/test_librispeech_recipe.py",  # the other worker...
    "tests/test_layers.py",  # ... while the first starts with a short one too (xdist hands out two units each)
    "tests/recipes/test_voxceleb_recipe.py",
    "tests/plumbing/test_launch_slurm_real.py", "tests/training/test_multinode.py", "tests/export/test_export.py",
    "tests/docs/test_build.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the :data:`LONGEST_FIRST` modules before the rest (the order is otherwise the collection's)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(LONGEST_FIRST)))


@pytest.fixture(scope="session")
def speechocean_dir() -> Path:
    """The read-only speechocean762 corpus (Kaldi data dirs); skipped where absent."""
    if not (SHARED_CORPUS / "train" / "wav.scp").is_file():
        pytest.skip(f"speechocean762 not found at {' or '.join(map(str, CORPUS_PLACES))}")
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def mini_recipe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """egs/mini/run.sh run once per test run (``tests/recipes/mini.py``): its folder (``synth/``,
    ``data/``, ``exp/mini``) and its console output. Tests that change the experiment work on a copy or
    come after those that only read it (``tests/recipes/test_mini_recipe.py`` reruns and forces it)."""
    from tests.recipes.mini import run_mini

    root = tmp_path_factory.mktemp("mini")
    done = run_mini(root)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    return root, log


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def edit_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``edit_defaults("features", num_mel_bins=40)``: a copy of spkssl/configs with one section changed.

    The package reads its defaults from the copy for the rest of the test, as if the
    user had edited ``spkssl/configs/<section>.yaml``.
    """
    import re
    import shutil

    import yaml

    import spkssl.config

    folder = tmp_path / "configs"
    shutil.copytree(spkssl.config.CONFIG_DIR, folder)
    monkeypatch.setattr(spkssl.config, "CONFIG_DIR", folder)

    def edit(section: str, **values: object) -> None:
        """Replace top-level defaults on their lines, keeping each key's `spec` and doc."""
        path = folder / f"{section}.yaml"
        text = path.read_text()
        for key, value in values.items():
            dumped = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
            text, n = re.subn(rf"^{key}:[^#\n]*", f"{key}: {dumped}  ", text, count=1, flags=re.M)
            assert n == 1, f"{path}: no top-level key {key}"
        path.write_text(text)

    return edit
