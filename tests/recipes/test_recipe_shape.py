"""Every recipe shows all of its stages and calls the method stages (4-7) in exactly the same way.

The corpus-specific stages 0-3 are written in each ``egs/<corpus>/run.sh``; from the
marker line on, the method stages must be the same text everywhere, so a fix to one
recipe's method can never drift from the others.  Each stage calls ``spkssl``
commands directly (no recipe-level helper scripts between a stage and the package).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from spkssl.cli import _COMMAND_MODULES

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted(REPO.glob("egs/*/run.sh"))
MARKER = "# ==== method stages 4-7"


def _method_block(run_sh: Path) -> str:
    text = run_sh.read_text()
    assert text.count(MARKER) == 1, f"{run_sh}: no single '{MARKER}' line"
    return text[text.index(MARKER):]


def test_there_are_recipes() -> None:
    assert {p.parent.name for p in RECIPES} >= {"librispeech", "mini", "speechocean762", "voxceleb"}


def test_all_recipes_call_the_method_stages_identically() -> None:
    blocks = {p.parent.name: _method_block(p) for p in RECIPES}
    reference = blocks["voxceleb"]
    differing = [name for name, block in blocks.items() if block != reference]
    assert differing == [], f"method stages differ from egs/voxceleb/run.sh in {differing}"
    for n in (4, 5, 6, 7):
        assert f'log "Stage {n}:' in reference


@pytest.mark.parametrize("run_sh", RECIPES, ids=lambda p: p.parent.name)
def test_each_recipe_shows_every_stage_and_calls_spkssl_directly(run_sh: Path) -> None:
    text = run_sh.read_text()
    for n in range(8):
        assert re.search(rf'log "Stage {n}:', text), f"{run_sh}: stage {n} prints no 'Stage {n}:' line"
    helpers = re.findall(r"local/\w+\.sh", text)
    assert helpers == [], f"{run_sh} calls recipe helper scripts {helpers}; stages call spkssl commands"
    for command in re.findall(r"^\s*(?:\$\w+ \S+ \\\n\s*)?spkssl ([\w-]+)", text, re.M):
        assert command in _COMMAND_MODULES, f"{run_sh}: unknown command spkssl {command}"
    assert "spkssl config get" not in text.split(MARKER)[0], "a config value travels to the shell in stages 0-3"


@pytest.mark.parametrize("run_sh", RECIPES, ids=lambda p: p.parent.name)
def test_each_recipe_locks_its_experiment_before_resolving_the_config(run_sh: Path) -> None:
    text = run_sh.read_text()
    assert 'lock_experiment "$exp"' in text, f"{run_sh} does not lock its experiment folder"
    assert text.index('lock_experiment "$exp"') < text.index("spkssl config resolve")


@pytest.mark.parametrize("run_sh", RECIPES, ids=lambda p: p.parent.name)
def test_help_lists_the_options(run_sh: Path) -> None:
    out = subprocess.run(["bash", str(run_sh), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--stop-stage" in out.stdout and "--force" in out.stdout, out.stdout + out.stderr


def test_architecture_doc_maps_every_stage_to_its_module() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text()
    table = doc[doc.index("## Stage → command → module"):]
    for n in range(8):
        assert re.search(rf"^\| {n} \|", table, re.M), f"stage {n} is not in the table"


@pytest.mark.parametrize("conf", sorted(REPO.glob("egs/*/conf/*.yaml")), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_recipe_conf_resolves_and_plans_round0(conf: Path, tmp_path: Path) -> None:
    from spkssl.config import load_config, save_config
    from spkssl.experiment import Experiment

    save_config(load_config(conf), tmp_path / "config.yaml")  # unknown keys would raise, naming them
    exp = Experiment(tmp_path)  # so would a bad rounds.round0_overrides entry
    plan = exp.train_plan(0)
    assert exp.train_config(plan)["train"]["epochs"] == plan.epochs


def test_voxceleb_offers_dino_and_the_loss_gate_with_their_origins() -> None:
    from spkssl.config import load_config

    text = (REPO / "egs" / "voxceleb" / "conf" / "resnet34_dino.yaml").read_text()
    cfg = load_config(REPO / "egs" / "voxceleb" / "conf" / "resnet34_dino.yaml")
    assert cfg["rounds"]["round0_objective"] == "dino" and cfg["loss"]["classification"]["gate"] == "lgl"
    for line in text.splitlines():
        if re.match(r"^\s+[a-z_0-9]+: \S", line):  # every value says where it comes from
            assert re.search(r"# \[(wespeaker|hyperion|lgl|paper|ours|Kaldi)", line), line
