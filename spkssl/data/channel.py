"""A cross-channel test condition: every trial utterance through its own simulated channel.

On a corpus recorded in one session per speaker (speechocean762), an utterance's
long-term spectrum names its speaker, so untrained spectral statistics verify well.
:func:`make_cross_channel` copies the utterances of a trial list, each through a
channel of its own (:class:`ChannelDraw`):

1. a room: one of ``num_rooms`` image-method RIRs (:mod:`spkssl.augment.rir`, RT60 in
   ``rt60``, :func:`room_bank`),
2. an equaliser tilt of ``tilt_db_per_octave`` around 1 kHz (:func:`spkssl.augment.eq.tilt`),
3. coloured noise (``noise`` colours) at an SNR drawn from ``snr_db``,
4. a low-bit-rate codec (``codecs``, :data:`CODECS`): wide-band Ogg/Opus at about
   16 kbps (``opus16``) or MP3 at 16 kHz, about 30 kbps (``mp3``); or, narrow-band
   (nothing above 4 kHz left), Opus at its lowest rate, about 8 kbps (``opus8``),
   GSM 6.10 at 8 kHz (13 kbps) or µ-law at 8 kHz (``none``: no codec),

and writes them as 16-bit FLAC with ids ``<id><suffix>``, their cut set and the trial
list over the copies.  The two sides of every trial, target trials included, then
come through different channels.  The draw of an utterance depends only on
``cross_channel.seed`` and its id, so a copy is the same whatever the order, the number
of jobs or the other utterances (the codecs are libsndfile's, so the bytes are the same
on one machine and its library versions).

Example:
    >>> cfg = {"seed": 0, "num_rooms": 10, "tilt_db_per_octave": [-4, 4], "snr_db": [5, 20],
    ...        "noise": ["pink"], "codecs": ["gsm"]}
    >>> d = draw_channel("utt1", cfg)
    >>> d == draw_channel("utt1", cfg)
    True
    >>> (d.codec, d.noise, 5 <= d.snr_db <= 20)
    ('gsm', 'pink', True)
"""
from __future__ import annotations

import hashlib
import io
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly

from spkssl.augment.eq import tilt
from spkssl.augment.noise import coloured_noise
from spkssl.augment.rir import random_room, simulate_rir
from spkssl.data.audio import load_cut_audio
from spkssl.data.trials import TrialsError, iter_trials, write_trials
from spkssl.utils.io import atomic_path, write_json_atomic
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress

log = get_logger(__name__)



@dataclass(frozen=True)
class ChannelDraw:
    """The channel of one utterance (every field drawn by :func:`draw_channel`)."""

    room: int  # index into the room bank (:func:`room_bank`)
    tilt_db_per_octave: float
    snr_db: float
    noise: str
    noise_seed: int
    codec: str


def utterance_rng(seed: int, utt_id: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``utt_id``."""
    digest = hashlib.sha256(f"{int(seed)}:{utt_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def draw_channel(utt_id: str, cfg: Mapping[str, Any]) -> ChannelDraw:
    """The channel of ``utt_id`` under the ``data.cross_channel`` settings ``cfg``."""
    for key in ("noise", "codecs"):
        if not cfg[key]:
            raise ValueError(f"data.cross_channel.{key} is empty")
    unknown = [c for c in cfg["codecs"] if c not in CODECS]
    if unknown:
        raise ValueError(f"data.cross_channel.codecs: unknown codec(s) {unknown}; known: {sorted(CODECS)}")
    rng = utterance_rng(int(cfg["seed"]), utt_id)
    return ChannelDraw(
        room=int(rng.integers(int(cfg["num_rooms"]))),
        tilt_db_per_octave=float(rng.uniform(*cfg["tilt_db_per_octave"])),
        snr_db=float(rng.uniform(*cfg["snr_db"])),
        noise=str(cfg["noise"][int(rng.integers(len(cfg["noise"])))]),
        noise_seed=int(rng.integers(2**31)),
        codec=str(cfg["codecs"][int(rng.integers(len(cfg["codecs"])))]),
    )


def room_bank(cfg: Mapping[str, Any], sr: int) -> np.ndarray:
    """``[num_rooms, rir_duration * sr]`` image-method RIRs, room i drawn from ``(seed, "room<i>")`` alone."""
    rirs = []
    for i in range(int(cfg["num_rooms"])):
        room = random_room(utterance_rng(int(cfg["seed"]), f"room{i}"), cfg["rt60"])
        rirs.append(simulate_rir(room.size, room.source, room.mic, room.rt60, sr, float(cfg["rir_duration"])))
    return np.stack(rirs)


def _through(x: np.ndarray, sr: int, fmt: str, subtype: str, **kwargs: Any) -> np.ndarray:
    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1.0, 1.0), sr, format=fmt, subtype=subtype, **kwargs)
    buf.seek(0)
    y, _ = sf.read(buf, dtype="float64")
    return y


def _narrowband(encode: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray, int], np.ndarray]:
    """A codec at 8 kHz: resample down, encode and decode, resample back."""

    def run(x: np.ndarray, sr: int) -> np.ndarray:
        y = encode(resample_poly(x, 8000, sr))
        return resample_poly(y, sr, 8000)

    return run


#: codec name → ``(waveform, sampling rate) → decoded waveform`` of about the same length
CODECS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "none": lambda x, sr: x,
    "opus16": lambda x, sr: _through(x, sr, "OGG", "OPUS", compression_level=0.97),
    "opus8": lambda x, sr: _through(x, sr, "OGG", "OPUS", compression_level=1.0),
    "mp3": lambda x, sr: _through(x, sr, "MP3", "MPEG_LAYER_III", compression_level=0.9),
    "gsm": _narrowband(lambda y: _through(y, 8000, "WAV", "GSM610")),
    "ulaw": _narrowband(lambda y: _through(y, 8000, "WAV", "ULAW")),
}


def apply_channel(x: np.ndarray, sr: int, draw: ChannelDraw, rirs: np.ndarray) -> np.ndarray:
    """``x`` (mono float in [-1, 1]) through the channel ``draw`` (its room from ``rirs``, :func:`room_bank`):
    room, tilt, noise, codec; same length and level."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("cannot pass empty audio through a channel")
    level = float(np.sqrt(np.mean(x**2))) or 1e-4
    y = fftconvolve(x, rirs[draw.room])[: x.size]
    y = tilt(y, sr, draw.tilt_db_per_octave)
    noise = coloured_noise(y.size, draw.noise, np.random.default_rng(draw.noise_seed)).astype(np.float64)
    power = float(np.mean(y**2)) or 1e-12
    y = y + noise * np.sqrt(power / 10.0 ** (draw.snr_db / 10.0) / max(float(np.mean(noise**2)), 1e-12))
    y *= level / (float(np.sqrt(np.mean(y**2))) or 1.0)
    y = CODECS[draw.codec](np.clip(y, -0.99, 0.99), sr)
    out = np.zeros(x.size)
    out[: min(x.size, y.size)] = y[: x.size]
    return out.astype(np.float32)


_ROOMS: dict[int, np.ndarray] = {}  # sampling rate → room bank, set in every worker by _set_rooms


def _set_rooms(rooms: dict[int, np.ndarray]) -> None:
    _ROOMS.clear()
    _ROOMS.update(rooms)


def _copy_one(args: tuple[Any, Path, str, dict[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    """Worker: one cut through its channel into ``audio_dir/<id><suffix>.flac``; ``(new id, path, draw)``."""
    cut, audio_dir, suffix, cfg = args
    new_id = f"{cut.id}{suffix}"
    draw = draw_channel(cut.id, cfg)
    y = apply_channel(load_cut_audio(cut), int(cut.sampling_rate), draw, _ROOMS[int(cut.sampling_rate)])
    path = audio_dir / f"{new_id}.flac"
    tmp = path.with_suffix(".tmp.flac")
    sf.write(tmp, y, int(cut.sampling_rate), subtype="PCM_16")
    tmp.replace(path)
    return new_id, str(path), asdict(draw)


def make_cross_channel(cuts_path: str | Path, trials_path: str | Path, audio_dir: str | Path,
                       cuts_out: str | Path, trials_out: str | Path, cfg: Mapping[str, Any],
                       nj: int = 1) -> dict[str, int]:
    """Copy every utterance of ``trials_path`` through its own channel; write the copies' cuts and trials.

    Args:
        cuts_path: the cut set the trial list's utterances come from.
        trials_path: a Kaldi trial list (``utt1 utt2 target|nontarget``).
        audio_dir: where the FLAC copies go.
        cuts_out: their cut set (ids ``<id><suffix>``, supervisions kept: speakers only measure).
        trials_out: the same trials over the copies.
        cfg: the ``data.cross_channel`` section.
        nj: parallel processes.

    Returns:
        ``{"utterances": ..., "trials": ...}``.

    Raises:
        spkssl.data.trials.TrialsError: a malformed line, or an utterance not in ``cuts_path`` (file:line named).
    """
    from lhotse import CutSet, Recording
    from lhotse.utils import fastcopy

    suffix = str(cfg["suffix"])
    trials = list(iter_trials(trials_path))
    cuts = CutSet.from_file(cuts_path).to_eager()
    index = {c.id: c for c in cuts}
    wanted: dict[str, None] = {}
    for utt1, utt2, _, where in trials:
        for u in (utt1, utt2):
            if u not in index:
                raise TrialsError(f"{where}: utterance '{u}' is not in {cuts_path}")
            wanted[u] = None
    audio_dir = Path(audio_dir)
    audio_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(index[u], audio_dir, suffix, dict(cfg)) for u in wanted]
    rooms = {sr: room_bank(cfg, sr) for sr in sorted({int(index[u].sampling_rate) for u in wanted})}
    _set_rooms(rooms)
    if nj > 1:
        with ProcessPoolExecutor(nj, initializer=_set_rooms, initargs=(rooms,)) as pool:
            done = list(progress(pool.map(_copy_one, jobs, chunksize=16), total=len(jobs), desc="cross-channel copies"))
    else:
        done = [_copy_one(j) for j in progress(jobs, desc="cross-channel copies")]
    copies = []
    for (new_id, path, _), (cut, *_) in zip(done, jobs):
        rec = Recording.from_file(path, recording_id=new_id)
        sups = [fastcopy(s, id=f"{s.id}{suffix}", recording_id=new_id, start=0.0, duration=rec.duration)
                for s in cut.supervisions[:1]]
        copies.append(fastcopy(rec.to_cut(), id=new_id, supervisions=sups))
    with atomic_path(cuts_out) as tmp:
        CutSet.from_cuts(copies).to_file(tmp)
    write_json_atomic(Path(audio_dir) / "channels.json",
                      {"settings": dict(cfg), "channels": {new_id: draw for new_id, _, draw in done}})
    write_trials(trials_out, [(f"{a}{suffix}", f"{b}{suffix}", lab) for a, b, lab, _ in trials])
    log.info("%d utterances of %s through their own channels → %s, %d trials → %s",
             len(copies), trials_path, cuts_out, len(trials), trials_out)
    return {"utterances": len(copies), "trials": len(trials)}
