"""A tiny VoxCeleb1-test + VoxCeleb2-dev tree in the official layout, made of real speech.

The audio is speechocean762 (Ogg/Opus, 16 kHz) decoded with soundfile and written as
16-bit PCM WAV; speechocean speakers are renamed to VoxCeleb-style ids (``id10001..``
for VoxCeleb1 test, ``id00001..`` for VoxCeleb2 dev) and each speaker's utterances are
spread over several "videos" with 11-character YouTube-like ids.  Layout::

    vox1/vox1_meta.csv                       tab-separated, header + one row per speaker
    vox1/wav/id10001/<video>/00001.wav
    vox1/veri_test2.txt                      "1 id10001/<video>/00001.wav id10001/<video>/00002.wav"
    vox2/vox2_meta.csv                       comma-separated: id, vggface id, gender, set
    vox2/dev/aac/id00001/<video>/00001.wav   (.wav, not .m4a: no AAC encoder here; the importer reads both)

Example:
    >>> tree = make_fake_voxceleb(tmp_path, speechocean_dir)  # doctest: +SKIP
    >>> tree.vox1_o_trials.read_text().split("\\n")[0]  # doctest: +SKIP
    '1 id10001/AbCdEfGhIjK/00001.wav id10001/AbCdEfGhIjK/00002.wav'
"""
from __future__ import annotations

import itertools
import random
import string
from dataclasses import dataclass
from pathlib import Path

from tests.recipes.fake_corpus import copy_audio, speechocean_speakers


@dataclass(frozen=True)
class FakeVoxCeleb:
    """Paths of a generated tree."""

    vox1: Path
    vox2: Path
    vox1_o_trials: Path
    num_vox1_utts: int
    num_vox2_utts: int


def _video_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(11))


def _write_speakers(
    sources: dict[str, list[Path]], root: Path, first_id: int, num_speakers: int,
    utts_per_speaker: int, utts_per_video: int, rng: random.Random,
) -> list[tuple[str, str, str]]:
    """Decode and write the audio; return (speaker id, video, utterance) triples in order."""
    speakers = [s for s in sources if len(sources[s]) >= utts_per_speaker][:num_speakers]
    if len(speakers) < num_speakers:
        raise ValueError(f"need {num_speakers} speakers with {utts_per_speaker} utterances, "
                         f"found {len(speakers)}")
    written = []
    for k, src_spk in enumerate(speakers):
        spk = f"id{first_id + k:05d}"
        video = _video_id(rng)
        for j, src in enumerate(sources[src_spk][:utts_per_speaker]):
            if j and j % utts_per_video == 0:
                video = _video_id(rng)
            utt = f"{j % utts_per_video + 1:05d}"
            copy_audio(src, root / spk / video / f"{utt}.wav")
            written.append((spk, video, utt))
    return written


def make_fake_voxceleb(
    out_dir: Path,
    speechocean: Path,
    vox1_speakers: int = 6,
    vox1_utts: int = 4,
    vox2_speakers: int = 12,
    vox2_utts: int = 8,
    utts_per_video: int = 2,
    seed: int = 0,
) -> FakeVoxCeleb:
    """Write the tree under ``out_dir``: VoxCeleb1 test from speechocean's test part, VoxCeleb2 dev from train.

    Every pair of VoxCeleb1 utterances becomes one Vox1-O-style trial (target when the
    speakers match).
    """
    rng = random.Random(seed)
    vox1, vox2 = out_dir / "vox1", out_dir / "vox2"
    v1 = _write_speakers(speechocean_speakers(speechocean, "test"), vox1 / "wav", 10001, vox1_speakers,
                         vox1_utts, utts_per_video, rng)
    v2 = _write_speakers(speechocean_speakers(speechocean, "train"), vox2 / "dev" / "aac", 1, vox2_speakers,
                         vox2_utts, utts_per_video, rng)
    genders = itertools.cycle("mf")
    rows = ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
    rows += [f"{spk}\tName_{spk}\t{next(genders)}\tUSA\ttest" for spk in sorted({s for s, _, _ in v1})]
    (vox1 / "vox1_meta.csv").write_text("\n".join(rows) + "\n")
    rows = ["VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set "]
    rows += [f"{spk} ,n{int(spk[2:]):06d} ,{next(genders)} ,dev " for spk in sorted({s for s, _, _ in v2})]
    (vox2 / "vox2_meta.csv").write_text("\n".join(rows) + "\n")
    trials = vox1 / "veri_test2.txt"
    lines = [f"{int(a[0] == b[0])} {'/'.join(a)}.wav {'/'.join(b)}.wav"
             for a, b in itertools.combinations(v1, 2)]
    trials.write_text("\n".join(lines) + "\n")
    return FakeVoxCeleb(vox1, vox2, trials, len(v1), len(v2))
