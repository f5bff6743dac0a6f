"""Benchmark: cosine scoring of 1M trials and our EER/minDCF vs. a scikit-learn roc_curve computation.

Generates Gaussian "speaker" embeddings and a random trial list (10 % targets),
times vectorised cosine scoring, then times :func:`spkssl.scoring.metrics.compute_metrics`
against the same metrics from ``sklearn.metrics.roc_curve`` and checks they agree.

Usage::

    python benchmarks/scoring.py                      # 1,000,000 trials
    python benchmarks/scoring.py --num-trials 20000   # quick check
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def sklearn_metrics(scores: np.ndarray, labels: np.ndarray, p_targets=(0.01, 0.05)) -> dict[str, float]:
    """ROC-crossing EER (%) and minDCF from scikit-learn's roc_curve."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1.0 - tpr
    d = fnr - fpr
    i = int(np.flatnonzero(d <= 0)[0])
    w = d[i - 1] / (d[i - 1] - d[i]) if d[i] != 0 else 1.0
    out = {"eer_roc": 100.0 * (fpr[i - 1] + w * (fpr[i] - fpr[i - 1]))}
    for p in p_targets:
        out[f"mindcf_{p:g}"] = float(np.min(p * fnr + (1 - p) * fpr) / min(p, 1 - p))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-trials", type=int, default=1_000_000)
    ap.add_argument("--num-speakers", type=int, default=1000)
    ap.add_argument("--utts-per-speaker", type=int, default=10)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from spkssl.scoring.cosine import cosine_scores
    from spkssl.scoring.metrics import compute_metrics
    import sklearn.metrics  # noqa: F401 - import outside the timed region

    rng = np.random.default_rng(args.seed)
    spk = np.repeat(np.arange(args.num_speakers), args.utts_per_speaker)
    emb = (rng.normal(size=(args.num_speakers, args.dim))[spk]
           + 2.0 * rng.normal(size=(spk.size, args.dim))).astype(np.float32)
    n_tgt = args.num_trials // 10
    a = rng.integers(0, spk.size, size=args.num_trials)
    b = rng.integers(0, spk.size, size=args.num_trials)
    same = rng.integers(0, args.utts_per_speaker, size=n_tgt)  # targets: another utt of a's speaker
    b[:n_tgt] = spk[a[:n_tgt]] * args.utts_per_speaker + same
    labels = spk[a] == spk[b]
    print(f"{args.num_trials} trials ({int(labels.sum())} target), {spk.size} embeddings of dim {args.dim}")

    t0 = time.perf_counter()
    scores = cosine_scores(emb, emb, a, b, emb.mean(axis=0))
    t_cos = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = compute_metrics(scores, labels)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = sklearn_metrics(scores, labels)
    t_sk = time.perf_counter() - t0

    print(f"cosine scoring:          {t_cos:8.3f} s")
    print(f"spkssl compute_metrics:  {t_ours:8.3f} s  (EER Kaldi {ours['eer_kaldi']:.4f}%, "
          f"ROC {ours['eer_roc']:.4f}%, minDCF0.01 {ours['mindcf_0.01']:.4f}, 0.05 {ours['mindcf_0.05']:.4f})")
    print(f"sklearn roc_curve-based: {t_sk:8.3f} s  (EER ROC {ref['eer_roc']:.4f}%, "
          f"minDCF0.01 {ref['mindcf_0.01']:.4f}, 0.05 {ref['mindcf_0.05']:.4f})")
    ok = all(abs(ours[k] - v) <= 1e-6 * max(1.0, abs(v)) for k, v in ref.items())
    step = 100.0 / min(labels.sum(), (~labels).sum())
    ok &= abs(ours["eer_kaldi"] - ours["eer_roc"]) <= step + 1e-9
    print("agreement:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
