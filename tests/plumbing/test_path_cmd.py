"""path.sh and cmd.sh: the recipe environment and the launcher switch."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SHOW_ENV = """set -euo pipefail
. ../../path.sh
. ../../path.sh
. "$SPKSSL_ROOT/cmd.sh"
echo "root=$SPKSSL_ROOT"
echo "pythonpath=$PYTHONPATH"
echo "path=$PATH"
echo "lc_all=$LC_ALL unbuffered=$PYTHONUNBUFFERED"
echo "launcher=$(command -v run_local.sh)"
echo "train=$train_cmd"
echo "cuda=$cuda_cmd"
echo "extract=$extract_cmd"
"""


def parse(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines())


def test_path_sh_from_a_recipe_dir(bash, tmp_path):
    recipe = tmp_path / "egs" / "corpus"
    recipe.mkdir(parents=True)
    (tmp_path / "path.sh").write_text((REPO / "path.sh").read_text())  # a copy elsewhere finds itself
    (tmp_path / "cmd.sh").write_text((REPO / "cmd.sh").read_text())
    (tmp_path / "local").symlink_to(REPO / "local")
    r = bash(SHOW_ENV, cwd=recipe, env={"PYTHONPATH": "/x/y", "SPKSSL_LAUNCHER": "local"})
    assert r.returncode == 0, r.stderr
    env = parse(r.stdout)
    root = str(tmp_path.resolve())
    assert env["root"] == root
    assert env["pythonpath"] == f"{root}:/x/y"  # sourcing twice adds it once
    assert env["path"].split(":").count(f"{root}/local") == 1
    assert env["path"].startswith(f"{root}/local:")
    assert env["lc_all"] == "C unbuffered=1"
    assert env["launcher"] == f"{root}/local/run_local.sh"
    assert (env["train"], env["cuda"], env["extract"]) == ("run_local.sh", "run_local.sh --gpu 1", "run_local.sh")


def test_repo_recipe_can_launch_python(bash, tmp_path):
    script = """set -euo pipefail
. "$REPO/path.sh"
. "$REPO/cmd.sh"
cd "$1"
$train_cmd JOB=1:2 log/v.JOB.log python3 -c "import spkssl.launch, sys; print(sys.argv[1])" JOB
cat log/v.2.log
"""
    r = bash(script, str(tmp_path), env={"SPKSSL_LAUNCHER": "local", "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr
    assert "\n2\n" in r.stdout and "# Ended (code 0)" in r.stdout


def test_cmd_sh_slurm_switch(bash):
    script = '. "$REPO/path.sh"; . "$REPO/cmd.sh"; echo "$train_cmd|$cuda_cmd|$extract_cmd"'
    r = bash(script, env={"SPKSSL_LAUNCHER": "slurm", "SPKSSL_SLURM_GPU_PARTITION": "a100"})
    assert r.returncode == 0, r.stderr
    train, cuda, extract = r.stdout.strip().split("|")
    assert train.startswith("run_slurm.sh") and extract.startswith("run_slurm.sh")
    assert cuda.startswith("run_slurm.sh --gpu 1") and cuda.endswith("--partition a100")
    r = bash(script, env={"SPKSSL_LAUNCHER": "slurm", "SPKSSL_SLURM_GPUS": "0"})  # a CPU-only cluster
    assert r.stdout.strip().split("|")[1].startswith("run_slurm.sh --gpu 0 ")


def test_cmd_sh_rejects_unknown_launcher(bash):
    r = bash('set -eu; . "$REPO/path.sh"; . "$REPO/cmd.sh"; echo after', env={"SPKSSL_LAUNCHER": "pbs"})
    assert r.returncode != 0
    assert "SPKSSL_LAUNCHER must be 'local' or 'slurm', got 'pbs'" in r.stderr
    assert "after" not in r.stdout
