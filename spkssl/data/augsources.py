"""Augmentation sources: ``aug_{noise,music,babble,rir}_recordings.jsonl.gz``.

Each kind comes from a real corpus when one is given, otherwise it is generated:

| kind   | with a corpus (lhotse.recipes)          | generated                                          |
| ------ | --------------------------------------- | -------------------------------------------------- |
| noise  | MUSAN ``noise``                         | coloured noise, white / pink / brown in turn       |
| music  | MUSAN ``music``                         | harmonic tone sequences                            |
| babble | MUSAN ``speech``                        | sums of 3–7 random training utterances             |
| rir    | RIRS_NOISES ``real_rir`` + ``sim_rir``  | image-method shoebox RIRs (RT60 range from config) |

Generated audio is written as 16-bit wav under ``audio_dir``; the log states
which choice was made for each kind.  Settings: the ``data.aug_sources`` config.

Example:
    >>> paths = prepare_aug_sources("data/manifests", train_cuts="data/manifests/train_cuts.jsonl.gz",
    ...                             seed=0)  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import soundfile as sf
from lhotse import CutSet, Recording, RecordingSet
from lhotse.recipes import prepare_musan, prepare_rir_noise

from spkssl.augment.noise import coloured_noise, harmonic_music, mix_babble
from spkssl.augment.rir import random_room, simulate_rir
from spkssl.config import require_complete
from spkssl.data.audio import load_cut_audio
from spkssl.utils.io import atomic_path
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)

KINDS = ("noise", "music", "babble", "rir")


class AugSourcesError(ValueError):
    """Augmentation sources cannot be prepared (message says which kind and why)."""


def _write_generated(
    kind: str, count: int, make: Callable[[int, np.random.Generator], np.ndarray],
    audio_dir: Path, sampling_rate: int, rng: np.random.Generator,
) -> RecordingSet:
    """Generate ``count`` signals, write ``audio_dir/<kind>/<kind>-NNNN.wav`` atomically, return recordings."""
    recs = []
    for i in progress(range(count), desc=f"Generating {kind}", unit="file", leave=False):
        x = make(i, rng)
        path = audio_dir / kind / f"{kind}-{i:04d}.wav"
        with atomic_path(path) as tmp:
            sf.write(tmp, x, sampling_rate, subtype="PCM_16" if kind != "rir" else "FLOAT",
                     format="WAV")
        recs.append(Recording.from_file(path, recording_id=f"sim-{kind}-{i:04d}"))
    return RecordingSet.from_recordings(recs)


def _babble_maker(train_cuts: CutSet, cfg: Mapping[str, Any], n: int, sampling_rate: int) -> Callable:
    cut_list = list(train_cuts)
    bad = [cut.id for cut in cut_list if cut.sampling_rate != sampling_rate]
    if bad:
        raise AugSourcesError(
            f"babble: {len(bad)} training cut(s) are not at {sampling_rate} Hz, e.g. '{bad[0]}'"
        )
    lo, hi = (int(v) for v in cfg["babble_speakers"])
    if not 1 <= lo <= hi:
        raise AugSourcesError(f"data.aug_sources.babble_speakers must be 1 <= min <= max, got {[lo, hi]}")
    if len(cut_list) < hi:
        raise AugSourcesError(f"babble needs at least {hi} training cuts, got {len(cut_list)}")

    def make(_: int, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.integers(lo, hi + 1))
        picks = rng.choice(len(cut_list), size=k, replace=False)
        return mix_babble([load_cut_audio(cut_list[j]) for j in picks], n, rng)

    return make


def _from_musan(musan: Path) -> dict[str, RecordingSet]:
    m = prepare_musan(musan, parts=("music", "speech", "noise"))
    return {"noise": m["noise"]["recordings"], "music": m["music"]["recordings"],
            "babble": m["speech"]["recordings"]}


def _from_rirs(rirs: Path) -> RecordingSet:
    m = prepare_rir_noise(rirs, parts=("real_rir", "sim_rir"))
    return m["real_rir"]["recordings"] + m["sim_rir"]["recordings"]


def prepare_aug_sources(
    out_dir: str | Path,
    musan: str | Path | None = None,
    rirs: str | Path | None = None,
    train_cuts: str | Path | CutSet | None = None,
    audio_dir: str | Path | None = None,
    seed: int = 0,
    *,
    cfg: Mapping[str, Any],
    sampling_rate: int = 16000,
) -> dict[str, Path]:
    """Write ``out_dir/aug_<kind>_recordings.jsonl.gz`` for noise, music, babble, rir.

    Args:
        out_dir: manifest folder.
        musan: MUSAN root (``music/ speech/ noise/``); None → generated noise/music/babble.
        rirs: RIRS_NOISES root; None → simulated RIRs.
        train_cuts: cut set (or its path) whose utterances make the babble (needed without MUSAN).
        audio_dir: where generated wavs go; default ``out_dir/../aug_audio``.
        seed: random seed (the same seed gives the same files).
        cfg: the complete ``data.aug_sources`` config section.

    Raises:
        AugSourcesError: when babble has no source (neither MUSAN nor training cuts).
    """
    c = require_complete("data.aug_sources", cfg)
    out_dir = Path(out_dir)
    audio_dir = Path(audio_dir) if audio_dir is not None else out_dir.parent / "aug_audio"
    if musan is None and train_cuts is None:
        raise AugSourcesError("babble needs MUSAN (--musan) or a training cut set (--train-cuts)")
    rng = np.random.default_rng(seed)
    n = int(round(float(c["duration"]) * sampling_rate))
    sets: dict[str, RecordingSet] = {}
    if musan is not None:
        sets.update(_from_musan(Path(musan)))
        log.info("noise: MUSAN noise (%d); music: MUSAN music (%d); babble: MUSAN speech (%d)",
                 len(sets["noise"]), len(sets["music"]), len(sets["babble"]))
    else:
        colours = ("white", "pink", "brown")
        sets["noise"] = _write_generated(
            "noise", int(c["num_noise"]), lambda i, r: coloured_noise(n, colours[i % 3], r),
            audio_dir, sampling_rate, rng)
        log.info("noise: simulated coloured noise (%d files, white/pink/brown)", len(sets["noise"]))
        sets["music"] = _write_generated(
            "music", int(c["num_music"]), lambda i, r: harmonic_music(n, sampling_rate, r),
            audio_dir, sampling_rate, rng)
        log.info("music: simulated harmonic tone sequences (%d files)", len(sets["music"]))
        cuts = CutSet.from_file(train_cuts) if isinstance(train_cuts, (str, Path)) else train_cuts
        sets["babble"] = _write_generated(
            "babble", int(c["num_babble"]), _babble_maker(cuts, c, n, sampling_rate), audio_dir, sampling_rate, rng)
        log.info("babble: mixed from the training pool (%d files of %s utterances)",
                 len(sets["babble"]), c["babble_speakers"])
    if rirs is not None:
        sets["rir"] = _from_rirs(Path(rirs))
        log.info("rir: RIRS_NOISES real + simulated RIRs (%d)", len(sets["rir"]))
    else:
        def make_rir(_: int, r: np.random.Generator) -> np.ndarray:
            room = random_room(r, c["rt60"])
            return simulate_rir(room.size, room.source, room.mic, room.rt60, sampling_rate,
                                float(c["rir_duration"]))

        sets["rir"] = _write_generated("rir", int(c["num_rirs"]), make_rir, audio_dir,
                                       sampling_rate, rng)
        log.info("rir: simulated image-method shoebox RIRs (%d, RT60 %s s)", len(sets["rir"]), c["rt60"])
    paths = {}
    for kind in KINDS:
        paths[kind] = out_dir / f"aug_{kind}_recordings.jsonl.gz"
        with atomic_path(paths[kind]) as tmp:
            sets[kind].to_file(tmp)
    return paths
