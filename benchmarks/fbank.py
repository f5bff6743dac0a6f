"""Benchmark: our knf-fbank extractor vs lhotse's ``Fbank`` vs ``torchaudio.compliance.kaldi.fbank``.

On real speechocean762 audio, prints each extractor's real-time factor (compute
seconds / audio seconds; audio decoding excluded) and the largest absolute
difference of its output from ours.  All three get the same options (80 bins,
25/10 ms, povey window, no dither, snip_edges false, 20 Hz–Nyquist) and the same
int16-scaled waveform, so differences are numerical only.

Usage::

    python benchmarks/fbank.py --num-utts 20
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from spkssl.features.extractor import KnfFbank
from spkssl.features.fbank import DEFAULT_FBANK, INT16_SCALE

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "speechocean762"


def load_audio(corpus: Path, num_utts: int) -> list[np.ndarray]:
    """First ``num_utts`` utterances of ``corpus/test/wav.scp`` as float32 arrays."""
    lines = (corpus / "test" / "wav.scp").read_text().splitlines()[:num_utts]
    out = []
    for line in lines:
        x, sr = sf.read(corpus / line.split()[1], dtype="float32")
        if sr != DEFAULT_FBANK["sampling_rate"]:
            raise SystemExit(f"{line.split()[1]}: {sr} Hz, expected {DEFAULT_FBANK['sampling_rate']}")
        out.append(x)
    return out


def make_extractors() -> dict[str, callable]:
    """name → function(float32 waveform in [-1, 1]) → (frames, 80) ndarray, all with equal options."""
    from lhotse import Fbank, FbankConfig
    from torchaudio.compliance.kaldi import fbank as ta_fbank

    c = DEFAULT_FBANK
    ours = KnfFbank.from_config(c)
    lh = Fbank(FbankConfig(
        sampling_rate=c["sampling_rate"], frame_length=c["frame_length_ms"] / 1000,
        frame_shift=c["frame_shift_ms"] / 1000, dither=c["dither"], snip_edges=c["snip_edges"],
        low_freq=c["low_freq"], high_freq=c["high_freq"], num_filters=c["num_mel_bins"],
        window_type=c["window_type"], preemph_coeff=c["preemph_coeff"],
        remove_dc_offset=c["remove_dc_offset"], energy_floor=1e-10,
    ))

    def torchaudio_fn(x: np.ndarray) -> np.ndarray:
        return ta_fbank(
            torch.from_numpy(x * INT16_SCALE)[None], num_mel_bins=c["num_mel_bins"],
            frame_length=c["frame_length_ms"], frame_shift=c["frame_shift_ms"], dither=c["dither"],
            snip_edges=c["snip_edges"], low_freq=c["low_freq"], high_freq=c["high_freq"],
            window_type=c["window_type"], preemphasis_coefficient=c["preemph_coeff"],
            remove_dc_offset=c["remove_dc_offset"], energy_floor=c["energy_floor"],
            sample_frequency=c["sampling_rate"], use_energy=False,
        ).numpy()

    return {
        "spkssl knf-fbank": lambda x: ours.extract(x, c["sampling_rate"]),
        "lhotse Fbank": lambda x: lh.extract(x * INT16_SCALE, c["sampling_rate"]),
        "torchaudio kaldi.fbank": torchaudio_fn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-utts", type=int, default=100, help="utterances to process")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="speechocean762 folder")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    audio = load_audio(args.corpus, args.num_utts)
    total_s = sum(len(x) for x in audio) / DEFAULT_FBANK["sampling_rate"]
    outputs: dict[str, list[np.ndarray]] = {}
    print(f"{len(audio)} utterances, {total_s:.1f} s of audio")
    print(f"{'extractor':<24} {'RTF':>10} {'max |diff| vs ours':>20}")
    for name, fn in make_extractors().items():
        fn(audio[0])  # warm-up
        t0 = time.perf_counter()
        outputs[name] = [np.asarray(fn(x), dtype=np.float32) for x in audio]
        rtf = (time.perf_counter() - t0) / total_s
        ref = outputs["spkssl knf-fbank"]
        shapes_ok = all(a.shape == b.shape for a, b in zip(outputs[name], ref))
        diff = (max(float(np.max(np.abs(a - b))) for a, b in zip(outputs[name], ref))
                if shapes_ok else float("nan"))
        note = "" if shapes_ok else "  (frame counts differ)"
        print(f"{name:<24} {rtf:>10.5f} {diff:>20.3e}{note}")


if __name__ == "__main__":
    main()
