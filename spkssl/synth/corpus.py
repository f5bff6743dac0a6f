"""Write a synthetic multi-speaker corpus: wav files, Kaldi data dirs and a trial list.

The layout matches the real corpus beside the project (speechocean762), so the
recipe imports either with ``spkssl prepare kaldi-dir``::

    OUT_DIR/wav/<spk>/<utt>.wav          16-bit PCM
    OUT_DIR/{train,test}/wav.scp         paths relative to OUT_DIR
    OUT_DIR/{train,test}/{utt2spk,spk2utt,spk2gender}
    OUT_DIR/trials/test.trials           ``utt1 utt2 target|nontarget``
    OUT_DIR/synth.json                   the spec and every speaker's voice

Train and test speakers are disjoint.  Every speaker, utterance and the trial
list draw from their own generator seeded by ``(seed, kind, index...)``, so the
same seed gives identical bytes, and a speaker's voice does not depend on how
many speakers or utterances are generated.  For the same reason utterances can be
synthesised by several processes (``num_jobs``) without changing a byte.

Example:
    >>> import tempfile
    >>> summary = generate_corpus(tempfile.mkdtemp(), CorpusSpec(
    ...     num_train_speakers=2, num_test_speakers=2, utts_per_speaker=2,
    ...     min_seconds=1, max_seconds=1), progress=False)
    >>> summary["num_utterances"], summary["num_trials"]
    (8, 6)
"""
from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import soundfile as sf

from spkssl.config import section_defaults
from spkssl.data.trials import make_trials  # noqa: F401  (re-exported for callers of spkssl.synth)
from spkssl.synth.utterance import UtteranceConfig, synthesize_utterance
from spkssl.synth.voice import Voice, sample_voice
from spkssl.utils.io import atomic_path, write_json_atomic, write_text_atomic
from spkssl.utils.logging import get_logger
from spkssl.utils.progress import progress as bar

log = get_logger(__name__)

# Seed-sequence "kinds", so voices, utterances and trials never share a stream.
_VOICE, _UTTERANCE, _TRIALS = 0, 1, 2


@dataclass(frozen=True)
class CorpusSpec:
    """What to generate; a field left as None takes its value from ``spkssl/configs/synth.yaml``.

    Attributes:
        num_train_speakers: speakers in ``train/`` (ids ``spk0001`` ...).
        num_test_speakers: other speakers in ``test/`` (ids continue after train's).
        utts_per_speaker: utterances per speaker.
        min_seconds: shortest utterance.
        max_seconds: longest utterance (durations are uniform in between).
        sampling_rate: Hz.
        seed: everything is a function of this.
        trials_per_target: nontarget trials per target trial in ``test.trials``.
        max_target_trials: sample this many target pairs (``None``: all pairs).
    """

    num_train_speakers: int | None = None
    num_test_speakers: int | None = None
    utts_per_speaker: int | None = None
    min_seconds: float | None = None
    max_seconds: float | None = None
    sampling_rate: int | None = None
    seed: int | None = None
    trials_per_target: int | None = None
    max_target_trials: int | None = None

    def __post_init__(self) -> None:
        """Fields left as None take ``spkssl/configs/synth.yaml`` (``max_target_trials`` may stay None)."""
        defaults = section_defaults("synth")
        for f in fields(self):
            if getattr(self, f.name) is None:
                object.__setattr__(self, f.name, defaults[f.name])  # frozen: set once, here

    @classmethod
    def from_config(cls, synth_cfg: Mapping[str, Any]) -> "CorpusSpec":
        """From a (partial) ``synth`` config section."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(synth_cfg) - known)
        if unknown:
            raise ValueError(f"unknown synth option(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(synth_cfg))

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.num_train_speakers < 0 or self.num_test_speakers < 2:
            raise ValueError("need num_train_speakers >= 0 and num_test_speakers >= 2 "
                             f"(got {self.num_train_speakers}, {self.num_test_speakers})")
        if self.num_train_speakers + self.num_test_speakers > 9999:
            raise ValueError("at most 9999 speakers in total (ids are spk0001..spk9999)")
        if not 2 <= self.utts_per_speaker <= 9999:
            raise ValueError(f"utts_per_speaker must be in [2, 9999], got {self.utts_per_speaker}")
        if not 0.5 <= self.min_seconds <= self.max_seconds:
            raise ValueError("need 0.5 <= min_seconds <= max_seconds "
                             f"(got {self.min_seconds}, {self.max_seconds})")
        if self.sampling_rate < 8000:
            raise ValueError(f"sampling_rate must be >= 8000 Hz, got {self.sampling_rate}")
        if self.trials_per_target < 0:
            raise ValueError(f"trials_per_target must be >= 0, got {self.trials_per_target}")
        if self.max_target_trials is not None and self.max_target_trials < 1:
            raise ValueError(f"max_target_trials must be >= 1, got {self.max_target_trials}")


def speaker_id(index: int) -> str:
    """Speaker id for a 0-based global index (``0 -> 'spk0001'``)."""
    return f"spk{index + 1:04d}"


def utterance_id(spk: str, index: int) -> str:
    """Speaker-prefixed, sortable utterance id (``('spk0003', 6) -> 'spk0003-utt0007'``)."""
    return f"{spk}-utt{index + 1:04d}"


def corpus_voices(spec: CorpusSpec) -> tuple[list[Voice], list[Voice]]:
    """The train and test speakers' voices (test ids continue after train's)."""
    voices = [
        sample_voice(np.random.default_rng([spec.seed, _VOICE, i]), speaker_id(i))
        for i in range(spec.num_train_speakers + spec.num_test_speakers)
    ]
    return voices[: spec.num_train_speakers], voices[spec.num_train_speakers :]


def utterance_audio(
    spec: CorpusSpec, voice_index: int, voice: Voice, utt_index: int,
    cfg: UtteranceConfig | None = None,
) -> np.ndarray:
    """The int16 samples of one corpus utterance (what :func:`generate_corpus` writes)."""
    rng = np.random.default_rng([spec.seed, _UTTERANCE, voice_index, utt_index])
    duration = float(rng.uniform(spec.min_seconds, spec.max_seconds))
    x = synthesize_utterance(voice, rng, duration, spec.sampling_rate, cfg)
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def default_num_jobs() -> int:
    """The number of CPU cores this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _write_utterance(task: tuple[Path, CorpusSpec, UtteranceConfig | None, int, Voice, int]) -> tuple[str, int]:
    """Synthesise one utterance and write its wav atomically; return ``(relative path, samples)``."""
    out, spec, cfg, voice_index, voice, u = task
    samples = utterance_audio(spec, voice_index, voice, u, cfg)
    rel = f"wav/{voice.speaker_id}/{utterance_id(voice.speaker_id, u)}.wav"
    with atomic_path(out / rel) as tmp:
        sf.write(tmp, samples, spec.sampling_rate, subtype="PCM_16", format="WAV")
    return rel, len(samples)


def _pool(processes: int) -> Any:
    """A process pool; forked where possible, since a spawned worker spends seconds importing scipy.

    Forking is safe here: the pool is made before the progress bar starts its
    monitor thread, and the workers only run numpy/scipy/soundfile code.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn").Pool(processes)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


def write_kaldi_dir(
    data_dir: Path, wav_paths: dict[str, str], utt2spk: dict[str, str], voices: list[Voice]
) -> None:
    """Write ``wav.scp``, ``utt2spk``, ``spk2utt``, ``spk2gender`` (sorted, atomically)."""
    spk2utt: dict[str, list[str]] = {}
    for utt in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[utt], []).append(utt)
    _write_lines(data_dir / "wav.scp", (f"{u} {wav_paths[u]}" for u in sorted(wav_paths)))
    _write_lines(data_dir / "utt2spk", (f"{u} {utt2spk[u]}" for u in sorted(utt2spk)))
    _write_lines(data_dir / "spk2utt", (f"{s} {' '.join(us)}" for s, us in sorted(spk2utt.items())))
    _write_lines(data_dir / "spk2gender", (f"{v.speaker_id} {v.gender}" for v in voices))


def generate_corpus(
    out_dir: str | Path,
    spec: CorpusSpec | None = None,
    cfg: UtteranceConfig | None = None,
    progress: bool = True,
    num_jobs: int | None = 1,
) -> dict[str, Any]:
    """Generate the whole corpus under ``out_dir`` and return a summary dict.

    Wav files are written first, each atomically; the lists, trials and
    ``synth.json`` are written last, so an interrupted run never leaves a
    ``wav.scp`` naming a missing file.  Rerunning overwrites in place.

    Args:
        out_dir: the corpus root (created if missing).
        spec: what to generate (default :class:`CorpusSpec`).
        cfg: per-utterance variation ranges (default :class:`UtteranceConfig`).
        progress: show a progress bar.
        num_jobs: worker processes synthesising utterances (``None``: one per CPU
            core); the output is byte-identical for any value.

    Raises:
        ValueError: for an invalid ``spec`` or ``num_jobs < 1``.
    """
    spec = spec or CorpusSpec()
    spec.validate()
    jobs = default_num_jobs() if num_jobs is None else num_jobs
    if jobs < 1:
        raise ValueError(f"num_jobs must be >= 1, got {num_jobs}")
    out = Path(out_dir)
    start = time.perf_counter()
    train_voices, test_voices = corpus_voices(spec)
    sets = {"train": train_voices, "test": test_voices}
    total = (len(train_voices) + len(test_voices)) * spec.utts_per_speaker
    log.info("synthesising %d speakers x %d utterances (%.1f-%.1f s, %d Hz, seed %d) into %s "
             "with %d process(es)", len(train_voices) + len(test_voices), spec.utts_per_speaker,
             spec.min_seconds, spec.max_seconds, spec.sampling_rate, spec.seed, out, jobs)
    tasks = [(out, spec, cfg, index, voice, u)
             for index, voice in enumerate(train_voices + test_voices)
             for u in range(spec.utts_per_speaker)]
    listing: dict[str, tuple[dict[str, str], dict[str, str]]] = {
        name: ({}, {}) for name in sets}
    test_ids = {v.speaker_id for v in test_voices}
    seconds = 0.0
    pool = _pool(min(jobs, total)) if jobs > 1 and total > 1 else None
    with bar(total=total, desc="synth", unit="utt", enabled=progress) as pbar:
        try:
            results = (pool.imap(_write_utterance, tasks, chunksize=4) if pool is not None
                       else map(_write_utterance, tasks))
            for (_, _, _, _, voice, u), (rel, n_samples) in zip(tasks, results):
                wav_paths, utt2spk = listing["test" if voice.speaker_id in test_ids else "train"]
                utt = utterance_id(voice.speaker_id, u)
                wav_paths[utt], utt2spk[utt] = rel, voice.speaker_id
                seconds += n_samples / spec.sampling_rate
                pbar.update(1)
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()

    for name, voices in sets.items():
        write_kaldi_dir(out / name, *listing[name], voices)
    test_spk2utt: dict[str, list[str]] = {}
    for utt, spk in sorted(listing["test"][1].items()):
        test_spk2utt.setdefault(spk, []).append(utt)
    trials = make_trials(test_spk2utt, np.random.default_rng([spec.seed, _TRIALS]),
                         spec.trials_per_target, spec.max_target_trials)
    _write_lines(out / "trials" / "test.trials", (" ".join(t) for t in trials))
    n_target = sum(t[2] == "target" for t in trials)
    summary = {
        "num_utterances": total,
        "num_trials": len(trials),
        "num_target_trials": n_target,
        "hours": round(seconds / 3600.0, 4),
    }
    write_json_atomic(out / "synth.json", {
        "spec": asdict(spec),
        "utterance_config": asdict(cfg or UtteranceConfig()),
        "summary": summary,
        "speakers": {n: [v.to_dict() for v in vs] for n, vs in sets.items()},
    })
    log.info("wrote %d utterances (%.2f h) and %d trials (%d target) in %.1f s",
             total, seconds / 3600.0, len(trials), n_target, time.perf_counter() - start)
    return summary
