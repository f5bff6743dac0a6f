"""``spkssl cluster``: pseudo speaker labels for the next round from this round's embeddings.

Example::

    spkssl cluster --embeddings exp/x/round0/embeddings/train/embeddings.npz \\
        --cuts data/manifests/train_cuts.jsonl.gz --out-dir exp/x/round1/pseudo \\
        --config exp/x/config.yaml --num-clusters 125
"""
from __future__ import annotations

import json

import click

from spkssl.config import ConfigError, resolve_config


@click.command("cluster")
@click.option("--embeddings", required=True, type=click.Path(exists=True),
              help="Embeddings: embeddings.npz (ids, embeddings) or a Kaldi xvector.scp.")
@click.option("--cuts", "cuts", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training cut set (jsonl.gz) whose cut ids match the embedding ids.")
@click.option("--out-dir", required=True, type=click.Path(file_okay=False),
              help="Output dir (e.g. exp/<tag>/round<r>/pseudo).")
@click.option("--config", "config", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Resolved experiment config (its 'cluster' section is used).")
@click.option("--set", "overrides", multiple=True, help="Override, e.g. --set cluster.purify_fraction=0.8")
@click.option("--num-clusters", type=click.IntRange(min=1), default=None,
              help="Number of pseudo speakers (overrides cluster.num_clusters).")
@click.option("--seed", type=int, default=None, help="Overrides cluster.seed.")
@click.option("--device", default=None, help="Overrides cluster.device (auto, cpu, cuda, ...).")
@click.option("--force", is_flag=True, help="Recompute even if the outputs are complete.")
def cluster_cmd(
    embeddings: str, cuts: str, out_dir: str, config: str | None, overrides: tuple[str, ...],
    num_clusters: int | None, seed: int | None, device: str | None, force: bool,
) -> None:
    """Cluster EMBEDDINGS into pseudo speakers; write cuts.jsonl.gz, utt2spk, spk2utt, cluster_stats.json."""
    from spkssl.cluster.pseudo import make_pseudo_labels

    try:
        cfg = resolve_config(config, overrides)["cluster"]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if num_clusters is not None:
        cfg["num_clusters"] = num_clusters
    if seed is not None:
        cfg["seed"] = seed
    if device is not None:
        cfg["device"] = device
    try:
        stats = make_pseudo_labels(embeddings, cuts, out_dir, cfg, force=force)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {k: stats[k] for k in ("num_clusters", "num_utterances", "num_kept", "kept_fraction")}
    if "true_label_metrics" in stats:
        summary["nmi_all"] = round(stats["true_label_metrics"]["all_before_purification"]["nmi"], 4)
        summary["nmi_kept"] = round(stats["true_label_metrics"]["kept_after_purification"]["nmi"], 4)
    click.echo(json.dumps(summary))


commands = [cluster_cmd]
