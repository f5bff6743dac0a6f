"""Benchmark: cosine scoring of 1M trials and our EER/minDCF vs. a scikit-learn roc_curve computation.

Generates Gaussian "speaker" embeddings and a random trial list (10 % targets),
times vectorised cosine scoring, then times :func:`spkssl.scoring.metrics.compute_metrics`
against the same metrics from ``sklearn.metrics.roc_curve`` on the same scores,
each ``--repeats`` times in alternation (best time reported), with the same
thread limit for both.  Exits non-zero unless the values agree to ``--rtol``
(scikit-learn computes ``1 - tpr`` where Kaldi counts misses, so the last bit
of a minDCF may differ) and Kaldi's EER is within one trial step of the ROC EER.

Usage::

    python benchmarks/scoring.py                      # 1,000,000 trials
    python benchmarks/scoring.py --num-trials 20000   # quick check
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def sklearn_metrics(scores, labels, p_targets=(0.01, 0.05)) -> dict[str, float]:
    """ROC-crossing EER (%) and minDCF from scikit-learn's roc_curve."""
    import numpy as np
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


def best_time(fn, repeats: int):
    """``(best seconds, last result)`` over ``repeats`` calls."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--num-trials", type=int, default=1_000_000)
    ap.add_argument("--num-speakers", type=int, default=1000)
    ap.add_argument("--utts-per-speaker", type=int, default=10)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads for every contender")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per contender (best is reported)")
    ap.add_argument("--rtol", type=float, default=1e-12, help="allowed relative difference to scikit-learn")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    from threadpoolctl import threadpool_limits

    from spkssl.scoring.cosine import cosine_scores
    from spkssl.scoring.metrics import compute_metrics
    import sklearn.metrics  # noqa: F401 - import outside the timed region

    threadpool_limits(args.threads)
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
    print(f"{args.num_trials} trials ({int(labels.sum())} target), {spk.size} embeddings of dim {args.dim}; "
          f"{args.threads} threads, best of {args.repeats}")

    t_cos, scores = best_time(lambda: cosine_scores(emb, emb, a, b, emb.mean(axis=0)), 1)
    t_ours, t_sk = float("inf"), float("inf")
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        t, ours = best_time(lambda: compute_metrics(scores, labels), 1)
        t_ours = min(t_ours, t)
        t, ref = best_time(lambda: sklearn_metrics(scores, labels), 1)
        t_sk = min(t_sk, t)

    print(f"cosine scoring:          {t_cos:8.3f} s")
    print(f"spkssl compute_metrics:  {t_ours:8.3f} s  (EER Kaldi {ours['eer_kaldi']:.4f}%, "
          f"ROC {ours['eer_roc']:.4f}%, minDCF0.01 {ours['mindcf_0.01']:.4f}, 0.05 {ours['mindcf_0.05']:.4f})")
    print(f"sklearn roc_curve-based: {t_sk:8.3f} s  (EER ROC {ref['eer_roc']:.4f}%, "
          f"minDCF0.01 {ref['mindcf_0.01']:.4f}, 0.05 {ref['mindcf_0.05']:.4f})")
    print(f"speed-up vs sklearn:     {t_sk / t_ours:8.2f}x")
    diff = {k: abs(ours[k] - v) for k, v in ref.items()}
    print("max |ours - sklearn|:    " + ", ".join(f"{k} {d:.1e}" for k, d in diff.items()))
    ok = all(d <= args.rtol * max(1.0, abs(ref[k])) for k, d in diff.items())
    step = 100.0 / min(labels.sum(), (~labels).sum())
    ok &= abs(ours["eer_kaldi"] - ours["eer_roc"]) <= step + 1e-9
    print("agreement:", "OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
