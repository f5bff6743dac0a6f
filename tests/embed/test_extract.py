"""Extraction on a few real speechocean762 files with a tiny TDNN: determinism, chunking, CLI, nj."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from lhotse import CutSet, Recording

from spkssl.config import load_defaults
from spkssl.embed.extract import ExtractionError, extract_cuts, model_embedder
from spkssl.embed.io import read_embeddings
from spkssl.features.frontend import FeatureFrontend

N_CUTS = 4


@pytest.fixture(scope="module")
def cuts_file(speechocean_dir: Path, tmp_path_factory) -> Path:
    lines = (speechocean_dir / "test" / "wav.scp").read_text().splitlines()[:N_CUTS]
    recs = [Recording.from_file(speechocean_dir / rel, recording_id=utt) for utt, rel in (l.split() for l in lines)]
    path = tmp_path_factory.mktemp("cuts") / "cuts.jsonl.gz"
    CutSet.from_manifests(recordings=recs).to_file(path)
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    from spkssl.models.io import save_final_model
    from spkssl.models import build_model

    torch.manual_seed(0)
    cfg = load_defaults()
    cfg["features"]["num_mel_bins"] = 24
    cfg["model"] = {"name": "tdnn", "embed_dim": 8, "pooling": "stats", "kwargs": {"channels": 16}}
    model = build_model(cfg["model"], 24)
    path = tmp_path_factory.mktemp("model") / "final.pt"
    save_final_model(path, model, cfg)
    return path


def _embedder(model_file):
    from spkssl.models.io import load_final_model

    model, cfg = load_final_model(model_file)
    return model_embedder(model), FeatureFrontend.from_config(cfg["features"])


def test_deterministic_and_chunk_average(cuts_file, model_file):
    cuts = CutSet.from_file(cuts_file)
    embed, front = _embedder(model_file)
    ids1, e1 = extract_cuts(cuts, embed, front, chunk_seconds=None, progress=False)
    ids2, e2 = extract_cuts(cuts, embed, front, chunk_seconds=None, progress=False)
    assert ids1 == [c.id for c in cuts] and e1.shape == (N_CUTS, 8)
    assert np.array_equal(e1, e2)  # bit-identical
    # chunked: the mean of the chunk embeddings computed by hand
    cut = cuts[0]
    from spkssl.features.fbank import apply_cmn, compute_fbank
    from spkssl.data.audio import load_cut_audio

    feats = apply_cmn(compute_fbank(load_cut_audio(cut), cut.sampling_rate, front.fbank))
    chunk = 100
    starts = list(range(0, len(feats) - chunk, chunk)) + [len(feats) - chunk]
    ref = np.mean([embed(feats[None, s:s + chunk])[0] for s in starts], axis=0)
    _, ec = extract_cuts(cuts.subset(first=1), embed, front, chunk_seconds=1.0, progress=False)
    assert len(feats) > 2 * chunk
    assert np.allclose(ec[0], ref, atol=1e-5)
    assert not np.allclose(ec[0], e1[0])


def test_duplicate_cut_ids_rejected(cuts_file, model_file):
    cuts = list(CutSet.from_file(cuts_file))
    embed, front = _embedder(model_file)
    with pytest.raises(ExtractionError, match="more than once"):
        extract_cuts([cuts[0], cuts[0]], embed, front, progress=False)


def test_cli_single_and_nj_agree(cuts_file, model_file, tmp_path):
    from spkssl.cli import cli

    r = CliRunner()
    one, two = tmp_path / "one", tmp_path / "two"
    base = ["extract", "--model", str(model_file), "--cuts", str(cuts_file), "--device", "cpu"]
    res = r.invoke(cli, base + ["--out-dir", str(one)])
    assert res.exit_code == 0, res.output
    res = r.invoke(cli, base + ["--out-dir", str(two), "--nj", "2"])
    assert res.exit_code == 0, res.output
    ids1, e1 = read_embeddings(one / "xvector.scp")
    ids2, e2 = read_embeddings(two / "embeddings.npz")
    assert ids1 == ids2 and np.array_equal(e1, e2)
    assert not (two / "split2").exists()
    # existing output is skipped unless --force true, which recomputes it
    before = (one / "embeddings.npz").stat().st_mtime_ns
    assert r.invoke(cli, base + ["--out-dir", str(one)]).exit_code == 0
    assert (one / "embeddings.npz").stat().st_mtime_ns == before
    assert r.invoke(cli, base + ["--out-dir", str(one), "--force", "true"]).exit_code == 0
    assert (one / "embeddings.npz").stat().st_mtime_ns > before
    assert np.array_equal(read_embeddings(one / "embeddings.npz")[1], e1)


def test_cli_follows_the_models_cmn_setting(cuts_file, model_file, tmp_path):
    """A network trained with ``features.cmn: false`` is fed raw log-mel at extraction too."""
    from spkssl.cli import cli
    from spkssl.features.fbank import compute_fbank
    from spkssl.data.audio import load_cut_audio
    from spkssl.models.io import load_final_model, save_final_model

    model, cfg = load_final_model(model_file)
    cfg["features"]["cmn"] = False
    raw_file = tmp_path / "raw.pt"
    save_final_model(raw_file, model, cfg)
    out = {}
    for name, path in (("cmn", model_file), ("raw", raw_file)):
        res = CliRunner().invoke(cli, ["extract", "--model", str(path), "--cuts", str(cuts_file), "--device", "cpu",
                                       "--out-dir", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        out[name] = read_embeddings(tmp_path / name / "embeddings.npz")[1]
    cut = CutSet.from_file(cuts_file)[0]
    feats = compute_fbank(load_cut_audio(cut), cut.sampling_rate, {**cfg["features"], "dither": 0.0})
    assert np.allclose(out["raw"][0], model_embedder(model)(feats[None])[0], atol=1e-5)
    assert not np.allclose(out["raw"], out["cmn"], atol=1e-3)


def test_cli_logmel_stats_baseline(cuts_file, tmp_path):
    from spkssl.cli import cli

    res = CliRunner().invoke(cli, ["extract", "--method", "logmel-stats", "--cuts", str(cuts_file),
                                   "--out-dir", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    ids, emb = read_embeddings(tmp_path / "b")
    assert emb.shape == (N_CUTS, 160) and (emb[:, 80:] > 0).all()  # mean ++ std of 80 bins


def test_stored_features_of_another_dimension_are_named(cuts_file, model_file, tmp_path):
    from spkssl.features.compute import compute_cutset_features

    stored = compute_cutset_features(CutSet.from_file(cuts_file).subset(first=1), tmp_path / "fbank",
                                     {"num_mel_bins": 40})
    embed, front = _embedder(model_file)
    with pytest.raises(ExtractionError, match=rf"cut '{stored[0].id}': stored features in .*fbank have 40 "
                                              r"dimensions, the network expects 24 \(features.num_mel_bins\)"):
        extract_cuts(stored, embed, front, progress=False)
