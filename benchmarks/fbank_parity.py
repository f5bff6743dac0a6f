"""Stored fbank vs kaldi-native-fbank computed directly on the same audio.

Prints the largest absolute difference over the first ``--num`` cuts of a cut set
written by ``spkssl compute-fbank`` (0 means the stored features are exact).

Usage::

    cd egs/speechocean762   # stored feature paths are relative to the recipe folder
    python ../../benchmarks/fbank_parity.py data/manifests/train_cuts_fbank.jsonl.gz \
        --config exp/cpu/config.yaml --num 20
"""
from __future__ import annotations

import argparse

import kaldi_native_fbank as knf
import numpy as np
from lhotse import CutSet

from spkssl.config import load_defaults, load_resolved
from spkssl.features.fbank import INT16_SCALE, fbank_options


def direct_fbank(samples: np.ndarray, sampling_rate: int, cfg: dict) -> np.ndarray:
    """kaldi-native-fbank called directly (no spkssl feature code in between)."""
    fb = knf.OnlineFbank(fbank_options(cfg))
    fb.accept_waveform(float(sampling_rate), (samples * INT16_SCALE).astype(np.float32))
    fb.input_finished()
    return np.stack([np.asarray(fb.get_frame(i)) for i in range(fb.num_frames_ready)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cuts", help="cut set with stored features")
    parser.add_argument("--config", default=None, help="resolved config.yaml (default: package defaults)")
    parser.add_argument("--num", type=int, default=20)
    args = parser.parse_args()
    cfg = (load_resolved(args.config) if args.config else load_defaults())["features"]
    worst = 0.0
    n = 0
    for cut in CutSet.from_file(args.cuts).subset(first=args.num):
        stored = cut.load_features()
        direct = direct_fbank(cut.load_audio()[0], cut.sampling_rate, cfg)
        if stored.shape != direct.shape:
            raise SystemExit(f"cut {cut.id}: stored {stored.shape} vs direct {direct.shape}")
        worst = max(worst, float(np.abs(stored - direct).max()))
        n += 1
    print(f"{n} cuts: max |stored - kaldi-native-fbank direct| = {worst:g}")


if __name__ == "__main__":
    main()
