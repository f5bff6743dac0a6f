"""Embedding real speech end to end with a trained model: PyTorch eager vs TorchScript vs ONNX Runtime vs speechbrain.

Every contender decodes each speechocean762 test file (soundfile, Ogg/Opus), computes its
fbank and runs the network, one utterance at a time, on the same number of threads
(torch, ONNX Runtime's intra-op pool and BLAS through threadpoolctl):

- ``spkssl final.pt``: ``spkssl.load_model(final.pt).embed`` — kaldi-native-fbank + CMN + the
  PyTorch network in eager mode (what ``spkssl extract`` / ``spkssl embed`` run);
- ``spkssl graph, eager``: the exported graph (torch fbank + CMN + network) in eager PyTorch;
- ``spkssl TorchScript`` / ``spkssl ONNX Runtime``: ``load_model`` of the files ``spkssl export`` wrote;
- ``speechbrain encode_batch``: speechbrain's ``EncoderClassifier`` with its ECAPA-TDNN of the same
  size (channels 512 ×4 + 1536, attention 128, 192-dim embedding), its ``Fbank`` (80 mel bins) and
  sentence mean normalisation; random weights (only speed is compared; no model is downloaded).

The network is ECAPA-TDNN with the same sizes (``--model ecapa``, the paper's 512 channels) or
the egs/mini TDNN (``--model tdnn``), random weights with random batch-norm statistics.  Rounds
alternate between contenders; each utterance counts with its fastest round for each contender
(on a shared machine, other jobs slow whole rounds unevenly; the fastest of each item is the
least disturbed).  The table gives utterances/s
per core (utterances / seconds / threads), the ratio to PyTorch eager (``spkssl final.pt``), and
each spkssl contender's largest relative embedding difference to it.  ``--log FILE`` appends the
output with the load average before and after.

    python benchmarks/inference.py --num-utts 100 --threads 1 --log benchmarks/results/inference.log
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parents[1]
CORPUS = next((p for p in (REPO.parent / "shared" / "data" / "speechocean762",
                           Path("/work/shared/data/speechocean762")) if (p / "test" / "wav.scp").is_file()), None)
SIZES = {
    "ecapa": {"name": "ecapa", "embed_dim": 192, "pooling": "attentive",
              "kwargs": {"channels": 512, "mfa_channels": 1536, "attention_dim": 128}},
    "tdnn": {"name": "tdnn", "embed_dim": 128, "pooling": "stats", "kwargs": {"channels": 128}},
}


def files(n: int) -> list[Path]:
    lines = (CORPUS / "test" / "wav.scp").read_text().split("\n")
    return [CORPUS / ln.split()[1] for ln in lines if ln.strip()][:n]


def final_model(family: str, out: Path) -> Path:
    from spkssl.config import with_defaults
    from spkssl.models import build_model
    from spkssl.models.io import save_final_model

    torch.manual_seed(0)
    net = build_model(with_defaults("model", SIZES[family]), 80)
    for m in net.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    path = out / "final.pt"
    save_final_model(path, net, {"model": SIZES[family], "features": {"num_mel_bins": 80, "cmn": True}})
    return path


def speechbrain_contender() -> Callable[[np.ndarray], np.ndarray] | str:
    try:
        from speechbrain.inference.speaker import EncoderClassifier
        from speechbrain.lobes.features import Fbank
        from speechbrain.lobes.models.ECAPA_TDNN import ECAPA_TDNN
        from speechbrain.processing.features import InputNormalization
    except ImportError as exc:
        return f"speechbrain not installed ({exc}): pip install speechbrain"
    torch.manual_seed(0)
    mods = {"compute_features": Fbank(n_mels=80), "mean_var_norm": InputNormalization(norm_type="sentence", std_norm=False),
            "embedding_model": ECAPA_TDNN(80, channels=[512, 512, 512, 512, 1536], attention_channels=128,
                                          lin_neurons=192)}
    clf = EncoderClassifier(modules=mods, hparams={})
    clf.eval()

    def run(wave: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return clf.encode_batch(torch.from_numpy(wave)).reshape(-1).numpy()

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-utts", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", choices=sorted(SIZES), default="ecapa")
    args = ap.parse_args()
    if CORPUS is None:
        print("speechocean762 not found beside the repository (../shared/data/speechocean762)")
        return 1
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    import spkssl
    from spkssl.export import export_model
    from spkssl.export.graph import WaveEmbedder

    tmp = Path(tempfile.mkdtemp())
    final = final_model(args.model, tmp)
    ts, ox = export_model(final, "torchscript", tmp / "m.ts"), export_model(final, "onnx", tmp / "m.onnx")
    eager = spkssl.load_model(final)
    graph = WaveEmbedder(eager.engine.network, eager.config["features"], 20.0).eval()

    def graph_run(wave: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return graph(torch.from_numpy(wave)).numpy()

    contenders: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "spkssl final.pt (eager)": lambda w: eager.embed(w, 16000),
        "spkssl graph, eager": graph_run,
        "spkssl TorchScript": (lambda m: lambda w: m.embed(w, 16000))(spkssl.load_model(ts)),
        "spkssl ONNX Runtime": (lambda m: lambda w: m.embed(w, 16000))(spkssl.load_model(ox)),
    }
    sb = speechbrain_contender()
    if isinstance(sb, str):
        print(sb)
    elif args.model == "ecapa":
        contenders["speechbrain encode_batch"] = sb
    paths = files(args.num_utts)
    seconds = sum(sf.info(p).duration for p in paths)
    ref = [eager.embed(sf.read(p, dtype="float32")[0], 16000) for p in paths[:10]]
    diffs = {name: max(float(np.linalg.norm(f(sf.read(p, dtype="float32")[0]) - r) / np.linalg.norm(r))
                       for p, r in zip(paths, ref)) for name, f in contenders.items() if name.startswith("spkssl")}
    per_utt = {name: np.full(len(paths), np.inf) for name in contenders}
    for _ in range(args.rounds):
        for name, f in contenders.items():
            for i, p in enumerate(paths):
                t0 = time.perf_counter()
                f(sf.read(p, dtype="float32")[0])  # decode + fbank + network
                per_utt[name][i] = min(per_utt[name][i], time.perf_counter() - t0)
    best = {name: float(t.sum()) for name, t in per_utt.items()}
    base = best["spkssl final.pt (eager)"]
    print(f"{len(paths)} speechocean762 test utterances ({seconds:.1f} s of Ogg/Opus audio), model {args.model} "
          f"({sum(p.numel() for p in eager.engine.network.parameters()) / 1e6:.2f} M parameters), "
          f"{args.threads} thread(s), each utterance's fastest of {args.rounds} alternating rounds")
    print(f"{'contender':28s} {'utts/s/core':>12s} {'vs eager':>9s} {'max rel. diff':>14s}")
    for name, t in best.items():
        rate = len(paths) / t / args.threads
        d = f"{diffs[name]:.1e}" if name in diffs else "-"
        print(f"{name:28s} {rate:12.1f} {base / t:8.2f}x {d:>14s}")
    onnx_ratio = base / best["spkssl ONNX Runtime"]
    print(f"ONNX Runtime vs PyTorch eager: {onnx_ratio:.2f}x (goal >= 1.5x: {'met' if onnx_ratio >= 1.5 else 'MISSED'})")
    if "speechbrain encode_batch" in best:
        r = best["speechbrain encode_batch"] / best["spkssl ONNX Runtime"]
        print(f"ONNX Runtime vs speechbrain encode_batch: {r:.2f}x ({'ahead' if r > 1 else 'BEHIND'})")
    return 0


def logged(argv: list[str], log: Path) -> int:
    """Run this script with ``argv`` and append its output, the commit and the load average to ``log``."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True)
    after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = proc.stdout
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"\n# {stamp} (code at {commit}); load average before: {before}\n"
                f"$ python benchmarks/inference.py {' '.join(argv)}\n{out}"
                f"# exit status {proc.returncode}; load average after: {after}\n")
    sys.stdout.write(out)
    sys.stderr.write(proc.stderr[-3000:] if proc.returncode else "")
    return proc.returncode


if __name__ == "__main__":
    if "--log" in sys.argv:
        i = sys.argv.index("--log")
        sys.exit(logged(sys.argv[1:i] + sys.argv[i + 2:], Path(sys.argv[i + 1])))
    sys.exit(main())
