"""The commands the README and the manual show run, and print what the pages say they print.

They run on the suite's own mini experiment (the ``mini_recipe`` session fixture: ``egs/mini/run.sh``
with the test's small settings), from a folder laid out as ``egs/mini/`` is after the recipe. Its
figures differ from the full recipe's, so numbers (and a decision that follows from them) are
compared as placeholders; every other character of every printed line is compared as written.
"""
from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING) \[")


pytestmark = pytest.mark.xdist_group("mini")  # shares the one mini run (mini_recipe) with the other mini tests


def mask(text: str) -> str:
    """Figures, digests and decisions as placeholders: what may differ between two models.

    >>> mask("score 0.130407 threshold 0.246613 (EER 16.87 %): different speakers, git commit 009da87ab-dirty")
    'score N threshold N (EER N %): DECISION, git commit SHA'
    >>> mask("git commit <sha>") == mask("git commit 0123456789abcdef")
    True
    """
    text = re.sub(r"(?<=commit )(<sha>|[0-9a-f]{7,40}(-dirty)?)", "SHA", text)
    text = re.sub(r"same speaker|different speakers|\bTrue\b|\bFalse\b", "DECISION", text)
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)


def block(page: Path, lang: str, after: str) -> str:
    """The first ```lang block of ``page`` after the line ``after``."""
    text = page.read_text(encoding="utf-8")
    start = text.index(after)
    m = re.search(rf"^```{lang}\n(.*?)^```", text[start:], re.S | re.M)
    assert m, f"{page}: no ```{lang} block after {after!r}"
    return m.group(1)


@pytest.fixture(scope="module")
def mini_dir(mini_recipe: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder laid out as egs/mini/ after the recipe (its own copy of exp/mini) and the replacements
    that make the pages' names ours: the first two test speakers, and the recipe's folder (the
    fixture ran it with absolute ``--data-dir``, which the config records) as the pages' relative one."""
    root, _ = mini_recipe
    work = tmp_path_factory.mktemp("egs_mini")
    shutil.copytree(root / "exp" / "mini", work / "exp" / "mini", symlinks=True)
    (work / "data").mkdir()
    for name in ("manifests", "trials", "fbank"):
        (work / "data" / name).symlink_to(root / "data" / name)
    (work / "data" / "synth").symlink_to(root / "synth")
    test_speakers = [line.split()[0] for line in (root / "synth" / "test" / "spk2utt").read_text().splitlines()]
    return work, {"spk0041": test_speakers[0], "spk0042": test_speakers[1], "": f"{root}/"}


def run(command: str, cwd: Path, speakers: dict[str, str]) -> subprocess.CompletedProcess:
    for page_name, ours in speakers.items():
        if page_name:
            command = command.replace(page_name, ours)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def printed(proc: subprocess.CompletedProcess, names: dict[str, str], log_lines_shown: bool) -> list[str]:
    """What a command printed, masked. The pages leave out a step's log lines (``spkssl score`` logs one per
    back-end and list) only where they say so; elsewhere a stray log line, a framework's warning or a
    progress bar drawn into a pipe is a difference."""
    text = (proc.stdout + proc.stderr).replace(names[""], "")
    return [mask(line) for line in text.splitlines() if line.strip() and (log_lines_shown or not LOG_LINE.match(line))]


def test_the_quick_start_is_the_recipe_the_suite_runs(mini_recipe: tuple[Path, str]) -> None:
    commands = [line for line in block(REPO / "README.md", "bash", "## Quick start").splitlines() if line.strip()]
    assert commands == ["egs/mini/run.sh"]  # the mini_recipe fixture runs it, with the test's small settings
    _, log = mini_recipe
    assert "Stage 7:" in log and "| round 2 |" in log  # it ran to the end and printed its results table


def session_commands() -> list[str]:
    """The commands of the manual's console session (docs/using.md), without their comments."""
    session = block(REPO / "docs" / "using.md", "console", "## Examples")
    return [line[2:].split("  #")[0].strip() for line in session.splitlines() if line.startswith("$ ")]


def test_the_readme_commands_of_using_a_trained_model_are_those_the_manual_session_runs() -> None:
    """The README shows a few of the manual's commands as they are; the session test below runs them all."""
    lines = [line.split("  #")[0].strip() for line in block(REPO / "README.md", "bash", "## Use a trained model").splitlines()
             if line.strip() and not line.startswith("cd ")]
    assert len(lines) >= 4
    missing = [line for line in lines if line not in session_commands()]
    assert not missing, f"README commands not in docs/using.md's session (which the suite runs): {missing}"
    python = re.findall(r"`(spkssl\.load_model\([^`]*)`", (REPO / "README.md").read_text(encoding="utf-8"))
    assert python and all(".embed_file(" in p or ".verify(" in p for p in python)  # the API the Python session runs


def test_the_manual_console_session_prints_what_it_shows(mini_dir: tuple[Path, dict[str, str]]) -> None:
    work, speakers = mini_dir
    session = block(REPO / "docs" / "using.md", "console", "## Examples")
    steps: list[tuple[str, list[str]]] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:].split("  #")[0].strip(), []))
        elif line.strip():
            steps[-1][1].append(mask(line))
    assert len(steps) >= 7
    for command, shown in steps:
        proc = run(command, work, speakers)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        assert printed(proc, speakers, log_lines_shown=not command.startswith("spkssl score")) == shown, f"$ {command}"


class _Masked(doctest.OutputChecker):
    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return mask(want) == mask(got)


def test_the_manual_python_session_runs(mini_dir: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    work, speakers = mini_dir
    text = block(REPO / "docs" / "using.md", "pycon", "## Python")
    for page_name, ours in speakers.items():
        if page_name:
            text = text.replace(page_name, ours)
    monkeypatch.chdir(work)
    test = doctest.DocTestParser().get_doctest(text, {}, "docs/using.md (Python)", str(REPO / "docs" / "using.md"), 0)
    runner = doctest.DocTestRunner(checker=_Masked(), optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
