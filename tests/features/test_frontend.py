"""The feature front-end: one object for training crops and extraction, defaults from features.yaml only."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from spkssl.config import ConfigError, load_config, with_defaults
from spkssl.features.fbank import compute_fbank
from spkssl.features.frontend import FeatureFrontend
from tests.training.conftest import make_cuts


def test_completes_the_section_and_normalises() -> None:
    front = FeatureFrontend.from_config(with_defaults("features", {"num_mel_bins": 24}))
    assert front.num_mel_bins == 24 and front.frame_shift_ms == 10.0 and front.cmn
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    feats = front(x, 16000)
    assert np.allclose(feats.mean(axis=0), 0.0, atol=1e-4)
    assert np.array_equal(front.without_cmn()(x, 16000), compute_fbank(x, 16000, {"num_mel_bins": 24}))
    dithered = FeatureFrontend.from_config(with_defaults("features", {"dither": 1.0}))
    assert dithered.deterministic().fbank["dither"] == 0.0
    with pytest.raises(ConfigError, match="unknown config key 'features.num_bins'"):
        FeatureFrontend.from_config(with_defaults("features", {"num_bins": 3}))


def test_a_changed_yaml_default_changes_training_and_extraction_alike(edit_defaults, tmp_path: Path) -> None:
    """Edit features.yaml (24 bins, no CMN): the training crop and the extracted features change together."""
    from spkssl.cli import cli
    from spkssl.embed.extract import cut_features
    from spkssl.embed.io import read_embeddings
    from spkssl.models import build_model
    from spkssl.models.io import save_final_model
    from spkssl.features.batch_frontend import BatchFrontend
    from spkssl.training.audio import TrainingAudio
    from spkssl.training.data import SegmentDataset
    from spkssl.training.objectives import ClassificationObjective
    from lhotse import CutSet

    cuts_path = make_cuts(tmp_path, [2.0, 2.0], num_speakers=2)  # exactly one 2 s crop: the whole cut
    edit_defaults("features", num_mel_bins=24, cmn=False)
    cfg = load_config(None, ["model.name=tdnn", "model.embed_dim=8", "model.kwargs.channels=8"])
    assert cfg["features"]["num_mel_bins"] == 24 and cfg["features"]["cmn"] is False

    cut = CutSet.from_file(cuts_path)[0]
    audio = TrainingAudio.from_file(cuts_path, 16000, need_speakers=True)
    objective = ClassificationObjective(cfg, audio.speakers, None, 8)
    dataset = SegmentDataset(audio, objective.make_item, 0, objective.labels(audio.speakers))
    batch = objective.featurize(objective.collate([dataset[(0, 0)]]), BatchFrontend(cfg["features"]))
    crop = batch.feats[0]
    extracted = cut_features(cut, FeatureFrontend.from_config(cfg["features"]))
    assert crop.shape[1] == extracted.shape[1] == 24
    assert np.abs(crop.numpy() - extracted).max() < 0.05  # torch fbank in training, kaldi-native-fbank here
    assert np.abs(extracted.mean(axis=0)).max() > 1.0  # raw log-mel: no CMN in either

    torch.manual_seed(0)
    model = build_model(cfg["model"], 24).eval()
    save_final_model(tmp_path / "final.pt", model, cfg)
    r = CliRunner().invoke(cli, ["extract", "--model", str(tmp_path / "final.pt"), "--cuts", str(cuts_path),
                                 "--out-dir", str(tmp_path / "emb"), "--set", "extract.device=cpu"])
    assert r.exit_code == 0, r.output
    ids, emb = read_embeddings(tmp_path / "emb")
    with torch.no_grad():
        expected = model(crop[None]).numpy()[0]
    assert np.allclose(emb[ids.index(cut.id)], expected, atol=1e-3)
