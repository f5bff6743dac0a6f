"""``spkssl embed``, ``spkssl verify``, ``spkssl export``, ``spkssl info``: use a trained model.

Any audio, any model file (``final.pt``, or a TorchScript / ONNX export)::

    spkssl embed exp/mini/round2/final.pt a.wav b.flac corpus/test/ --out-dir emb/
    spkssl verify exp/mini/round2/final.pt a.wav b.wav
    spkssl verify exp/mini/round2/final.pt --trials trials --audio corpus/test [--enroll spk2utt]
    spkssl export exp/mini/round2/final.pt --format onnx --format torchscript
    spkssl info exp/mini/round2/final.pt

The work is done by :mod:`spkssl.inference` and :mod:`spkssl.export`; ``--set infer.*``
chooses channels, resampling and VAD (``spkssl/configs/infer.yaml``).
"""
from __future__ import annotations

from pathlib import Path

import click

from spkssl.cli.options import DeviceName, OutputPath, bool_option, config_options, force_option, load_cli_config
from spkssl.config import ConfigError
from spkssl.embed.extract import ExtractionError
from spkssl.embed.io import EmbeddingError, read_embeddings
from spkssl.embed.provenance import Provenance, ProvenanceError, check_provenance, read_provenance
from spkssl.export import ExportError, export_model
from spkssl.export.exporters import SUFFIXES
from spkssl.inference.audio import AudioError
from spkssl.inference.batch import embed_to_folder
from spkssl.inference.engines import ModelKindError
from spkssl.inference.info import format_info, model_info
from spkssl.inference.model import VerifyError, load_model
from spkssl.inference.sidecar import SidecarError
from spkssl.inference.sources import collect_items
from spkssl.inference.verify import format_result, read_spk2utt, verify_trials, write_decisions
from spkssl.models.io import ModelFileError
from spkssl.scoring.trials import TrialsError, read_trials
from spkssl.utils.device import DeviceError
from spkssl.utils.io import OutputError, check_writable
from spkssl.utils.threads import idle_cores, share_cpu


#: the errors a user's input causes: one line and exit 1, no traceback
_ERRORS = (AudioError, ModelKindError, ModelFileError, VerifyError, SidecarError, ExportError, ExtractionError,
           EmbeddingError, TrialsError, ConfigError, ProvenanceError, DeviceError, OutputError, ValueError)


def _load(model: str, config: str | None, overrides: tuple[str, ...], device: str, verify: str | None = None,
          threads: int | None = None):
    unused = [o for o in overrides if o.split("=", 1)[0].split(".", 1)[0] not in ("infer", "score")]
    if unused:  # the model file decides the rest (features, network): say so rather than ignore it
        click.echo(f"warning: {', '.join(unused)}: not used here: a model's features and network come from the "
                   "model file; spkssl embed / verify read only infer.* and score.*", err=True)
    infer = load_cli_config(config, overrides)["infer"]
    n = threads if threads is not None else int(infer["threads"])
    share_cpu(threads=n or idle_cores())
    return load_model(model, infer, device, verify)


model_argument = click.argument("model", type=click.Path(exists=True, dir_okay=False))
device_option = click.option("--device", type=DeviceName(), default="cpu", show_default=True,
                             help="cpu or cuda[:N] (final.pt and TorchScript; ONNX runs on the CPU).")
threads_option = click.option("--threads", type=click.IntRange(min=0), default=None,
                              help="Torch threads; 0: the cores not busy now [default: infer.threads]; "
                                   "OMP_NUM_THREADS, when set, wins.")
verify_option = click.option("--verify-file", "verify", type=click.Path(exists=True, dir_okay=False), default=None,
                             help="The model's verify.json [default: the one beside MODEL].")


@click.command("embed")
@model_argument
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out-dir", required=True, type=OutputPath(folder=True),
              help="Where xvector.ark, xvector.scp and embeddings.npz go.")
@device_option
@threads_option
@config_options
@force_option
def embed_cmd(model, inputs, out_dir, device, threads, config, overrides, force) -> None:
    """Embed INPUTS (audio files, folders, a wav.scp, a Kaldi data dir, a Lhotse manifest) with MODEL.

    Written in parts (infer.part_size utterances): a killed run, rerun the same way, embeds only the
    rest. A folder holding embeddings of another model, other inputs or settings is refused
    (--force true replaces them).
    """
    try:  # --out-dir and --device were checked when the command line was read
        items = collect_items(inputs)
        m = _load(model, config, overrides, device, threads=threads)
        done = embed_to_folder(m, items, out_dir, force=force, progress=True)
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    if done.skipped:
        click.echo(f"{out_dir} already holds the embeddings of these {done.num_items} utterance(s) by {model} "
                   "(--force true redoes them)")
        return
    resumed = f" ({done.reused} from the parts of an earlier run)" if done.reused else ""
    click.echo(f"embedded {done.num_items} utterance(s){resumed} with {model} ({m.kind}, dim {m.embed_dim}) into "
               f"{Path(out_dir) / 'xvector.scp'} and {Path(out_dir) / 'embeddings.npz'}")


@click.command("verify")
@model_argument
@click.argument("pair", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--trials", "trials_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Trial list: enroll test [target|nontarget] (labels optional).")
@click.option("--audio", "audio", multiple=True, type=click.Path(exists=True),
              help="With --trials: where the utterances are (files, folders, wav.scp, Kaldi dir, Lhotse manifest).")
@click.option("--embeddings", type=click.Path(exists=True), default=None,
              help="With --trials: embeddings already made by MODEL (embeddings.npz, xvector.scp or their folder).")
@click.option("--enroll", "spk2utt", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With --trials: spk2utt of the enrolment speakers (their embedding: the mean of their utterances').")
@click.option("--backend", default=None, help="Scoring back-end [default: the first the model carries].")
@click.option("--out", type=OutputPath(), default=None,
              help="With --trials: write 'enroll test score accept|reject' per trial here.")
@bool_option("--skip-missing", "With --trials: leave out (and count) trials naming an utterance that has no audio "
                              "or embedding, as Kaldi does, instead of failing.")
@verify_option
@device_option
@threads_option
@config_options
def verify_cmd(model, pair, trials_path, audio, embeddings, spk2utt, backend, out, skip_missing, verify, device,
               threads, config, overrides) -> None:
    """Same speaker? Score A B (two audio files), or a trial list, at the threshold MODEL carries."""
    if trials_path is None and len(pair) != 2:
        raise click.UsageError("give two audio files, or --trials with --audio or --embeddings")
    if trials_path is not None and (pair or bool(audio) == bool(embeddings)):
        raise click.UsageError("--trials takes --audio or --embeddings (one of them), and no audio files")
    try:
        m = _load(model, config, overrides, device, verify, threads)
        if trials_path is None:
            name = backend or (m.sidecar.default_backend if m.sidecar else "cosine")
            try:
                d = m.verify(*pair, backend=name)
            except VerifyError as exc:  # no threshold: the score alone
                click.echo(f"{pair[0]} {pair[1]} score {m.score(*pair, backend=name):.6f} ({name}); no decision: {exc}")
                return
            click.echo(f"{pair[0]} {pair[1]} score {d.score:.6f} threshold {d.threshold:.6f} ({d.threshold_source}): "
                       f"{'same speaker' if d.same_speaker else 'different speakers'}")
            return
        _verify_list(m, trials_path, audio, embeddings, spk2utt, backend, out, skip_missing, config, overrides)
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


def _verify_list(m, trials_path, audio, embeddings, spk2utt, backend, out, skip_missing, config, overrides) -> None:
    trials = read_trials(trials_path, require_labels=False)
    enrol = read_spk2utt(spk2utt) if spk2utt else None
    if embeddings:
        if read_provenance(embeddings) is None:
            click.echo(f"warning: {embeddings} records no model: it cannot be checked that {m.path} made them", err=True)
        check_provenance(embeddings, Provenance.of(m.path, []), model_only=True)
        ids, emb = read_embeddings(embeddings)
    else:
        wanted = set(trials.test) | (set(u for utts in enrol.values() for u in utts) if enrol else set(trials.enroll))
        items = [i for i in collect_items(audio) if i.id in wanted]
        ids, emb = [i.id for i in items], m.embed_items(items, progress=True)
    if skip_missing:
        trials, skipped = trials.known_only(ids, list(enrol) if enrol else None)
        if skipped:
            click.echo(f"{trials_path}: skipped {skipped} trial(s) naming an utterance without audio or embedding",
                       err=True)
    name = backend or (m.sidecar.default_backend if m.sidecar else "cosine")
    thr, source = (m.threshold(name) if m.sidecar is not None and m.sidecar.threshold(name)[0] is not None
                   else (None, ""))
    result = verify_trials(trials, ids, emb, m.backend(name), thr, enrol,
                           load_cli_config(config, overrides)["score"]["p_targets"], str(spk2utt))
    if out:
        write_decisions(out, result)
    for line in format_result(result, name, source):
        click.echo(line)
    if out:
        click.echo(f"scores and decisions: {out}")


@click.command("export")
@model_argument
@click.option("--format", "formats", multiple=True, type=click.Choice(["torchscript", "onnx"]),
              help="Repeatable [default: both].")
@click.option("--out", type=OutputPath(), default=None,
              help="Output file, with one --format [default: beside MODEL, final.ts / final.onnx].")
def export_cmd(model, formats, out) -> None:
    """Export MODEL (a final.pt) with its fbank front-end and CMN inside: raw samples in, an embedding out."""
    formats = formats or ("torchscript", "onnx")
    if out and len(formats) > 1:
        raise click.UsageError("--out names one file: give one --format with it")
    try:
        for fmt in formats:  # every output writable before the first export starts
            check_writable(out or Path(model).with_suffix(SUFFIXES[fmt]))
        for fmt in formats:
            path = export_model(model, fmt, out)
            click.echo(f"{fmt}: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("info")
@model_argument
def info_cmd(model) -> None:
    """What MODEL is: objective, round, network, features, data, versions, its runs' EER, its thresholds."""
    try:
        lines = format_info(model_info(model))
    except _ERRORS as exc:
        raise click.ClickException(str(exc)) from exc
    for line in lines:
        click.echo(line)


commands = [embed_cmd, verify_cmd, export_cmd, info_cmd]
