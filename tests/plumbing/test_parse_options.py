"""local/parse_options.sh: recipe options under set -euo pipefail."""
from __future__ import annotations

RECIPE = """#!/usr/bin/env bash
set -euo pipefail
stage=0
stop_stage=100
nj=4                # parallel jobs
use_gpu=false
tag="base run"
overrides=          # config overrides
{help}
. "$REPO/local/parse_options.sh"
echo "stage=$stage stop_stage=$stop_stage nj=$nj use_gpu=$use_gpu tag=$tag"
echo "overrides=$overrides"
echo "nargs=$#"
for a in "$@"; do echo "arg=$a"; done
"""


def recipe(help_message: str = "") -> str:
    return RECIPE.format(help=help_message)


def test_dashes_underscores_and_equals(bash):
    r = bash(recipe(), "--stage", "3", "--stop-stage", "5", "--stop_stage=6", "--nj=8", "--use-gpu", "true")
    assert r.returncode == 0, r.stderr
    assert "stage=3 stop_stage=6 nj=8 use_gpu=true tag=base run" in r.stdout
    assert "nargs=0" in r.stdout


def test_positional_arguments_are_left(bash):
    r = bash(recipe(), "--nj", "2", "data/train", "--not-an-option", "two words")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[2:] == ["nargs=3", "arg=data/train", "arg=--not-an-option", "arg=two words"]


def test_double_dash_ends_options(bash):
    r = bash(recipe(), "--stage", "2", "--", "--nj", "9")
    assert r.returncode == 0, r.stderr
    assert "stage=2 " in r.stdout and "nj=4 " in r.stdout
    assert "arg=--nj" in r.stdout and "arg=9" in r.stdout


def test_value_with_spaces(bash):
    r = bash(recipe(), "--tag", "my run  2")
    assert r.returncode == 0, r.stderr
    assert "tag=my run  2" in r.stdout


def test_unknown_option_is_an_error(bash):
    r = bash(recipe(), "--stage", "1", "--num-epochs", "3")
    assert r.returncode != 0
    assert "unknown option '--num-epochs'" in r.stderr
    assert "num_epochs" in r.stderr
    assert "stage=" not in r.stdout  # the recipe never ran on


def test_missing_value_and_bad_boolean(bash):
    r = bash(recipe(), "--nj")
    assert r.returncode != 0 and "--nj needs a value" in r.stderr
    r = bash(recipe(), "--use-gpu", "yes")
    assert r.returncode != 0 and "true or false" in r.stderr


def test_invalid_option_name(bash):
    r = bash(recipe(), "--bad.name", "1")
    assert r.returncode != 0 and "invalid option name" in r.stderr


def test_help_prints_help_message(bash):
    r = bash(recipe('help_message="Usage: run.sh [--stage N] <dir>"'), "--stage", "2", "--help")
    assert r.returncode == 0
    assert r.stdout.strip() == "Usage: run.sh [--stage N] <dir>"


def test_help_lists_variables_without_help_message(bash):
    r = bash(recipe(), "--nj", "7", "-h")
    assert r.returncode == 0
    lines = [" ".join(line.split()) for line in r.stdout.splitlines()]
    assert "--nj 7 parallel jobs" in lines  # the value and the meaning the recipe's line gives after "#"
    assert "--stop-stage 100" in lines
    assert "--use-gpu false" in lines
    assert "--set a.b=v a config override (repeatable; joins --overrides)" in lines
    assert not any("REPO" in line or "help-message" in line for line in lines)


def test_set_appends_config_overrides_as_the_commands_take_them(bash):
    r = bash(recipe(), "--overrides", "train.epochs=2", "--set", "train.lr=0.1", "--set=cluster.seed=3")
    assert r.returncode == 0, r.stderr
    assert "overrides=train.epochs=2 train.lr=0.1 cluster.seed=3" in r.stdout
    r = bash(recipe(), "--set", "train.lr")
    assert r.returncode != 0 and "option --set takes a.b=value, got 'train.lr'" in r.stderr


def test_no_helpers_leak_into_recipe(bash):
    script = recipe() + 'declare -F | grep __po_ && exit 3\nset | grep "^__po_" && exit 4\necho clean\n'
    r = bash(script, "--nj", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "clean" in r.stdout
