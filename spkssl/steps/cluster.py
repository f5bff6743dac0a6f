"""Step: round r's pseudo speakers from round r-1's training embeddings (``spkssl cluster --exp E --round R``).

The reference experiment (``rounds.round_labels: true_speakers``) writes the true
speakers in the same form instead, without clustering.

Usage (what ``run.sh`` does through the command)::

    stats = cluster_round(Experiment("exp/mini"), 1)
"""
from __future__ import annotations

from typing import Any

from spkssl.cluster.pseudo import make_pseudo_labels, write_true_labels
from spkssl.experiment import Experiment, ExperimentError


def cluster_round(exp: Experiment, r: int, force: bool = False) -> dict[str, Any]:
    """Write round ``r``'s pseudo-label cut set, ``utt2spk``, ``spk2utt`` and statistics; return the statistics.

    Raises:
        ExperimentError: ``r`` is not a round >= 1 of the experiment, or round r-1 has no
            training embeddings yet (the message says what to run).
        ValueError: bad embeddings or cuts (named by the clustering).
    """
    emb_path, cuts_path, out = exp.cluster_paths(r)
    if exp.cfg["rounds"]["round_labels"] == "true_speakers":  # the reference: no clustering
        return write_true_labels(cuts_path, out, force=force)
    if not emb_path.is_file():
        raise ExperimentError(f"round {r - 1} has no training embeddings {emb_path}: "
                              f"run spkssl extract --exp {exp.root} --system round{r - 1} first")
    return make_pseudo_labels(emb_path, cuts_path, out, exp.cfg["cluster"], force=force)
