"""Any audio a user holds becomes the model's input: files, folders, wav.scp, Kaldi dirs, Lhotse manifests; errors name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spkssl.inference.audio import AudioError, prepare_audio
from spkssl.inference.sources import collect_items
from spkssl.inference.vad import apply_vad

CFG = {"channel": None, "resample": True}
VAD = {"name": "energy", "energy_threshold": 5.5, "energy_mean_scale": 0.5, "frames_context": 2,
       "proportion_threshold": 0.12}


def _tone(seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_every_kind_of_input(tmp_path: Path) -> None:
    (tmp_path / "kaldi").mkdir()
    (tmp_path / "wav" / "s1").mkdir(parents=True)
    sf.write(tmp_path / "wav" / "s1" / "u1.wav", _tone(1.0, 16000), 16000)
    sf.write(tmp_path / "wav" / "u2.flac", np.stack([_tone(0.5, 8000), _tone(0.5, 8000)], 1), 8000)
    sf.write(tmp_path / "single.ogg", _tone(0.5, 16000), 16000)
    (tmp_path / "kaldi" / "wav.scp").write_text(f"rec1 wav/s1/u1.wav\nrec2 cat {tmp_path}/wav/u2.flac |\n")
    (tmp_path / "kaldi" / "segments").write_text("seg1 rec1 0.0 0.5\nseg2 rec1 0.5 1.0\n")
    from lhotse import CutSet, Recording

    CutSet.from_manifests(recordings=[Recording.from_file(tmp_path / "single.ogg", recording_id="lh1")]).to_file(
        tmp_path / "cuts.jsonl.gz")
    items = collect_items([tmp_path / "wav", tmp_path / "kaldi", tmp_path / "single.ogg", tmp_path / "cuts.jsonl.gz"])
    assert [i.id for i in items] == ["s1/u1", "u2", "seg1", "seg2", "single", "lh1-0"]
    samples, rate = items[1].read()
    assert samples.shape == (2, 4000) and rate == 8000
    assert items[2].read()[0].shape == (1, 8000) and items[3].duration == pytest.approx(0.5)
    assert prepare_audio(samples, rate, 16000, CFG, "u2").shape == (8000,)


def test_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "notaudio.wav").write_text("hello")
    with pytest.raises(AudioError, match=r"notaudio\.wav: cannot read audio"):
        collect_items([tmp_path / "notaudio.wav"])
    with pytest.raises(AudioError, match=r"missing\.flac: no such"):
        collect_items([tmp_path / "missing.flac"])
    sf.write(tmp_path / "a.wav", _tone(0.2, 16000), 16000)
    (tmp_path / "x").mkdir()
    sf.write(tmp_path / "x" / "a.wav", _tone(0.2, 16000), 16000)
    with pytest.raises(AudioError, match="utterance id 'a' given twice"):
        collect_items([tmp_path / "a.wav", tmp_path / "x"])
    with pytest.raises(AudioError, match=r"b\.wav: audio at 8000 Hz, the model expects 16000 Hz"):
        prepare_audio(_tone(0.2, 8000), 8000, 16000, {"channel": None, "resample": False}, "b.wav")
    with pytest.raises(AudioError, match=r"c\.wav: has 1 channel"):
        prepare_audio(_tone(0.2, 16000), 16000, 16000, {"channel": 1, "resample": True}, "c.wav")


def test_energy_vad_keeps_speech_and_refuses_silence(speechocean_dir: Path) -> None:
    item = collect_items([speechocean_dir / "test"])[0]
    wave = prepare_audio(*item.read(), 16000, CFG, item.where)
    padded = np.concatenate([np.zeros(16000, np.float32), wave, np.zeros(16000, np.float32)])
    kept = apply_vad(padded, 16000, VAD, item.where)
    assert wave.size * 0.3 < kept.size <= wave.size + 1600  # the two seconds of silence are gone
    assert apply_vad(padded, 16000, {**VAD, "name": "none"}, item.where) is padded
    with pytest.raises(AudioError, match=r"silent\.wav: no speech left after energy VAD"):
        apply_vad(np.zeros(16000, np.float32), 16000, VAD, "silent.wav")


def test_silero_vad_when_installed(speechocean_dir: Path) -> None:
    pytest.importorskip("silero_vad", reason="infer.vad.name=silero needs pip install silero-vad (the [vad] extra)")
    item = collect_items([speechocean_dir / "test"])[0]
    wave = prepare_audio(*item.read(), 16000, CFG, item.where)
    padded = np.concatenate([np.zeros(16000, np.float32), wave, np.zeros(16000, np.float32)])
    kept = apply_vad(padded, 16000, {**VAD, "name": "silero", "silero_threshold": 0.5}, item.where)
    assert wave.size * 0.3 < kept.size < wave.size + 1600
