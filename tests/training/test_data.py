"""Training data: raw crops + augmentation choices per item, batches, labels, workers, and equality with
the per-segment path it replaced (crop → Augmentor → kaldi-native-fbank → CMN, one segment at a time)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lhotse import CutSet

from spkssl.augment.augment import Augmentor, fit_length, load_sources
from spkssl.data.audio import load_cut_audio
from spkssl.features.batch_frontend import BatchFrontend
from spkssl.features.frontend import FeatureFrontend
from spkssl.training.audio import TrainingAudio
from spkssl.training.data import FeatBatch, SegmentDataset, build_label_map, make_loader
from spkssl.training.objectives import ClassificationObjective, ContrastiveObjective, Objective
from spkssl.training.sampler import ResumableBatchSampler
from tests.training.conftest import tiny_cfg

FRAMES = 50  # 0.5 s crops, 10 ms shift


def _audio(cuts_path: Path, labels: bool = False) -> TrainingAudio:
    return TrainingAudio.from_file(cuts_path, 16000, need_speakers=labels)


def _dataset(obj: Objective, audio: TrainingAudio, cfg: dict) -> SegmentDataset:
    return SegmentDataset(audio, obj.make_item, cfg["train"]["seed"], obj.labels(audio.speakers))


def test_contrastive_items_and_batches(cuts_path: Path, aug_dir: Path) -> None:
    cfg = tiny_cfg(num_segments=3)
    audio = _audio(cuts_path)
    assert audio.lengths[0] < 8000 < audio.lengths[2]  # one cut shorter than a crop
    obj = ContrastiveObjective(cfg, None, Augmentor(load_sources(aug_dir), cfg["augment"], 16000), 16)
    ds = _dataset(obj, audio, cfg)
    crops, draws, label = ds[(2, 11)]
    assert crops.shape == (3, 8000) and len(draws) == 3 and label is None
    assert not np.array_equal(crops[0], crops[1])  # independent crops
    again = ds[(2, 11)]
    assert np.array_equal(again[0], crops) and not np.array_equal(ds[(2, 12)][0], crops)
    batch = obj.featurize(obj.collate([ds[(0, 1)], ds[(2, 11)]]), BatchFrontend(cfg["features"]))
    assert isinstance(batch, FeatBatch) and batch.feats.shape == (2, 3, FRAMES, 24) and batch.labels is None
    assert torch.isfinite(batch.feats).all()
    assert batch.feats.mean(dim=2).abs().max() < 1e-3  # CMN per crop


def test_cmn_off_keeps_the_long_term_spectrum(cuts_path: Path) -> None:
    cfg = tiny_cfg()
    obj = ContrastiveObjective(cfg, None, None, 16)
    raw = obj.collate([_dataset(obj, _audio(cuts_path), cfg)[(2, 5)]])
    with_cmn = obj.featurize(raw, BatchFrontend(cfg["features"])).feats
    plain = obj.featurize(raw, BatchFrontend({**cfg["features"], "cmn": False})).feats
    assert plain.mean(dim=2).abs().max() > 1.0  # log-mel levels are kept
    assert torch.allclose(plain - plain.mean(dim=2, keepdim=True), with_cmn, atol=1e-4)  # only CMN differs


def test_classification_labels_and_map(cuts_path: Path, tmp_path: Path) -> None:
    audio = _audio(cuts_path, labels=True)
    obj = ClassificationObjective(tiny_cfg(), audio.speakers, None, 16)
    assert obj.label_map == {"spk0": 0, "spk1": 1, "spk2": 2} and obj.num_classes == 3
    ds = _dataset(obj, audio, tiny_cfg())
    crops, draws, label = ds[(4, 0)]
    assert crops.shape == (1, 8000) and draws is None and label == 1
    batch = obj.featurize(obj.collate([ds[(4, 0)], ds[(0, 0)]]), BatchFrontend(tiny_cfg()["features"]))
    assert batch.feats.shape == (2, FRAMES, 24) and batch.labels.tolist() == [1, 0]
    obj.prepare(tmp_path, is_main=True)
    assert json.loads((tmp_path / "spk2id.json").read_text()) == obj.label_map


def test_bad_inputs_name_the_cut(cuts_path: Path) -> None:
    cuts = list(CutSet.from_file(cuts_path))
    nolabel = cuts[0].with_id("lonely")
    nolabel.supervisions = []
    with pytest.raises(ValueError, match="lonely"):
        TrainingAudio([nolabel], 16000, need_speakers=True)
    with pytest.raises(ValueError, match="num_segments"):
        ContrastiveObjective(tiny_cfg(num_segments=1), None, None, 16)
    with pytest.raises(ValueError, match=f"cut '{cuts[0].id}' is 16000 Hz but features.sampling_rate is 8000"):
        TrainingAudio(cuts, 8000)
    assert build_label_map(["b", "a", "b"]) == {"a": 0, "b": 1}


def test_loader_with_worker_matches_main_process(cuts_path: Path) -> None:
    cfg = tiny_cfg()
    obj = ContrastiveObjective(cfg, None, None, 16)
    ds = _dataset(obj, _audio(cuts_path), cfg)
    batches = {}
    for workers in (0, 1):
        loader = make_loader(ds, ResumableBatchSampler(len(ds), 2, seed=3), workers, obj.collate)
        batches[workers] = list(loader)
    assert len(batches[0]) == 3 and batches[0][0].wave.shape == (4, 8000) and batches[0][0].per_item == 2
    assert all(torch.equal(a.wave, b.wave) for a, b in zip(batches[0], batches[1]))


def test_same_crops_draws_and_features_as_the_per_segment_path(cuts_path: Path, aug_dir: Path) -> None:
    """The batched path gives what crop → Augmentor → kaldi-native-fbank → CMN gave, segment by segment."""
    cfg = tiny_cfg(num_segments=2)
    cuts = list(CutSet.from_file(cuts_path))
    augmentor = Augmentor(load_sources(aug_dir), cfg["augment"], 16000)
    obj = ContrastiveObjective(cfg, None, augmentor, 16)
    ds = _dataset(obj, _audio(cuts_path), cfg)
    front = FeatureFrontend.from_config(cfg["features"])
    for index, seed in ((0, 3), (2, 8), (5, 21)):
        rng = np.random.default_rng([cfg["train"]["seed"], seed])  # the old dataset's item RNG
        audio = load_cut_audio(cuts[index])
        old = []
        for _ in range(2):
            seg = fit_length(audio, 8000, rng)
            old.append(front(augmentor(seg, rng), 16000))
        new = obj.featurize(obj.collate([ds[(index, seed)]]), BatchFrontend(cfg["features"])).feats[0]
        assert np.abs(new.numpy() - np.stack(old)).max() < 0.05, index  # float32 FFTs; see tests/features
        assert np.abs(new.numpy() - np.stack(old)).mean() < 1e-3
