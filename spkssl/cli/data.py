"""``spkssl prepare ...``: corpora → Lhotse manifests, trials, augmentation sources.

Example::

    spkssl prepare kaldi-dir corpus/train data/manifests --prefix train
    spkssl prepare lhotse data/manifests --prefix test_clean --recipe librispeech \\
        --corpus-dir /corpora/LibriSpeech --part test-clean --require-speakers true
    spkssl prepare trials corpus/trials/test.trials data/trials/test.trials \\
        --cuts data/manifests/test_cuts.jsonl.gz
    spkssl prepare trials --make data/trials/test_clean.trials \\
        --cuts data/manifests/test_clean_cuts.jsonl.gz
    spkssl prepare validate data/manifests/train_cuts.jsonl.gz
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from lhotse import CutSet

from spkssl.cli.options import OutputPath, bool_option, config_options, force_option, load_cli_config
from spkssl.data import lhotse_prep
from spkssl.data.audio import AudioError
from spkssl.data.augsources import AugSourcesError, prepare_aug_sources
from spkssl.data.convert import convert_cuts_audio
from spkssl.data.kaldi_dir import KaldiDirError, import_kaldi_dir
from spkssl.data.lhotse_prep import LhotsePrepError
from spkssl.data.manifests import save_manifests
from spkssl.data.trials import (
    TrialsError, convert_trials, cut_speakers, speaker_trials, validation_trials, write_trials,
)
from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts
from spkssl.data.voxceleb import VoxCelebError, prepare_voxceleb_sets
from spkssl.utils.io import OutputError, check_writable


def _data_cfg(config: str | None, overrides: tuple[str, ...]) -> dict[str, Any]:
    return load_cli_config(config, overrides)["data"]


def _save(out_dir: str, prefix: str, build: Any, dcfg: dict[str, Any], require_speakers: bool) -> None:
    """Write PREFIX's manifests through :func:`spkssl.data.manifests.save_manifests`; print the summary."""
    try:
        saved = save_manifests(out_dir, prefix, build, dcfg, require_speakers=require_speakers)
    except (KaldiDirError, LhotsePrepError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(saved.table())
    click.echo(f"wrote {saved.paths['cuts']}")


def _require_speakers_option(f: Any) -> Any:
    return bool_option("--require-speakers", "Every cut must have a speaker (a test set, whose trials need them).")(f)


@click.group("prepare")
def prepare() -> None:
    """Prepare manifests, trials and augmentation sources."""


@prepare.command("kaldi-dir", short_help="Kaldi data dir -> Lhotse manifests.")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=OutputPath(folder=True))
@click.option("--prefix", required=True, help="Manifest name prefix, e.g. 'train'.")
@click.option("--audio-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Base of relative wav.scp paths [default: DATA_DIR's parent].")
@_require_speakers_option
@config_options
def kaldi_dir(data_dir: str, out_dir: str, prefix: str, audio_root: str | None, require_speakers: bool,
              config: str | None, overrides: tuple[str, ...]) -> None:
    """Import a Kaldi data dir → OUT_DIR/PREFIX_{recordings,supervisions,cuts}.jsonl.gz.

    wav.scp is required; utt2spk, segments and spk2gender are read when present (without
    utt2spk the cuts have no speaker: an unlabelled corpus trains all the same).  The PREFIX
    manifests already in OUT_DIR are removed first, so a failed or killed import never leaves
    older ones that later stages would take for its output.
    """
    dcfg = _data_cfg(config, overrides)
    _save(out_dir, prefix, lambda: import_kaldi_dir(data_dir, audio_root, int(dcfg["num_workers"])),
          {**dcfg, "check_audio": "none"}, require_speakers)  # headers were just read


@prepare.command("lhotse", short_help="Lhotse manifests, cut sets or recipe -> manifests.")
@click.argument("out_dir", type=OutputPath(folder=True))
@click.option("--prefix", required=True, help="Manifest name prefix, e.g. 'train'.")
@click.option("--recordings", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A recordings manifest (repeatable, merged); alone: one unlabelled cut per recording.")
@click.option("--supervisions", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A supervisions manifest of those recordings (repeatable, merged).")
@click.option("--cuts", "cut_sets", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A cut set, at most one supervision per cut (repeatable, merged); its cut ids are kept.")
@click.option("--recipe", default=None, help="Run lhotse.recipes.prepare_RECIPE on --corpus-dir, e.g. librispeech.")
@click.option("--corpus-dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="With --recipe: the corpus, already downloaded.")
@click.option("--part", "parts", multiple=True,
              help="With --recipe: a part to keep, e.g. train-clean-100 (repeatable, merged) [default: its only one].")
@click.option("--recipe-arg", "recipe_args", multiple=True, metavar="KEY=VALUE",
              help="With --recipe: a further keyword argument of the recipe (repeatable), e.g. normalize_text=lower.")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1),
              help="With --recipe: its num_jobs, when it takes one.")
@_require_speakers_option
@config_options
def lhotse_cmd(out_dir: str, prefix: str, recordings: tuple[str, ...], supervisions: tuple[str, ...],
               cut_sets: tuple[str, ...], recipe: str | None, corpus_dir: str | None, parts: tuple[str, ...],
               recipe_args: tuple[str, ...], nj: int, require_speakers: bool, config: str | None,
               overrides: tuple[str, ...]) -> None:
    """Lhotse data → OUT_DIR/PREFIX_{recordings,supervisions,cuts}.jsonl.gz, validated, with a summary.

    Give one of: --recordings [--supervisions] (what `lhotse prepare <recipe>` writes), --cuts,
    or --recipe with --corpus-dir (lhotse's recipe is run here, reading the corpus each time; a
    recipe that must write manifests of its own writes them to OUT_DIR/lhotse_RECIPE/).  Speakers are optional (an unlabelled corpus
    trains; labels only measure); --require-speakers true refuses cuts without one.  Overlapping
    supervisions follow data.on_overlap, the sampling rate data.sampling_rate.
    """
    given = [name for name, v in (("--recordings", recordings), ("--cuts", cut_sets), ("--recipe", recipe)) if v]
    if len(given) != 1:
        raise click.UsageError("give one of --recordings (with --supervisions), --cuts or --recipe"
                               + (f", not {' and '.join(given)}" if given else ""))
    if supervisions and not recordings:
        raise click.UsageError("--supervisions goes with --recordings")
    if (corpus_dir or parts or recipe_args) and not recipe:
        raise click.UsageError("--corpus-dir, --part and --recipe-arg go with --recipe")
    if recipe and not corpus_dir:
        raise click.UsageError("--recipe needs --corpus-dir")
    dcfg = _data_cfg(config, overrides)
    if recipe:
        options = _key_values(recipe_args, "--recipe-arg")
        build = lambda: lhotse_prep.run_recipe(recipe, corpus_dir, parts, options, nj,  # noqa: E731
                                               output_dir=Path(out_dir) / f"lhotse_{recipe}")
        dcfg = {**dcfg, "check_audio": "none"}  # the recipe has just read every header
    elif cut_sets:
        build = lambda: lhotse_prep.from_cut_sets(cut_sets)  # noqa: E731
    else:
        build = lambda: lhotse_prep.from_manifests(recordings, supervisions)  # noqa: E731
    _save(out_dir, prefix, build, dcfg, require_speakers)


def _key_values(items: tuple[str, ...], flag: str) -> dict[str, Any]:
    """``("a=1", "b=x")`` → ``{"a": 1, "b": "x"}`` (values read as YAML)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=flag)
        out[key] = yaml.safe_load(value) if value else ""
    return out


@prepare.command("validate", short_help="Validate a cut set and print its summary.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.option("--decode/--header", default=False, help="Decode all audio instead of reading headers.")
@config_options
def validate(cuts_path: str, decode: bool, config: str | None, overrides: tuple[str, ...]) -> None:
    """Validate a cut set (audio, durations, sampling rate, ids) and print its summary."""
    dcfg = _data_cfg(config, overrides)
    if decode:
        dcfg = {**dcfg, "check_audio": "decode"}
    try:
        cuts = validate_cuts(CutSet.from_file(cuts_path), dcfg)
    except ManifestError as exc:
        raise click.ClickException(f"{cuts_path}: {exc}") from exc
    click.echo(format_summary(summarize_cuts(cuts), Path(cuts_path).name.split("_cuts")[0]))


@prepare.command("trials", short_help="Trial list -> Kaldi trials with cut ids, or --make one.")
@click.argument("paths", nargs=-1, metavar="[LIST OUT]", type=click.Path(dir_okay=False))
@click.option("--cuts", "cuts_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Cut set whose ids the trials must use (with --make: the labelled set to pair).")
@click.option("--make", "make_out", type=click.Path(dir_okay=False), default=None, metavar="OUT",
              help="Make a trial list OUT over the speakers of CUTS (instead of LIST OUT).")
@click.option("--targets-per-speaker", type=click.IntRange(min=1), default=None,
              help="With --make: target pairs drawn per speaker [default: every pair].")
@click.option("--nontargets-per-target", type=click.IntRange(min=1), default=None,
              help="With --make: random nontarget pairs per target pair [default: 4].")
@click.option("--seed", type=int, default=None, help="With --make: seeds the draws [default: 0].")
@bool_option("--skip-missing", "Leave out (and count) trials naming an utterance not in CUTS, as Kaldi does, "
                              "instead of failing.")
def trials(paths: tuple[str, ...], cuts_path: str, make_out: str | None, targets_per_speaker: int | None,
           nontargets_per_target: int | None, seed: int | None, skip_missing: bool) -> None:
    """Convert an official (or check a Kaldi) trial LIST → Kaldi trials OUT, or --make OUT.

    --make pairs the cuts of every speaker with 2 or more utterances, as `prepare val-trials`
    does over its draw of training speakers: every target pair (or --targets-per-speaker of
    each speaker's), and --nontargets-per-target random pairs of different speakers per
    target, each pair once.  Every cut needs a speaker.
    """
    made_only = {"--targets-per-speaker": targets_per_speaker, "--nontargets-per-target": nontargets_per_target,
                 "--seed": seed}
    make = make_out is not None
    if make:
        if paths or skip_missing:
            raise click.UsageError("--make OUT writes OUT: give no LIST OUT and no --skip-missing")
        paths = (make_out,)
    elif len(paths) != 2 or any(v is not None for v in made_only.values()):
        raise click.UsageError("give LIST and OUT (or --make OUT); "
                               f"{', '.join(made_only)} go with --make")
    if not make and not Path(paths[0]).is_file():  # checked before the cut set is read
        raise click.BadParameter(f"File '{paths[0]}' does not exist.", param_hint="'LIST'")
    out = paths[-1]
    try:
        check_writable(out)
    except OutputError as exc:
        raise click.BadParameter(str(exc), param_hint="'OUT'") from None
    cuts = CutSet.from_file(cuts_path)
    try:
        if make:
            pairs = speaker_trials(cut_speakers(cuts, cuts_path), None, 0 if seed is None else seed,
                                   nontargets_per_target or 4, targets_per_speaker)
            done = write_trials(paths[0], pairs)
        else:
            done = convert_trials(paths[0], paths[1], {cut.id for cut in cuts}, skip_missing=skip_missing)
    except TrialsError as exc:
        raise click.ClickException(f"{cuts_path}: {exc}" if make else str(exc)) from exc
    click.echo(done.describe(paths[-1]))


@prepare.command("val-trials", short_help="Validation trials over some training speakers.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=OutputPath())
@config_options
def val_trials(cuts_path: str, out: str, config: str | None, overrides: tuple[str, ...]) -> None:
    """Kaldi trials OUT over data.validation.num_speakers speakers of the (training) CUTS.

    The labels of these speakers only measure embeddings (to choose settings
    without looking at the test trials); training never reads them.  Cuts without a
    speaker are left out; a set without any cannot have validation trials.
    """
    v = _data_cfg(config, overrides)["validation"]
    try:
        pairs = cut_speakers(CutSet.from_file(cuts_path), cuts_path, require_all=False)
        trials = validation_trials(pairs, int(v["num_speakers"]), int(v["seed"]), int(v["nontarget_per_target"]))
    except TrialsError as exc:
        raise click.ClickException(f"{cuts_path}: {exc}") from exc
    done = write_trials(out, trials)
    click.echo(f"wrote {done.num_trials} validation trials to {out}")


@prepare.command("voxceleb", short_help="VoxCeleb 1/2 -> Lhotse manifests.")
@click.argument("out_dir", type=OutputPath(folder=True))
@click.option("--vox1", type=click.Path(exists=True, file_okay=False), default=None,
              help="VoxCeleb1 root (vox1_meta.csv, wav/).")
@click.option("--vox2", type=click.Path(exists=True, file_okay=False), default=None,
              help="VoxCeleb2 root (vox2_meta.csv and the .m4a files below it).")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel jobs of lhotse's recipe.")
@config_options
def voxceleb(out_dir: str, vox1: str | None, vox2: str | None, nj: int,
             config: str | None, overrides: tuple[str, ...]) -> None:
    """VoxCeleb → OUT_DIR/{vox1_dev,vox1_test,vox2_dev}_{recordings,supervisions,cuts}.jsonl.gz."""
    dcfg = _data_cfg(config, overrides)
    try:
        sets = prepare_voxceleb_sets(out_dir, vox1, vox2, nj)
        for name, cuts in sets.items():
            validate_cuts(cuts, {**dcfg, "check_audio": "none"})
            click.echo(format_summary(summarize_cuts(cuts), name))
    except (VoxCelebError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from exc


@prepare.command("convert-audio", short_help="Convert a cut set's audio to FLAC once.")
@click.argument("in_cuts", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_cuts", type=OutputPath())
@click.option("--audio-dir", required=True, type=OutputPath(folder=True),
              help="Where the converted files go (AUDIO_DIR/<speaker>/<cut id>.flac).")
@click.option("--format", "fmt", default="flac", show_default=True, type=click.Choice(["flac", "wav"]))
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel processes.")
def convert_audio(in_cuts: str, out_cuts: str, audio_dir: str, fmt: str, nj: int) -> None:
    """IN_CUTS (e.g. VoxCeleb2 m4a) -> audio files under --audio-dir and OUT_CUTS pointing at them.

    Resumable: files already converted are reused; OUT_CUTS appears only when all are done.
    """
    try:
        convert_cuts_audio(in_cuts, out_cuts, audio_dir, fmt=fmt, num_jobs=nj)
    except AudioError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"converted cuts: {out_cuts}")


@prepare.command("shar", short_help="A cut set and its audio (FLAC) as Shar shards for training.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=OutputPath(folder=True))
@click.option("--shard-size", default=1000, show_default=True, type=click.IntRange(min=1), help="Cuts per shard.")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel writers.")
@force_option
def shar(cuts_path: str, out_dir: str, shard_size: int, nj: int, force: bool) -> None:
    """Write CUTS with FLAC audio as Shar shards in OUT_DIR (cuts.N.jsonl.gz, recording.N.tar, index.json).

    Training reads them in sequence when the experiment's inputs.train_shar names OUT_DIR.
    """
    from spkssl.data.shar import SharError, export_shar

    try:
        index = export_shar(cuts_path, out_dir, shard_size=shard_size, num_jobs=nj, force=force)
    except (SharError, AudioError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{index.num_cuts} cuts in {len(index.shards)} shards: {out_dir}")


@prepare.command("aug-sources", short_help="Noise/music/babble/RIR source manifests.")
@click.argument("out_dir", type=OutputPath(folder=True))
@click.option("--musan", default=None,
              help="MUSAN root; without it (or empty) noise/music/babble are generated.")
@click.option("--rirs", default=None,
              help="RIRS_NOISES root; without it (or empty) RIRs are simulated.")
@click.option("--train-cuts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Training cut set for babble (needed without --musan).")
@click.option("--audio-dir", type=OutputPath(folder=True), default=None,
              help="Where generated audio goes [default: OUT_DIR/../aug_audio].")
@click.option("--seed", default=0, show_default=True, type=int)
@config_options
def aug_sources(out_dir: str, musan: str | None, rirs: str | None, train_cuts: str | None,
                audio_dir: str | None, seed: int, config: str | None, overrides: tuple[str, ...]) -> None:
    """Write OUT_DIR/aug_{noise,music,babble,rir}_recordings.jsonl.gz (real corpora or generated)."""
    dcfg = _data_cfg(config, overrides)
    musan, rirs = musan or None, rirs or None  # a recipe passes its empty option on: simulate
    for flag, path in (("--musan", musan), ("--rirs", rirs)):
        if path is not None and not Path(path).is_dir():
            raise click.BadParameter(f"folder not found: {path}", param_hint=flag)
    try:
        paths = prepare_aug_sources(out_dir, musan, rirs, train_cuts, audio_dir, seed,
                                    cfg=dcfg["aug_sources"], sampling_rate=int(dcfg["sampling_rate"]))
    except (AugSourcesError, AudioError) as exc:
        raise click.ClickException(str(exc)) from exc
    for kind, path in paths.items():
        click.echo(f"{kind}: {path}")



from spkssl.cli.channel import cross_channel_cmd  # noqa: E402 - a command of its own module, in this group

prepare.add_command(cross_channel_cmd)
commands = [prepare]
