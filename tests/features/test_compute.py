"""compute-fbank: lossless storage (== compute_fbank), on-the-fly parity, skip, bad audio named."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from lhotse import CutSet, Recording
from lhotse.cut import MonoCut

from spkssl.config import with_defaults
from spkssl.cli import cli
from spkssl.data.audio import AudioError, load_cut_audio
from spkssl.features.compute import compute_and_store, compute_cutset_features
from spkssl.features.extractor import KnfFbank
from spkssl.features.fbank import compute_fbank


def _cuts(tmp_path: Path, n: int = 3) -> CutSet:
    cuts = []
    for i in range(n):
        p = tmp_path / "audio" / f"u{i}.wav"
        p.parent.mkdir(exist_ok=True)
        sf.write(p, np.random.default_rng(i).uniform(-0.3, 0.3, 8000 + 977 * i).astype(np.float32),
                 16000, subtype="PCM_16")
        rec = Recording.from_file(p)
        cuts.append(MonoCut(id=rec.id, start=0, duration=rec.duration, channel=0, recording=rec))
    return CutSet.from_cuts(cuts)


def test_stored_equals_compute_fbank(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path)
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    out = tmp_path / "cuts_fbank.jsonl.gz"
    res = CliRunner().invoke(cli, ["compute-fbank", str(path), str(out), "--storage-dir",
                                   str(tmp_path / "fbank"), "--nj", "2"])
    assert res.exit_code == 0, res.output
    stored = CutSet.from_file(out).to_eager()
    assert list(stored.ids) == list(cuts.ids)
    for cut in stored:
        ref = compute_fbank(load_cut_audio(cut), 16000)
        feats = cut.load_features()
        assert cut.features.type == "knf-fbank" and cut.num_features == 80
        np.testing.assert_array_equal(feats, ref)  # lossless
        np.testing.assert_array_equal(cut.compute_features(KnfFbank()), ref)  # on the fly
    # second run is skipped and leaves the manifest untouched
    before = out.read_bytes()
    assert compute_and_store(path, out, tmp_path / "fbank2") is False
    assert out.read_bytes() == before and not (tmp_path / "fbank2").exists()


def test_missing_and_corrupt_audio_named(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, 2)
    (tmp_path / "audio" / "u1.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(AudioError, match=r"cut 'u1'.*u1.wav"):
        compute_cutset_features(cuts, tmp_path / "f")
    (tmp_path / "audio" / "u1.wav").unlink()
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    out = tmp_path / "out.jsonl.gz"
    res = CliRunner().invoke(cli, ["compute-fbank", str(path), str(out), "--storage-dir", str(tmp_path / "f")])
    assert res.exit_code != 0 and "'u1'" in res.output and "u1.wav" in res.output
    assert not out.exists() and not list(tmp_path.glob(".tmp*"))


def test_snip_edges_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="snip_edges"):
        compute_cutset_features(_cuts(tmp_path, 1), tmp_path / "f", {"snip_edges": True})


def test_a_rerun_after_a_kill_leaves_one_file_per_cut(tmp_path: Path) -> None:
    cuts = _cuts(tmp_path, 4)
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    storage = tmp_path / "fbank"
    compute_cutset_features(cuts.subset(first=2), storage)  # a killed attempt got this far
    compute_and_store(path, tmp_path / "cuts_fbank.jsonl.gz", storage)
    files = sorted(p.name for p in storage.rglob("*.npy"))
    assert files == sorted(f"{c.id}.npy" for c in cuts)  # named after the cuts: overwritten, not added


def test_the_manifest_loads_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cuts = _cuts(tmp_path, 1)
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["compute-fbank", str(path), "out.jsonl.gz", "--storage-dir", "fbank"])
    assert res.exit_code == 0, res.output
    monkeypatch.chdir(tmp_path / "audio")
    cut = CutSet.from_file(tmp_path / "out.jsonl.gz")[0]
    assert cut.features.storage_path == str(tmp_path / "fbank")
    assert cut.load_features().shape[1] == 80


def test_an_existing_manifest_made_with_other_options_is_refused(tmp_path: Path) -> None:
    from spkssl.features.provenance import FeatureMismatch, read_options

    cuts = _cuts(tmp_path, 1)
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    out = tmp_path / "cuts_fbank.jsonl.gz"
    compute_and_store(path, out, tmp_path / "fbank")
    assert read_options(out)["options"]["num_mel_bins"] == 80
    assert compute_and_store(path, out, tmp_path / "fbank") is False  # same options: skipped
    with pytest.raises(FeatureMismatch, match=r"cuts_fbank.jsonl.gz holds features made with "
                                              r"features.num_mel_bins=80 \(the config: 40\)"):
        compute_and_store(path, out, tmp_path / "fbank", {"num_mel_bins": 40})
    assert compute_and_store(path, out, tmp_path / "fbank", {"num_mel_bins": 40}, force=True) is True
    assert CutSet.from_file(out)[0].num_features == 40


def test_the_torch_backend_stores_its_features_and_a_switch_needs_force(tmp_path: Path) -> None:
    """features.backend=torch: torch-fbank features, within its tolerance of kaldi-native-fbank;
    the manifest records the backend, so a config asking for the other one is refused."""
    from spkssl.features.frontend import FeatureFrontend
    from spkssl.features.provenance import FeatureMismatch

    cuts = _cuts(tmp_path)
    path = tmp_path / "cuts.jsonl.gz"
    cuts.to_file(path)
    out = tmp_path / "cuts_fbank.jsonl.gz"
    res = CliRunner().invoke(cli, ["compute-fbank", str(path), str(out), "--storage-dir", str(tmp_path / "fbank"),
                                   "--set", "features.backend=torch"])
    assert res.exit_code == 0, res.output
    stored = CutSet.from_file(out).to_eager()
    assert all(c.features.type == "torch-fbank" for c in stored)
    front = FeatureFrontend.from_config(with_defaults("features", {"backend": "torch", "cmn": False}))
    for cut, orig in zip(stored, cuts):
        knf = compute_fbank(load_cut_audio(orig), 16000)
        assert np.array_equal(cut.load_features(), front.fbank_of(load_cut_audio(orig), 16000))
        assert np.abs(cut.load_features() - knf).max() < 0.1 and not np.array_equal(cut.load_features(), knf)
    with pytest.raises(FeatureMismatch, match=r"features.backend='torch' \(the config: 'knf'\)"):
        compute_and_store(path, out, tmp_path / "fbank", None, backend="knf")
    assert compute_and_store(path, out, tmp_path / "fbank", None, backend="knf", force=True)
    assert CutSet.from_file(out)[0].features.type == "knf-fbank"
