"""spkssl.features.provenance: stored features remember their options; a config asking for others is refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from lhotse import CutSet, MonoCut, Recording

from spkssl.features.compute import compute_cutset_features
from spkssl.features.fbank import complete_fbank_cfg
from spkssl.features.provenance import FeatureMismatch, check_manifest, options_path, write_options


def _manifest(tmp_path: Path, bins: int) -> Path:
    wav = tmp_path / "u.wav"
    sf.write(wav, np.zeros(8000, np.float32), 16000)
    rec = Recording.from_file(wav)
    cuts = CutSet.from_cuts([MonoCut(id="u", start=0, duration=rec.duration, channel=0, recording=rec)])
    out = tmp_path / f"cuts_fbank{bins}.jsonl.gz"
    compute_cutset_features(cuts, tmp_path / "fbank", {"num_mel_bins": bins}).to_file(out)
    return out


def test_recorded_options_are_compared_key_by_key(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, 80)
    write_options(manifest, complete_fbank_cfg({}), "knf-fbank", "cuts.jsonl.gz")
    check_manifest(manifest, complete_fbank_cfg({}), "exp/a/config.yaml")
    with pytest.raises(FeatureMismatch) as info:
        check_manifest(manifest, complete_fbank_cfg({"num_mel_bins": 40, "low_freq": 40.0}), "exp/b/config.yaml")
    message = str(info.value)
    assert f"{manifest} holds features made with features.low_freq=20.0 (the config: 40.0), " in message
    assert "features.num_mel_bins=80 (the config: 40), which exp/b/config.yaml does not ask for" in message
    assert "run.sh --data-dir" in message and "--stage 3 --force true" in message


def test_a_manifest_from_before_the_options_file_is_checked_on_its_dimension(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, 80)
    assert not options_path(manifest).exists()
    check_manifest(manifest, complete_fbank_cfg({"low_freq": 40.0}), "c")  # not recorded: cannot be checked
    with pytest.raises(FeatureMismatch, match=r"features.num_mel_bins=80 \(the config: 40\)"):
        check_manifest(manifest, complete_fbank_cfg({"num_mel_bins": 40}), "c")


def test_nothing_to_check_without_stored_features(tmp_path: Path) -> None:
    check_manifest(tmp_path / "absent.jsonl.gz", complete_fbank_cfg({}), "c")
