"""Pseudo-label outputs of one round: cut set, Kaldi utt2spk/spk2utt and cluster_stats.json.

:func:`make_pseudo_labels` is the stage behind ``spkssl cluster``: it reads the
embeddings and the training cut set, checks that both cover exactly the same
utterance ids, clusters, and writes into ``out_dir`` (the corpus manifests are
never touched):

* ``cuts.jsonl.gz`` - the kept cuts, ids unchanged, supervisions' ``speaker``
  replaced by ``pseudo00042``-style ids;
* ``utt2spk`` / ``spk2utt`` - the same labels in Kaldi form (sorted, ``LC_ALL=C``);
* ``cluster_stats.json`` - K, sizes, inertia, kept fraction, method, parameters,
  time and, when the cuts carry true speakers, NMI/ARI/purity measured over all
  utterances before purification and over the kept ones (reporting only).

Every file is written atomically and ``cluster_stats.json`` last, so its
presence marks a finished stage.

Example:
    >>> make_pseudo_labels("exp/x/round0/embeddings/train/embeddings.npz",
    ...                    "data/manifests/train_cuts.jsonl.gz", "exp/x/round1/pseudo",
    ...                    {"num_clusters": 125})  # doctest: +SKIP
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from lhotse import CutSet, SupervisionSegment
from lhotse.utils import fastcopy

from spkssl.cluster.metrics import cluster_quality
from spkssl.cluster.pipeline import ClusterError, ClusterOutcome, cluster_embeddings, resolve_cluster_cfg
from spkssl.embed.io import read_embeddings
from spkssl.utils.io import atomic_path, write_json_atomic, write_text_atomic
from spkssl.utils.logging import get_logger

log = get_logger(__name__)

OUTPUT_FILES = ("cuts.jsonl.gz", "utt2spk", "spk2utt", "cluster_stats.json")


def pseudo_id(label: int, width: int = 5) -> str:
    """``42`` → ``"pseudo00042"``."""
    return f"pseudo{int(label):0{width}d}"


def outputs_complete(out_dir: str | Path) -> bool:
    """True when every pseudo-label output exists (the stats file is written last)."""
    return all((Path(out_dir) / f).is_file() for f in OUTPUT_FILES)


def align_embeddings(
    cut_ids: Sequence[str], emb_ids: Sequence[str], emb: np.ndarray, *, cuts_path: str = "cuts",
    emb_path: str = "embeddings",
) -> np.ndarray:
    """Rows of ``emb`` reordered to ``cut_ids``; a missing or extra id is an error naming it."""
    index = {u: i for i, u in enumerate(emb_ids)}
    if len(index) != len(emb_ids):
        dup = next(u for i, u in enumerate(emb_ids) if index[u] != i)
        raise ValueError(f"{emb_path}: utterance id '{dup}' appears more than once")
    missing = [u for u in cut_ids if u not in index]
    if missing:
        raise ValueError(
            f"cut '{missing[0]}' in {cuts_path} has no embedding in {emb_path} "
            f"({len(missing)} cut(s) missing)"
        )
    if len(set(cut_ids)) != len(cut_ids):
        seen: set[str] = set()
        dup = next(u for u in cut_ids if u in seen or seen.add(u))  # type: ignore[func-returns-value]
        raise ValueError(f"{cuts_path}: cut id '{dup}' appears more than once")
    if len(index) != len(cut_ids):
        cut_set = set(cut_ids)
        extra = [u for u in emb_ids if u not in cut_set]
        raise ValueError(
            f"embedding '{extra[0]}' in {emb_path} has no cut in {cuts_path} "
            f"({len(extra)} embedding(s) without a cut)"
        )
    return emb[np.fromiter((index[u] for u in cut_ids), dtype=np.int64, count=len(cut_ids))]


def true_speakers(cuts: CutSet) -> list[str] | None:
    """First supervision's speaker of every cut, or None when any cut lacks one."""
    out: list[str] = []
    for cut in cuts:
        sups = cut.supervisions
        if not sups or sups[0].speaker is None:
            return None
        out.append(sups[0].speaker)
    return out


def relabel_cut(cut: Any, speaker: str) -> Any:
    """Copy of ``cut`` whose supervisions all carry ``speaker`` (one is added if it has none)."""
    if cut.supervisions:
        sups = [fastcopy(s, speaker=speaker) for s in cut.supervisions]
    else:
        sups = [SupervisionSegment(id=cut.id, recording_id=cut.recording_id, start=0.0,
                                   duration=cut.duration, channel=cut.channel, speaker=speaker)]
    return fastcopy(cut, supervisions=sups)


def _size_stats(labels: np.ndarray) -> dict[str, Any]:
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
    sizes = sizes[sizes > 0]
    if len(sizes) == 0:
        return {"min": 0, "median": 0, "max": 0, "mean": 0, "histogram": {"counts": [], "edges": []}}
    counts, edges = np.histogram(sizes, bins=min(10, max(1, len(np.unique(sizes)))))
    return {
        "min": int(sizes.min()), "median": float(np.median(sizes)), "max": int(sizes.max()),
        "mean": float(sizes.mean()),
        "histogram": {"counts": counts.tolist(), "edges": [round(float(e), 3) for e in edges]},
    }


def write_kaldi_maps(out_dir: Path, utt2spk: Mapping[str, str]) -> None:
    """Write sorted ``utt2spk`` and ``spk2utt`` atomically."""
    lines = [f"{u} {s}\n" for u, s in sorted(utt2spk.items())]
    spk2utt: dict[str, list[str]] = {}
    for u, s in sorted(utt2spk.items()):
        spk2utt.setdefault(s, []).append(u)
    write_text_atomic(out_dir / "utt2spk", "".join(lines))
    write_text_atomic(out_dir / "spk2utt", "".join(f"{s} {' '.join(us)}\n" for s, us in sorted(spk2utt.items())))


def check_usable(res: ClusterOutcome, cfg: Mapping[str, Any], embeddings: str | Path) -> None:
    """Refuse pseudo labels no classifier can train on: fewer than two pseudo speakers.

    Raises:
        ClusterError: saying what happened (collapsed embeddings, one cluster, or purification
            dropping every cluster) and which config key to change.
    """
    if res.num_clusters >= 2:
        return
    k = int(res.info["num_clusters_before_purification"])
    if "collapsed" in res.info:
        why = (f"the embeddings point in only {res.info['collapsed']['distinct_embeddings']} distinct direction(s): "
               "the network that made them collapsed")
    elif k < 2:
        why = "the clustering made one cluster: raise cluster.num_clusters"
    else:
        why = (f"purification (cluster.purify_fraction={cfg['purify_fraction']}) and cluster.min_cluster_size="
               f"{cfg['min_cluster_size']} dropped the rest: lower cluster.min_cluster_size or cluster.num_clusters")
    raise ClusterError(f"{embeddings}: clustering {len(res.labels)} utterances left {res.num_clusters} pseudo "
                       f"speaker(s) of {k} cluster(s); a classification round needs at least 2: {why}")


def write_true_labels(cuts_path: str | Path, out_dir: str | Path, *, force: bool = False) -> dict[str, Any]:
    """The reference "clustering": every cut keeps its true speaker (``rounds.round_labels=true_speakers``).

    Writes the same files as :func:`make_pseudo_labels` (speaker ids unchanged), so a round
    trains on perfect clusters with the method's schedule.

    Raises:
        ClusterError: a cut without a speaker (the cut set is unlabelled).
    """
    out = Path(out_dir)
    if outputs_complete(out) and not force:
        log.info("true labels already in %s; skipping (use --force to redo)", out)
        return json.loads((out / "cluster_stats.json").read_text())
    (out / "cluster_stats.json").unlink(missing_ok=True)
    cuts = CutSet.from_file(cuts_path).to_eager()
    truth = true_speakers(cuts)
    if truth is None:
        raise ClusterError(f"{cuts_path}: rounds.round_labels=true_speakers needs a speaker on every cut; "
                           "this cut set has cuts without one")
    with atomic_path(out / "cuts.jsonl.gz") as tmp:
        cuts.to_file(tmp)
    write_kaldi_maps(out, {c.id: s for c, s in zip(cuts, truth)})
    labels = np.unique(np.asarray(truth), return_inverse=True)[1]
    stats = {"num_clusters": int(labels.max()) + 1, "num_utterances": len(truth), "num_kept": len(truth),
             "kept_fraction": 1.0, "sizes": _size_stats(labels),
             "clustering": {"method": "true labels (rounds.round_labels=true_speakers): a reference, not the method"},
             "inputs": {"cuts": str(cuts_path)}}
    write_json_atomic(out / "cluster_stats.json", stats)
    log.info("wrote the true speakers of %s (%d) to %s", cuts_path, stats["num_clusters"], out)
    return stats


def make_pseudo_labels(
    embeddings: str | Path, cuts_path: str | Path, out_dir: str | Path,
    cfg: Mapping[str, Any], *, force: bool = False,
) -> dict[str, Any]:
    """Cluster ``embeddings`` of the cuts in ``cuts_path``; write the outputs; return the stats."""
    out = Path(out_dir)
    if outputs_complete(out) and not force:
        log.info("pseudo labels already in %s; skipping (use --force to redo)", out)
        return json.loads((out / "cluster_stats.json").read_text())
    cfg = resolve_cluster_cfg(cfg)
    t0 = time.time()
    (out / "cluster_stats.json").unlink(missing_ok=True)  # never leave a stale "done" marker
    cuts = CutSet.from_file(cuts_path).to_eager()
    cut_ids = [c.id for c in cuts]
    emb_ids, emb = read_embeddings(embeddings)
    x = align_embeddings(cut_ids, emb_ids, emb, cuts_path=str(cuts_path), emb_path=str(embeddings))
    log.info("clustering %d embeddings (dim %d) of %s", len(cut_ids), x.shape[1], cuts_path)
    try:
        res = cluster_embeddings(x, cfg)
    except ClusterError as exc:
        raise ClusterError(f"{embeddings}: {exc}") from None
    check_usable(res, cfg, embeddings)

    width = max(5, len(str(max(res.num_clusters - 1, 0))))
    kept = {u: pseudo_id(lab, width) for u, lab in zip(cut_ids, res.labels.tolist()) if lab >= 0}
    new_cuts = CutSet.from_cuts(relabel_cut(c, kept[c.id]) for c in cuts if c.id in kept)
    with atomic_path(out / "cuts.jsonl.gz") as tmp:
        new_cuts.to_file(tmp)
    write_kaldi_maps(out, kept)

    stats: dict[str, Any] = {
        "num_clusters": res.num_clusters,
        "num_utterances": len(cut_ids),
        "num_kept": int(res.keep.sum()),
        "kept_fraction": res.info["kept_fraction"],
        "inertia": res.info["inertia"],
        "sizes_before_purification": _size_stats(res.raw_labels),
        "sizes": _size_stats(res.labels),
        "clustering": res.info,
        "parameters": dict(cfg),
        "inputs": {"embeddings": str(embeddings), "cuts": str(cuts_path)},
    }
    truth = true_speakers(cuts)
    if truth is not None:
        t = np.asarray(truth)
        stats["true_label_metrics"] = {
            "note": "measured against the cut set's speakers for reporting only; never used in training",
            "all_before_purification": cluster_quality(t, res.raw_labels),
            "kept_after_purification": cluster_quality(t[res.keep], res.labels[res.keep]),
        }
    stats["seconds"] = round(time.time() - t0, 3)
    write_json_atomic(out / "cluster_stats.json", stats)
    log.info("wrote %d pseudo speakers over %d/%d utterances to %s",
             res.num_clusters, stats["num_kept"], len(cut_ids), out)
    return stats
