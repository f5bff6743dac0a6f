"""Benchmark: Kaldi fbank extractors on real speech — ours vs lhotse, torchaudio and kaldi-native-fbank.

On speechocean762 audio, prints each extractor's real-time factor (compute
seconds / audio seconds; audio decoding excluded), its speed relative to the
best of lhotse ``Fbank`` and torchaudio, and the largest absolute difference of
its output from kaldi-native-fbank called directly (plus, for ours, whether
every value is within the tolerance stated in :mod:`spkssl.features.torch_fbank`).
Every extractor gets the same options (80 bins, 25/10 ms, povey window, no
dither, snip_edges false, 20 Hz–Nyquist), the same int16-scaled waveform and
the same thread count; they run in alternation for ``--repeats`` rounds and the
best round of each is reported, so all see the same machine load.

Usage::

    python benchmarks/fbank.py --num-utts 100
    python benchmarks/fbank.py --num-utts 10 --corpus /path/to/speechocean762
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Callable

CORPUS_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "speechocean762",
    Path("/work/shared/data/speechocean762"),
)


def default_corpus() -> Path:
    """The first speechocean762 copy found (beside the repository, then the shared folder)."""
    return next((p for p in CORPUS_CANDIDATES if (p / "test" / "wav.scp").is_file()), CORPUS_CANDIDATES[0])


def load_audio(corpus: Path, num_utts: int, sampling_rate: int):
    """First ``num_utts`` utterances of ``corpus/test/wav.scp`` as float32 arrays."""
    import soundfile as sf

    wav_scp = corpus / "test" / "wav.scp"
    if not wav_scp.is_file():
        raise SystemExit(f"{wav_scp} not found: pass --corpus /path/to/speechocean762")
    out = []
    for line in wav_scp.read_text().splitlines()[:num_utts]:
        x, sr = sf.read(corpus / line.split()[1], dtype="float32")
        if sr != sampling_rate:
            raise SystemExit(f"{line.split()[1]}: {sr} Hz, expected {sampling_rate}")
        out.append(x)
    return out


def make_extractors(c: dict) -> dict[str, Callable]:
    """name → function(float32 waveform in [-1, 1]) → (frames, bins) array, all with the options ``c``."""
    import kaldi_native_fbank as knf
    import numpy as np
    import torch
    from lhotse import Fbank, FbankConfig
    from torchaudio.compliance.kaldi import fbank as ta_fbank

    from spkssl.features.extractor import KnfFbank, TorchFbank
    from spkssl.features.fbank import INT16_SCALE, fbank_options

    sr = c["sampling_rate"]
    ours, exact = TorchFbank.from_config(c), KnfFbank.from_config(c)
    lh = Fbank(FbankConfig(
        sampling_rate=sr, frame_length=c["frame_length_ms"] / 1000,
        frame_shift=c["frame_shift_ms"] / 1000, dither=c["dither"], snip_edges=c["snip_edges"],
        low_freq=c["low_freq"], high_freq=c["high_freq"], num_filters=c["num_mel_bins"],
        window_type=c["window_type"], preemph_coeff=c["preemph_coeff"],
        remove_dc_offset=c["remove_dc_offset"], energy_floor=1e-10,
    ))
    knf_opts = fbank_options(c)

    def torchaudio_fn(x):
        return ta_fbank(
            torch.from_numpy(x * INT16_SCALE)[None], num_mel_bins=c["num_mel_bins"],
            frame_length=c["frame_length_ms"], frame_shift=c["frame_shift_ms"], dither=c["dither"],
            snip_edges=c["snip_edges"], low_freq=c["low_freq"], high_freq=c["high_freq"],
            window_type=c["window_type"], preemphasis_coefficient=c["preemph_coeff"],
            remove_dc_offset=c["remove_dc_offset"], energy_floor=c["energy_floor"],
            sample_frequency=sr, use_energy=False,
        ).numpy()

    def knf_fn(x):  # kaldi-native-fbank called directly, its fastest way from Python
        fb = knf.OnlineFbank(knf_opts)
        fb.accept_waveform(float(sr), (x * INT16_SCALE).tolist())
        fb.input_finished()
        return np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)], dtype=np.float32)

    return {
        "spkssl torch-fbank": lambda x: ours.extract(x, sr),
        "spkssl knf-fbank (exact)": lambda x: exact.extract(x, sr),
        "lhotse Fbank": lambda x: lh.extract(x * INT16_SCALE, sr),
        "torchaudio kaldi.fbank": torchaudio_fn,
        "kaldi-native-fbank": knf_fn,
    }


def within_tolerance(audio, feats, cfg: dict) -> bool:
    """Every value of ``feats`` within :func:`kaldi_tolerance` of the kaldi-native-fbank ``ref``."""
    import numpy as np
    import torch

    from spkssl.features.fbank import INT16_SCALE
    from spkssl.features.torch_fbank import fbank_plan, frames_view, kaldi_tolerance

    plan = fbank_plan(cfg)
    for x, (ours, ref) in zip(audio, feats):
        frames = frames_view(torch.from_numpy(x.astype(np.float64) * INT16_SCALE), plan).numpy()
        energy = np.log(np.maximum((frames ** 2).sum(axis=1), 1e-30))
        if (np.abs(ours.astype(np.float64) - ref) > kaldi_tolerance(ref.astype(np.float64), energy)).any():
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-utts", type=int, default=100, help="utterances to process")
    parser.add_argument("--corpus", type=Path, default=default_corpus(), help="speechocean762 folder")
    parser.add_argument("--threads", type=int, default=1, help="threads for every extractor")
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds (best is reported)")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from spkssl.features.torch_fbank import resolve_fbank_cfg

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    cfg = resolve_fbank_cfg()
    audio = load_audio(args.corpus, args.num_utts, cfg["sampling_rate"])
    total_s = sum(len(x) for x in audio) / cfg["sampling_rate"]
    extractors = make_extractors(cfg)
    best = {name: float("inf") for name in extractors}
    outputs: dict[str, list] = {}
    for name, fn in extractors.items():
        fn(audio[0])  # warm-up (caches, lazy imports)
    for _ in range(args.repeats):
        for name, fn in extractors.items():
            t0 = time.perf_counter()
            outputs[name] = [np.asarray(fn(x), dtype=np.float32) for x in audio]
            best[name] = min(best[name], time.perf_counter() - t0)

    ref = outputs["kaldi-native-fbank"]
    peer = min(best["lhotse Fbank"], best["torchaudio kaldi.fbank"])
    print(f"{len(audio)} utterances, {total_s:.1f} s of audio, {args.threads} thread(s), "
          f"best of {args.repeats} alternating rounds")
    print(f"{'extractor':<26} {'RTF':>9} {'vs best peer':>13} {'max |diff| vs knf':>18}")
    for name in extractors:
        out = outputs[name]
        same = all(a.shape == b.shape for a, b in zip(out, ref))
        diff = max(float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(out, ref)) if same else float("nan")
        note = "" if same else "  (frame counts differ)"
        if name == "spkssl torch-fbank" and same:
            note = "  within stated tolerance" if within_tolerance(audio, zip(out, ref), cfg) else "  TOLERANCE EXCEEDED"
        print(f"{name:<26} {best[name] / total_s:>9.5f} {peer / best[name]:>12.2f}x {diff:>18.3e}{note}")


if __name__ == "__main__":
    main()
