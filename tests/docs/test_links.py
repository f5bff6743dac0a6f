"""Every relative link of the README, the manual and the recipes' pages points at a file that exists,
and every ``#anchor`` at a heading of its page (the manual's build does not check links to repository files)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: the pages checked; those under docs/ whose names start with "_" are written by the build (docs/conf.py) from
#: the code and left out, so a fresh clone and a built tree run the same tests
PAGES = sorted([REPO / "README.md", REPO / "egs" / "TEMPLATE.md", *REPO.glob("egs/*/README.md"),
                *REPO.glob("egs/*/RESULTS.md"),
                *(p for p in REPO.glob("docs/**/*.md") if "_build" not in p.parts and not p.name.startswith("_"))])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def slug(heading: str) -> str:
    """The anchor MyST and GitHub give a heading: lower case, punctuation dropped, spaces to dashes.

    >>> slug("Stages, reruns and the experiment folder")
    'stages-reruns-and-the-experiment-folder'
    >>> slug("Threads of `spkssl embed`")
    'threads-of-spkssl-embed'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The page's heading anchors, those of the files it includes (```{include} FILE```) among them."""
    raw = page.read_text(encoding="utf-8")
    found = set().union(*(anchors((page.parent / f).resolve()) for f in re.findall(r"^```\{include\}\s+(\S+)", raw, re.M)))
    text = FENCE.sub("", raw)
    return found | {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def links(page: Path) -> list[str]:
    return LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading '#{anchor}' in {dest.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_readme_reaches_every_page_of_the_manual_in_one_click() -> None:
    reached = {(REPO / t.partition("#")[0]).resolve() for t in links(REPO / "README.md") if not re.match(r"^[a-z]+:", t)}
    pages = {p.resolve() for p in REPO.glob("docs/**/*.md")
             if "_build" not in p.parts and not p.name.startswith("_") and p.name != "index.md"
             and p.parent.name != "_api"}
    included = {REPO / "docs/recipes/librispeech.md": REPO / "egs/librispeech/README.md",
                REPO / "docs/recipes/voxceleb.md": REPO / "egs/voxceleb/README.md",
                REPO / "docs/new-recipe.md": REPO / "egs/TEMPLATE.md"}  # pages that include a file the README links
    missing = [str(p.relative_to(REPO)) for p in pages if p not in reached and included.get(p) not in reached]
    assert not missing, f"README.md links none of: {missing}"


HISTORY = re.compile(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}|commit [0-9a-f]{7}|load average|earlier data path")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_pages_say_how_to_reproduce_not_how_it_came_about(page: Path) -> None:
    """A date only on a "measured on" line; no commits, load averages or earlier data paths (that is git log)."""
    lines = [f"{n}: {line}" for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
             if HISTORY.search(line) and "measured on" not in line.lower()]
    assert not lines, f"{page.relative_to(REPO)}:\n" + "\n".join(lines)


def resolve(dotted: str) -> bool:
    """Whether ``spkssl.a.b.c`` names a module or an attribute of one."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_python_name_a_page_gives_exists(page: Path) -> None:
    """``spkssl.x.y`` in a page names a module, class or function the package has (renames cannot leave stale names)."""
    names = set(re.findall(r"`(spkssl(?:\.[A-Za-z_]\w*)+)", page.read_text(encoding="utf-8")))
    stale = sorted(n for n in names if not resolve(n))
    assert not stale, f"{page.relative_to(REPO)} names what the package does not have: {stale}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_repository_path_a_page_gives_exists(page: Path) -> None:
    """A path into the repository a page quotes (``spkssl/...``, ``benchmarks/...``, ``tests/...``) exists.
    (Paths into other projects are quoted with their project's name: ``wespeaker egs/voxceleb/v2``.)"""
    found = re.findall(r"(\w*)\s?`((?:spkssl|benchmarks|tests|local|docs|egs)/[^`\s]*)`", page.read_text(encoding="utf-8"))
    others = {"Kaldi", "wespeaker", "icefall", "hyperion", "lhotse", "Lhotse", "sslsv"}
    plain = [q.rstrip("/").split("::")[0] for before, q in found
             if before not in others and not re.search(r"[<>{}*|$\[\]]", q)
             and not re.match(r"egs/[^/]+/(exp|data)/", q)]  # what a recipe writes, not what the repository holds
    missing = sorted({q for q in plain if not (REPO / q).exists() and not (page.parent / q).exists()})
    assert not missing, f"{page.relative_to(REPO)} quotes paths that do not exist: {missing}"
