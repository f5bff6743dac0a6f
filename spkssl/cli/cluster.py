"""``spkssl cluster``: pseudo speaker labels for the next round from this round's embeddings.

In a recipe, round r's labels come from round r-1's training embeddings
(:meth:`spkssl.experiment.Experiment.cluster_paths`)::

    spkssl cluster --exp exp/mini --round 1

Stand-alone::

    spkssl cluster --embeddings exp/x/round0/embeddings/train/embeddings.npz \\
        --cuts data/manifests/train_cuts.jsonl.gz --out-dir exp/x/round1/pseudo \\
        --config exp/x/config.yaml --set cluster.num_clusters=125

The work is done by :func:`spkssl.cluster.pseudo.make_pseudo_labels`.
"""
from __future__ import annotations

import json

import click

from spkssl.cli.options import (
    OutputPath, check_exp_usage, config_options, exp_option, force_option, load_cli_config, open_experiment,
)


@click.command("cluster")
@exp_option
@click.option("--round", "round_", type=click.IntRange(min=1), default=None,
              help="With --exp: the round (>= 1) whose pseudo labels to make from round-1's embeddings.")
@click.option("--embeddings", type=click.Path(exists=True), default=None,
              help="Stand-alone: embeddings.npz (ids, embeddings) or a Kaldi xvector.scp.")
@click.option("--cuts", "cuts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: training cut set (jsonl.gz) whose cut ids match the embedding ids.")
@click.option("--out-dir", type=OutputPath(folder=True), default=None,
              help="Stand-alone: output dir (e.g. exp/<tag>/round<r>/pseudo).")
@config_options
@force_option
def cluster_cmd(exp: str | None, round_: int | None, embeddings: str | None, cuts: str | None,
                out_dir: str | None, config: str | None, overrides: tuple[str, ...], force: bool) -> None:
    """Cluster embeddings into pseudo speakers; write cuts.jsonl.gz, utt2spk, spk2utt, cluster_stats.json."""
    from spkssl.cluster.pseudo import make_pseudo_labels
    from spkssl.steps.cluster import cluster_round

    try:
        if exp is not None:
            check_exp_usage(exp, config, ("--round", round_), embeddings=embeddings, cuts=cuts, out_dir=out_dir)
            stats = cluster_round(open_experiment(exp, overrides), round_, force=force)
        else:
            if not (embeddings and cuts and out_dir):
                raise click.UsageError("give --exp and --round, or --embeddings, --cuts and --out-dir")
            stats = make_pseudo_labels(embeddings, cuts, out_dir, load_cli_config(config, overrides)["cluster"],
                                       force=force)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    summary = {k: stats[k] for k in ("num_clusters", "num_utterances", "num_kept", "kept_fraction")}
    if "true_label_metrics" in stats:
        summary["nmi_all"] = round(stats["true_label_metrics"]["all_before_purification"]["nmi"], 4)
        summary["nmi_kept"] = round(stats["true_label_metrics"]["kept_after_purification"]["nmi"], 4)
    click.echo(json.dumps(summary))


commands = [cluster_cmd]
