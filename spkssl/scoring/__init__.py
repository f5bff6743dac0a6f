"""Scoring backends (cosine, AS-norm, LDA+PLDA) and Kaldi-compatible EER/minDCF/DET metrics.

Example:
    >>> from spkssl.scoring.metrics import compute_metrics
"""
