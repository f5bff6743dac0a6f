"""``spkssl extract`` / ``spkssl extract-part``: embed a cut set into Kaldi ark/scp + npz.

Example::

    spkssl extract --model exp/x/round0/final.pt --cuts data/manifests/test_cuts.jsonl.gz \\
        --out-dir exp/x/round0/embeddings/test --nj 4 --cmd "$extract_cmd"
    spkssl extract --method logmel-stats --cuts data/manifests/test_cuts.jsonl.gz \\
        --out-dir exp/baseline/embeddings/test

With ``--nj N`` the cut set is split into N contiguous parts; with ``--cmd`` they run
as ``<cmd> JOB=1:N OUT/log/extract.JOB.log spkssl extract-part ... JOB N`` (Kaldi
launcher convention), else one after another in this process.  The parts are merged
in cut-set order into ``xvector.ark/.scp`` and ``embeddings.npz``, then removed.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from spkssl.config import ConfigError, load_defaults, load_resolved
from spkssl.embed.extract import (
    ExtractionError, extract_cuts, logmel_stats_embedder, model_embedder, resolve_device, split_indices,
)
from spkssl.embed.io import NPZ_NAME, EmbeddingError, embeddings_done, read_embeddings, write_embeddings
from spkssl.utils.logging import get_logger
from spkssl.utils.threads import share_cpu

log = get_logger(__name__)
METHODS = ("model", "logmel-stats")


def _configs(config: str | None) -> dict[str, Any]:
    return load_defaults() if config is None else load_resolved(config)


def extract_part(model: str | None, method: str, cuts_path: str, out_dir: Path, config: str | None,
                 device: str | None, batch_frames: int | None, part: int = 1, num_parts: int = 1) -> None:
    """Embed part ``part`` of ``num_parts`` of the cut set into ``out_dir`` (ark/scp/npz)."""
    from lhotse import CutSet

    cfg = _configs(config)
    ext = cfg["extract"]
    feat_cfg = cfg["features"]
    if method == "model":
        if model is None:
            raise click.UsageError("--model is required unless --method logmel-stats")
        from spkssl.models.io import load_final_model

        dev = resolve_device(device or ext["device"])
        net, model_cfg = load_final_model(model, dev)
        feat_cfg = model_cfg["features"]  # the features the network was trained on
        cmn = bool(feat_cfg.get("cmn", True))  # models saved before features.cmn existed used CMN
        embedder, chunk = model_embedder(net, dev), ext["chunk_seconds"]
    else:
        embedder, cmn, chunk = logmel_stats_embedder, False, None  # stats over whole utterances
    cuts = CutSet.from_file(cuts_path)
    if num_parts > 1:
        cuts = cuts.to_eager()
        cuts = CutSet.from_cuts(cuts[i] for i in split_indices(len(cuts), num_parts, part))
    ids, emb = extract_cuts(cuts, embedder, {**feat_cfg, "dither": 0.0}, chunk,
                            int(batch_frames or ext["max_batch_frames"]), cmn=cmn)
    write_embeddings(out_dir, ids, emb)
    log.info("embedded %d cuts (%s, dim %d) into %s", len(ids), method, emb.shape[1], out_dir)


def _merge_parts(cuts_path: str, part_dirs: list[Path], out_dir: Path) -> None:
    from lhotse import CutSet

    order = [c.id for c in CutSet.from_file(cuts_path)]
    ids: list[str] = []
    rows = []
    for d in part_dirs:
        if not embeddings_done(d):
            raise ExtractionError(f"extraction part {d} did not finish (no {NPZ_NAME}); see its log")
        i, e = read_embeddings(d / NPZ_NAME)
        ids += i
        rows.append(e)
    emb = np.concatenate(rows)
    pos = {u: k for k, u in enumerate(ids)}
    if len(pos) != len(ids):
        raise ExtractionError("the same cut was embedded by two parts")
    missing = [u for u in order if u not in pos]
    if missing or len(ids) != len(order):
        raise ExtractionError(f"{len(missing)} cut(s) have no embedding after merging, e.g. {missing[:5]}")
    write_embeddings(out_dir, order, emb[[pos[u] for u in order]])


def _self_command() -> list[str]:
    exe = shutil.which("spkssl")
    return [exe] if exe else [sys.executable, "-c", "from spkssl.cli import cli; cli()"]


_COMMON = [
    click.option("--model", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="A final.pt written by training (not needed for --method logmel-stats)."),
    click.option("--method", type=click.Choice(METHODS), default="model", show_default=True,
                 help="model: the network; logmel-stats: untrained log-mel mean+std baseline."),
    click.option("--cuts", "cuts_path", required=True, type=click.Path(exists=True, dir_okay=False),
                 help="Lhotse cut set (jsonl.gz); stored features are used when present."),
    click.option("--out-dir", required=True, type=click.Path(file_okay=False)),
    click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="Resolved experiment config.yaml (sections extract, features)."),
    click.option("--device", default=None, help="auto, cpu, cuda, cuda:N (default: extract.device)."),
    click.option("--batch-frames", type=int, default=None, help="Frames per forward pass (default: extract.max_batch_frames)."),
]


def _common(f):
    for opt in reversed(_COMMON):
        f = opt(f)
    return f


@click.command("extract")
@_common
@click.option("--nj", type=int, default=1, show_default=True, help="Number of parts.")
@click.option("--cmd", default=None, help='Job launcher, e.g. "local/run_local.sh" (Kaldi JOB=1:N convention).')
@click.option("--force", is_flag=True, help="Re-extract even if embeddings.npz exists.")
def extract_cmd(model, method, cuts_path, out_dir, config, device, batch_frames, nj, cmd, force) -> None:
    """Embed every cut of CUTS into OUT_DIR/xvector.{ark,scp} and embeddings.npz."""
    out = Path(out_dir)
    if embeddings_done(out) and not force:
        log.info("%s already holds embeddings; skipping (use --force to redo)", out)
        return
    try:
        if nj <= 1 and not cmd:
            extract_part(model, method, cuts_path, out, config, device, batch_frames)
            return
        nj = max(nj, 1)
        split = out / f"split{nj}"
        parts = [split / str(j) for j in range(1, nj + 1)]
        if cmd:
            args = _self_command() + ["extract-part", "--method", method, "--cuts", cuts_path,
                                      "--out-dir", str(split / "JOB")]
            for flag, val in (("--model", model), ("--config", config), ("--device", device),
                              ("--batch-frames", batch_frames)):
                if val is not None:
                    args += [flag, str(val)]
            line = f"{cmd} JOB=1:{nj} {shlex.quote(str(out / 'log' / 'extract.JOB.log'))} " \
                   + " ".join(shlex.quote(a) for a in args) + f" JOB {nj}"
            log.info("running: %s", line)
            rc = subprocess.run(line, shell=True).returncode
            if rc != 0:
                raise ExtractionError(f"extraction jobs failed (exit {rc}); see {out / 'log'}/extract.*.log")
        else:
            for j, d in enumerate(parts, 1):
                extract_part(model, method, cuts_path, d, config, device, batch_frames, j, nj)
        _merge_parts(cuts_path, parts, out)
        shutil.rmtree(split)
    except (ExtractionError, EmbeddingError, ConfigError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("extract-part")
@_common
@click.argument("job", type=int)
@click.argument("num_jobs", type=int)
def extract_part_cmd(model, method, cuts_path, out_dir, config, device, batch_frames, job, num_jobs) -> None:
    """Embed part JOB of NUM_JOBS contiguous parts of CUTS into OUT_DIR (used by extract --cmd)."""
    share_cpu(parallel_jobs=num_jobs)
    try:
        extract_part(model, method, cuts_path, Path(out_dir), config, device, batch_frames, job, num_jobs)
    except (ExtractionError, EmbeddingError, ConfigError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc


commands = [extract_cmd, extract_part_cmd]
