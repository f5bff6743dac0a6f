"""``spkssl prepare ...``: corpora → Lhotse manifests, trials, augmentation sources.

Example::

    spkssl prepare kaldi-dir corpus/train data/manifests --prefix train
    spkssl prepare trials corpus/trials/test.trials data/trials/test.trials \\
        --cuts data/manifests/test_cuts.jsonl.gz
    spkssl prepare validate data/manifests/train_cuts.jsonl.gz
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from lhotse import CutSet

from spkssl.cli.options import config_options, force_option, load_cli_config


def _data_cfg(config: str | None, overrides: tuple[str, ...]) -> dict[str, Any]:
    return load_cli_config(config, overrides)["data"]


@click.group("prepare")
def prepare() -> None:
    """Prepare manifests, trials and augmentation sources."""


@prepare.command("kaldi-dir", short_help="Kaldi data dir -> Lhotse manifests.")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--prefix", required=True, help="Manifest name prefix, e.g. 'train'.")
@click.option("--audio-root", type=click.Path(exists=True, file_okay=False), default=None,
              help="Base of relative wav.scp paths [default: DATA_DIR's parent].")
@config_options
def kaldi_dir(data_dir: str, out_dir: str, prefix: str, audio_root: str | None,
              config: str | None, overrides: tuple[str, ...]) -> None:
    """Import a Kaldi data dir → OUT_DIR/PREFIX_{recordings,supervisions,cuts}.jsonl.gz.

    The PREFIX manifests already in OUT_DIR are removed first, so a failed or killed
    import never leaves older ones that later stages would take for its output.
    """
    from spkssl.data.kaldi_dir import KaldiDirError, import_kaldi_dir, manifest_paths, write_manifests
    from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts

    dcfg = _data_cfg(config, overrides)
    for old in manifest_paths(out_dir, prefix).values():
        if old.exists():
            click.echo(f"replacing {old}", err=True)
            old.unlink()
    try:
        recs, sups, cuts = import_kaldi_dir(data_dir, audio_root, int(dcfg["num_workers"]))
        cuts = validate_cuts(cuts, {**dcfg, "check_audio": "none"})  # headers were just read
    except (KaldiDirError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from exc
    if len(cuts) != len(sups):  # short cuts dropped: keep supervisions consistent
        keep = set(cuts.ids)
        sups = sups.filter(lambda s: s.id in keep)
    paths = write_manifests(out_dir, prefix, recs, sups, cuts)
    click.echo(format_summary(summarize_cuts(cuts), prefix))
    click.echo(f"wrote {paths['cuts']}")


@prepare.command("validate", short_help="Validate a cut set and print its summary.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.option("--decode/--header", default=False, help="Decode all audio instead of reading headers.")
@config_options
def validate(cuts_path: str, decode: bool, config: str | None, overrides: tuple[str, ...]) -> None:
    """Validate a cut set (audio, durations, sampling rate, ids) and print its summary."""
    from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts

    dcfg = _data_cfg(config, overrides)
    if decode:
        dcfg = {**dcfg, "check_audio": "decode"}
    try:
        cuts = validate_cuts(CutSet.from_file(cuts_path), dcfg)
    except ManifestError as exc:
        raise click.ClickException(f"{cuts_path}: {exc}") from exc
    click.echo(format_summary(summarize_cuts(cuts), Path(cuts_path).name.split("_cuts")[0]))


@prepare.command("trials", short_help="Trial list -> Kaldi trials with cut ids.")
@click.argument("trial_list", metavar="LIST", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--cuts", "cuts_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Cut set whose ids the trials must use.")
@config_options
def trials(trial_list: str, out: str, cuts_path: str, config: str | None, overrides: tuple[str, ...]) -> None:
    """Convert an official (or check a Kaldi) trial LIST → Kaldi trials OUT (reads no config value)."""
    from spkssl.data.trials import TrialsError, convert_trials

    load_cli_config(config, overrides)  # a typo in --set is an error here too

    ids = {cut.id for cut in CutSet.from_file(cuts_path)}
    try:
        n = convert_trials(trial_list, out, ids)
    except TrialsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {n} trials to {out}")


@prepare.command("val-trials", short_help="Validation trials over some training speakers.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@config_options
def val_trials(cuts_path: str, out: str, config: str | None, overrides: tuple[str, ...]) -> None:
    """Kaldi trials OUT over data.validation.num_speakers speakers of the (training) CUTS.

    The labels of these speakers only measure embeddings (to choose settings
    without looking at the test trials); training never reads them.
    """
    from spkssl.data.trials import TrialsError, validation_trials
    from spkssl.utils.io import write_text_atomic

    v = _data_cfg(config, overrides)["validation"]
    pairs = [(c.id, c.supervisions[0].speaker) for c in CutSet.from_file(cuts_path) if c.supervisions]
    try:
        trials = validation_trials(pairs, int(v["num_speakers"]), int(v["seed"]), int(v["nontarget_per_target"]))
    except TrialsError as exc:
        raise click.ClickException(f"{cuts_path}: {exc}") from exc
    write_text_atomic(out, "".join(f"{a} {b} {lab}\n" for a, b, lab in trials))
    click.echo(f"wrote {len(trials)} validation trials to {out}")


@prepare.command("voxceleb", short_help="VoxCeleb 1/2 -> Lhotse manifests.")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--vox1", type=click.Path(exists=True, file_okay=False), default=None,
              help="VoxCeleb1 root (vox1_meta.csv, wav/).")
@click.option("--vox2", type=click.Path(exists=True, file_okay=False), default=None,
              help="VoxCeleb2 root (vox2_meta.csv, **/*.m4a).")
@click.option("--num-jobs", default=1, show_default=True, type=click.IntRange(min=1))
@config_options
def voxceleb(out_dir: str, vox1: str | None, vox2: str | None, num_jobs: int,
             config: str | None, overrides: tuple[str, ...]) -> None:
    """VoxCeleb → OUT_DIR/{vox1_dev,vox1_test,vox2_dev}_{recordings,supervisions,cuts}.jsonl.gz."""
    from spkssl.data.validate import ManifestError, format_summary, summarize_cuts, validate_cuts
    from spkssl.data.voxceleb import VoxCelebError, prepare_voxceleb_sets

    dcfg = _data_cfg(config, overrides)
    try:
        sets = prepare_voxceleb_sets(out_dir, vox1, vox2, num_jobs)
        for name, cuts in sets.items():
            validate_cuts(cuts, {**dcfg, "check_audio": "none"})
            click.echo(format_summary(summarize_cuts(cuts), name))
    except (VoxCelebError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from exc


@prepare.command("convert-audio", short_help="Convert a cut set's audio to FLAC once.")
@click.argument("in_cuts", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_cuts", type=click.Path(dir_okay=False))
@click.option("--audio-dir", required=True, type=click.Path(file_okay=False),
              help="Where the converted files go (AUDIO_DIR/<speaker>/<cut id>.flac).")
@click.option("--format", "fmt", default="flac", show_default=True, type=click.Choice(["flac", "wav"]))
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel processes.")
@config_options
def convert_audio(in_cuts: str, out_cuts: str, audio_dir: str, fmt: str, nj: int, config: str | None,
                  overrides: tuple[str, ...]) -> None:
    """IN_CUTS (e.g. VoxCeleb2 m4a) -> audio files under --audio-dir and OUT_CUTS pointing at them.

    Resumable: files already converted are reused; OUT_CUTS appears only when all are done.
    Reads no config value.
    """
    from spkssl.data.audio import AudioError
    from spkssl.data.convert import convert_cuts_audio

    load_cli_config(config, overrides)  # a typo in --set is an error here too

    try:
        convert_cuts_audio(in_cuts, out_cuts, audio_dir, fmt=fmt, num_jobs=nj)
    except AudioError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"converted cuts: {out_cuts}")


@prepare.command("shar", short_help="A cut set and its audio (FLAC) as Shar shards for training.")
@click.argument("cuts_path", metavar="CUTS", type=click.Path(exists=True, dir_okay=False))
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--shard-size", default=1000, show_default=True, type=click.IntRange(min=1), help="Cuts per shard.")
@click.option("--nj", default=1, show_default=True, type=click.IntRange(min=1), help="Parallel writers.")
@config_options
@force_option
def shar(cuts_path: str, out_dir: str, shard_size: int, nj: int, config: str | None, overrides: tuple[str, ...],
         force: bool) -> None:
    """Write CUTS with FLAC audio as Shar shards in OUT_DIR (cuts.N.jsonl.gz, recording.N.tar, index.json).

    Training reads them in sequence when the experiment's inputs.train_shar names OUT_DIR.
    Reads no config value.
    """
    from spkssl.data.audio import AudioError
    from spkssl.data.shar import SharError, export_shar

    load_cli_config(config, overrides)  # a typo in --set is an error here too
    try:
        index = export_shar(cuts_path, out_dir, shard_size=shard_size, num_jobs=nj, force=force)
    except (SharError, AudioError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{index.num_cuts} cuts in {len(index.shards)} shards: {out_dir}")


@prepare.command("aug-sources", short_help="Noise/music/babble/RIR source manifests.")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--musan", default=None,
              help="MUSAN root; without it (or empty) noise/music/babble are generated.")
@click.option("--rirs", default=None,
              help="RIRS_NOISES root; without it (or empty) RIRs are simulated.")
@click.option("--train-cuts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Training cut set for babble (needed without --musan).")
@click.option("--audio-dir", type=click.Path(file_okay=False), default=None,
              help="Where generated audio goes [default: OUT_DIR/../aug_audio].")
@click.option("--seed", default=0, show_default=True, type=int)
@config_options
def aug_sources(out_dir: str, musan: str | None, rirs: str | None, train_cuts: str | None,
                audio_dir: str | None, seed: int, config: str | None, overrides: tuple[str, ...]) -> None:
    """Write OUT_DIR/aug_{noise,music,babble,rir}_recordings.jsonl.gz (real corpora or generated)."""
    from spkssl.data.audio import AudioError
    from spkssl.data.augsources import AugSourcesError, prepare_aug_sources

    dcfg = _data_cfg(config, overrides)
    musan, rirs = musan or None, rirs or None  # a recipe passes its empty option on: simulate
    for flag, path in (("--musan", musan), ("--rirs", rirs)):
        if path is not None and not Path(path).is_dir():
            raise click.BadParameter(f"folder not found: {path}", param_hint=flag)
    try:
        paths = prepare_aug_sources(out_dir, musan, rirs, train_cuts, audio_dir, seed,
                                    dcfg["aug_sources"], int(dcfg["sampling_rate"]))
    except (AugSourcesError, AudioError) as exc:
        raise click.ClickException(str(exc)) from exc
    for kind, path in paths.items():
        click.echo(f"{kind}: {path}")


commands = [prepare]
