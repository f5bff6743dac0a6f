"""A tiny LibriSpeech tree in the official layout, made of real speech, for lhotse's recipe.

Each part holds its own speakers, renamed to LibriSpeech-style numeric ids, each with
utterances spread over chapters::

    LibriSpeech/SPEAKERS.TXT                           ";ID  |SEX| SUBSET           |MINUTES| NAME" rows
    LibriSpeech/CHAPTERS.TXT                           ";ID  |READER|MINUTES| SUBSET  | ..." rows
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>-<utt:04d>.flac
    LibriSpeech/<part>/<spk>/<chapter>/<spk>-<chapter>.trans.txt   "<spk>-<chapter>-<utt> TRANSCRIPT" lines

``lhotse.recipes.prepare_librispeech`` reads the ``*.trans.txt`` files and the FLAC files
they name; utterance ids (``1001-2001-0000``) are recording, supervision and cut ids,
and the speaker is the first field.  The audio is any speech ``sources`` gives (the
recipe tests: speechocean762, decoded and written as 16-bit FLAC).

Example:
    >>> tree = make_fake_librispeech(tmp_path, {"test-clean": test_speakers})  # doctest: +SKIP
    >>> sorted(p.name for p in tree.root.iterdir())  # doctest: +SKIP
    ['CHAPTERS.TXT', 'SPEAKERS.TXT', 'test-clean']
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from tests.recipes.fake_corpus import copy_audio


@dataclass(frozen=True)
class FakeLibriSpeech:
    """The tree's root (``.../LibriSpeech``) and, per part, speaker id → utterance ids."""

    root: Path
    parts: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def utterances(self, part: str) -> list[str]:
        return sorted(u for utts in self.parts[part].values() for u in utts)


def make_fake_librispeech(
    out_dir: Path,
    sources: Mapping[str, Mapping[str, Sequence[Path]]],
    utts_per_chapter: int = 3,
    first_speaker: int = 1001,
) -> FakeLibriSpeech:
    """Write ``out_dir/LibriSpeech`` with one folder per part of ``sources`` (part → speaker → audio files).

    Speakers are numbered from ``first_speaker`` across parts (so no speaker is in two parts);
    chapters from ``2000 + speaker``'s position, ``utts_per_chapter`` utterances each.
    """
    root = out_dir / "LibriSpeech"
    speaker_rows, chapter_rows = [], []
    numbers = itertools.count(first_speaker)
    genders = itertools.cycle("MF")
    written: dict[str, dict[str, list[str]]] = {}
    for part, speakers in sources.items():
        written[part] = {}
        for files in speakers.values():
            spk = str(next(numbers))
            speaker_rows.append(f"{spk:<5}| {next(genders)} | {part:<16} | 1.00 | Reader {spk}")
            utts: list[str] = []
            for c, start in enumerate(range(0, len(files), utts_per_chapter)):
                chapter = str(2000 + int(spk) * 10 + c)
                chapter_rows.append(f"{chapter:<5}| {spk:<5}| 1.00 | {part:<16} | 1 | Book | Chapter {c}")
                folder = root / part / spk / chapter
                lines = []
                for k, src in enumerate(files[start:start + utts_per_chapter]):
                    utt = f"{spk}-{chapter}-{k:04d}"
                    copy_audio(Path(src), folder / f"{utt}.flac")
                    lines.append(f"{utt} WORDS OF UTTERANCE {k} OF CHAPTER {chapter}")
                    utts.append(utt)
                (folder / f"{spk}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
            written[part][spk] = utts
    (root / "SPEAKERS.TXT").write_text(";ID  |SEX| SUBSET           |MINUTES| NAME\n" + "\n".join(speaker_rows) + "\n")
    (root / "CHAPTERS.TXT").write_text(";ID  |READER|MINUTES| SUBSET  | PROJ.|BOOK ID| CH. TITLE\n"
                                       + "\n".join(chapter_rows) + "\n")
    return FakeLibriSpeech(root, written)
