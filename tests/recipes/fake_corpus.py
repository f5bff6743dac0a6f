"""What the recipe tests share: real speech grouped by speaker, audio copies, the recipe's environment.

The speech is the speechocean762 corpus the tests find beside the project
(``tests/conftest.py``); the fake corpora (``fake_voxceleb.py``, ``fake_librispeech.py``)
lay it out as the real corpora are laid out.

Example:
    >>> speakers = speechocean_speakers(speechocean_dir, "train")  # doctest: +SKIP
    >>> copy_audio(speakers["0001"][0], tmp_path / "a.flac")  # doctest: +SKIP
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import soundfile as sf


def speechocean_speakers(corpus: Path, part: str) -> dict[str, list[Path]]:
    """speaker → audio paths (sorted) of a speechocean762 Kaldi dir (``train`` or ``test``)."""
    wav = dict(line.split(maxsplit=1) for line in (corpus / part / "wav.scp").read_text().splitlines())
    by_spk: dict[str, list[Path]] = {}
    for line in (corpus / part / "utt2spk").read_text().splitlines():
        utt, spk = line.split()
        by_spk.setdefault(spk, []).append(corpus / wav[utt].strip())
    return {spk: sorted(paths) for spk, paths in sorted(by_spk.items())}


def copy_audio(src: Path, out: Path) -> None:
    """Decode ``src`` and write it as 16-bit PCM in the format ``out``'s suffix names (.wav, .flac)."""
    samples, sr = sf.read(src, dtype="int16")
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out, samples, sr, subtype="PCM_16")


def recipe_env(tmp_path: Path) -> dict[str, str]:
    """The environment a recipe runs in under test: one thread each, local jobs, ``spkssl`` on PATH.

    Where the package is not installed, a shim in ``tmp_path/bin`` runs ``python -m spkssl.cli``.
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", SPKSSL_LAUNCHER="local")
    if shutil.which("spkssl") is None:
        shim = tmp_path / "bin" / "spkssl"
        shim.parent.mkdir()
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m spkssl.cli "$@"\n')
        shim.chmod(0o755)
        env["PATH"] = f"{shim.parent}{os.pathsep}{env['PATH']}"
    return env
