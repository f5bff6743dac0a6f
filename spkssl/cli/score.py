"""``spkssl score`` and ``spkssl compute-metrics``: score trial lists, report EER/minDCF.

In a recipe, every trial list of the experiment with one system
(:mod:`spkssl.steps.score`)::

    spkssl score --exp exp/mini --system round1

Stand-alone, any embeddings (Kaldi's included)::

    spkssl score --trials data/trials/vox1_o.trials \\
        --embeddings exp/x/round1/embeddings/vox1/embeddings.npz \\
        --train-embeddings exp/x/round1/embeddings/train/embeddings.npz \\
        --train-utt2spk exp/x/round1/pseudo/utt2spk \\
        --backend cosine --backend plda --out-dir exp/x/round1/scores --name vox1_o
    spkssl compute-metrics exp/x/round1/scores/vox1_o.cosine.score data/trials/vox1_o.trials

An unlabelled (two-column) list gets ``NAME.BACKEND.score`` only: there is nothing to measure.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from spkssl.cli.options import (
    OutputPath, bool_option, check_exp_usage, config_options, exp_option, load_cli_config, open_experiment,
)
from spkssl.config import ConfigError
from spkssl.embed.io import EmbeddingError, read_embeddings
from spkssl.experiment import ExperimentError
from spkssl.scoring import (
    BACKENDS, Backend, TrainingSet, check_dimensions, fit_backend, run_scoring, score_trials, write_backend_model,
)
from spkssl.scoring.io import read_scored_trials, read_utt2spk, write_scores
from spkssl.scoring.metrics import MetricsError, compute_metrics, markdown_header, markdown_row
from spkssl.scoring.trials import TrialsError, read_trials
from spkssl.utils.io import write_json_atomic

_ERRORS = (EmbeddingError, TrialsError, MetricsError, ConfigError, ValueError)


@click.command("score")
@exp_option
@click.option("--system", default=None, help="With --exp: round<N> or baseline; scores every trial list.")
@click.option("--trials", "trials_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Stand-alone: Kaldi trial list: utt1 utt2 target|nontarget.")
@click.option("--embeddings", type=click.Path(exists=True), default=None,
              help="Stand-alone: test embeddings: embeddings.npz, any Kaldi xvector.scp/ivector.scp, or their folder.")
@click.option("--enroll-embeddings", type=click.Path(exists=True), default=None,
              help="Embeddings of the enrolment side (default: --embeddings).")
@click.option("--backend", "backends", multiple=True, type=click.Choice(list(BACKENDS)),
              help="Back-end(s); repeatable. Default: score.backends from the config.")
@click.option("--train-embeddings", type=click.Path(exists=True), default=None,
              help="Training embeddings: mean subtraction, AS-norm cohort, PLDA training.")
@click.option("--train-utt2spk", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Speaker (or pseudo-speaker) of every training utterance (PLDA, speaker cohorts).")
@bool_option("--mean-sub", "Subtract the training mean before cosine/AS-norm [default: score.mean_sub].", default=None)
@click.option("--out-dir", type=OutputPath(folder=True), default=None, help="Stand-alone: where scores go.")
@click.option("--name", default=None, help="Stand-alone: prefix of the output files (usually the trial list name).")
@bool_option("--skip-missing", "Stand-alone: leave out (and count) trials naming an utterance without an embedding, "
                              "as Kaldi does.")
@config_options
def score_cmd(exp: str | None, system: str | None, trials_path: str | None, embeddings: str | None,
              enroll_embeddings: str | None, backends: tuple[str, ...], train_embeddings: str | None,
              train_utt2spk: str | None, mean_sub: bool | None, out_dir: str | None, name: str | None,
              skip_missing: bool, config: str | None, overrides: tuple[str, ...]) -> None:
    """Score trial lists; write NAME.BACKEND.{score,json,det.png} and print Markdown rows."""
    if exp is not None:
        check_exp_usage(exp, config, None, trials_path=trials_path, embeddings=embeddings, enroll_embeddings=enroll_embeddings,
                  train_embeddings=train_embeddings, train_utt2spk=train_utt2spk, out_dir=out_dir, name=name,
                  skip_missing=skip_missing)
        _score_experiment(exp, system, backends, mean_sub, overrides)
        return
    if not (trials_path and embeddings and out_dir and name):
        raise click.UsageError("give --exp and --system, or --trials, --embeddings, --out-dir and --name")
    try:
        cfg = load_cli_config(config, overrides)["score"]
        if mean_sub is not None:
            cfg["mean_sub"] = mean_sub
        backends = backends or tuple(cfg["backends"])
        trials = read_trials(trials_path, require_labels=False)
        ids, emb = read_embeddings(embeddings)
        sources = {"embeddings": embeddings}
        enroll_ids = enroll_emb = None
        if enroll_embeddings:
            enroll_ids, enroll_emb = read_embeddings(enroll_embeddings)
            sources["enroll_embeddings"] = enroll_embeddings
        if train_utt2spk and not train_embeddings:
            raise click.UsageError("--train-utt2spk needs --train-embeddings")
        train = None
        if train_embeddings:
            sources["train_embeddings"] = train_embeddings
            if train_utt2spk:
                sources["train_utt2spk"] = train_utt2spk
            train = TrainingSet(*read_embeddings(train_embeddings),
                                read_utt2spk(train_utt2spk) if train_utt2spk else None,
                                {k: v for k, v in sources.items() if k.startswith("train_")})
        check_dimensions({"embeddings": emb, "enroll_embeddings": enroll_emb,
                          "train_embeddings": None if train is None else train.emb}, sources)
        if skip_missing:
            trials, skipped = trials.known_only(ids, enroll_ids)
            if skipped:
                click.echo(f"{trials_path}: skipped {skipped} trial(s) naming an utterance without an embedding", err=True)
        fitted = [fit_backend(b, train, cfg) for b in backends]
        if trials.labels is None:
            for backend in fitted:
                click.echo(_score_unlabelled(trials, ids, emb, backend, Path(out_dir), name, enroll_ids, enroll_emb))
            click.echo(f"{trials_path} has no target/nontarget labels: scores only, no EER or minDCF")
            return
        rows = []
        for backend in fitted:
            result = run_scoring(trials, ids, emb, backend, out_dir, name, cfg["p_targets"], sources,
                                 enroll_ids, enroll_emb)
            rows.append(markdown_row(f"{name} {backend.name}", result))
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(markdown_header(cfg["p_targets"]))
    for row in rows:
        click.echo(row)


def _score_unlabelled(trials: Any, ids: list[str], emb: Any, backend: Backend, out_dir: Path, name: str,
                      enroll_ids: Any, enroll_emb: Any) -> str:
    """Score an unlabelled list with one back-end: ``NAME.BACKEND.score`` alone (nothing to measure)."""
    scores = score_trials(trials, backend, ids, emb, enroll_ids, enroll_emb)
    write_backend_model(backend, out_dir / f"{name}.{backend.name}")
    write_scores(out_dir / f"{name}.{backend.name}.score", trials, scores)
    return f"{backend.name}: {len(trials)} scores in {out_dir / f'{name}.{backend.name}.score'}"


def _score_experiment(exp: str, system: str | None, backends: tuple[str, ...], mean_sub: bool | None,
                      overrides: tuple[str, ...]) -> None:
    from spkssl.steps.score import score_system

    if system is None:
        raise click.UsageError("--exp needs --system (round<N> or baseline)")
    if mean_sub is not None:
        overrides = (*overrides, f"score.mean_sub={str(mean_sub).lower()}")
    experiment = open_experiment(exp, overrides)
    try:
        results = score_system(experiment, experiment.system(system), backends or None)
    except (*_ERRORS, ExperimentError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(markdown_header(experiment.cfg["score"]["p_targets"]))
    for r in results:
        click.echo(markdown_row(f"{system} {r['name']} {r['backend']}", r))


@click.command("compute-metrics")
@click.argument("scores", type=click.Path(exists=True, dir_okay=False))
@click.argument("trials_path", metavar="TRIALS", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "json_out", type=OutputPath(), default=None, help="Also write the metrics here.")
@click.option("--p-target", "p_targets", multiple=True, type=float, default=(),
              help="Target prior of a minDCF (repeatable) [default: score.p_targets].")
@config_options
def compute_metrics_cmd(scores: str, trials_path: str, json_out: str | None, p_targets: tuple[float, ...],
                        config: str | None, overrides: tuple[str, ...]) -> None:
    """Print EER (Kaldi and ROC) and minDCF of an existing SCORES file (utt1 utt2 score) on TRIALS."""
    p_targets = p_targets or tuple(load_cli_config(config, overrides)["score"]["p_targets"])
    try:
        s, labels = read_scored_trials(scores, trials_path)
        m = compute_metrics(s, labels, p_targets=p_targets)
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"EER (Kaldi compute-eer): {m['eer_kaldi']:.4f}%  threshold {m['thresholds']['eer_kaldi']:.6f}")
    click.echo(f"EER (ROC crossing):      {m['eer_roc']:.4f}%  threshold {m['thresholds']['eer_roc']:.6f}")
    for p in m["p_targets"]:
        key = f"mindcf_{p:g}"
        click.echo(f"minDCF(p_target={p:g}):   {m[key]:.4f}  threshold {m['thresholds'][key]:.6f}")
    click.echo(f"trials: {m['num_trials']} ({m['num_target']} target, {m['num_nontarget']} nontarget)")
    if json_out:
        write_json_atomic(json_out, {**m, "scores": scores, "trials": trials_path})


commands = [score_cmd, compute_metrics_cmd]
