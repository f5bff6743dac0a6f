"""Training datasets: shapes for short and long cuts, labels, determinism, DataLoader with workers."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lhotse import CutSet

from spkssl.augment.augment import Augmentor, load_sources
from spkssl.training.data import (
    ClassificationDataset, ContrastiveDataset, build_label_map, collate_classification, collate_contrastive,
    make_loader, save_label_map,
)
from spkssl.training.sampler import ResumableBatchSampler
from tests.training.conftest import tiny_cfg

from spkssl.features.fbank import compute_fbank, fbank_cfg

FRAMES = compute_fbank(np.zeros(8000, np.float32), 16000, fbank_cfg(tiny_cfg()["features"])).shape[0]


def test_contrastive_shapes_short_and_long(cuts_path: Path, aug_dir: Path) -> None:
    cfg = tiny_cfg(num_segments=3)
    cuts = list(CutSet.from_file(cuts_path))
    assert cuts[0].duration < 0.5 < cuts[2].duration  # one cut shorter than a crop
    ds = ContrastiveDataset(cuts, cfg, Augmentor(load_sources(aug_dir), cfg["augment"], 16000))
    for i in (0, 2):
        x = ds[(i, 11)]
        assert x.shape == (3, FRAMES, 24) and x.dtype == torch.float32
        assert torch.isfinite(x).all()
        assert x.mean(dim=1).abs().max() < 1e-3  # CMN per crop
        assert not torch.allclose(x[0], x[1])  # independent crops / augmentation
    assert torch.equal(ds[(2, 11)], ds[(2, 11)]) and not torch.equal(ds[(2, 11)], ds[(2, 12)])


def test_cmn_off_keeps_the_long_term_spectrum(cuts_path: Path) -> None:
    cuts = list(CutSet.from_file(cuts_path))
    cfg = tiny_cfg()
    with_cmn = ContrastiveDataset(cuts, cfg, None)[(2, 5)]
    cfg["features"]["cmn"] = False
    raw = ContrastiveDataset(cuts, cfg, None)[(2, 5)]
    assert raw.mean(dim=1).abs().max() > 1.0  # log-mel levels are kept
    assert torch.allclose(raw - raw.mean(dim=1, keepdim=True), with_cmn, atol=1e-4)  # same crops, only CMN differs


def test_classification_labels_and_map(cuts_path: Path, tmp_path: Path) -> None:
    cfg = tiny_cfg()
    cuts = list(CutSet.from_file(cuts_path))
    ds = ClassificationDataset(cuts, cfg, None)
    assert ds.label_map == {"spk0": 0, "spk1": 1, "spk2": 2} and ds.num_classes == 3
    feats, label = ds[(4, 0)]
    assert feats.shape == (FRAMES, 24) and label == 1
    save_label_map(ds.label_map, tmp_path / "spk2id.json")
    assert json.loads((tmp_path / "spk2id.json").read_text()) == ds.label_map


def test_bad_inputs_name_the_cut(cuts_path: Path) -> None:
    cuts = list(CutSet.from_file(cuts_path))
    nolabel = cuts[0].with_id("lonely")
    nolabel.supervisions = []
    with pytest.raises(ValueError, match="lonely"):
        build_label_map([nolabel])
    with pytest.raises(ValueError, match="num_segments"):
        ContrastiveDataset(cuts, tiny_cfg(num_segments=1), None)
    cfg = tiny_cfg()
    cfg["features"]["sampling_rate"] = 8000
    with pytest.raises(ValueError, match=cuts[0].id):
        ContrastiveDataset(cuts, cfg, None)[(0, 0)]


def test_loader_with_worker_matches_main_process(cuts_path: Path) -> None:
    cfg = tiny_cfg()
    ds = ContrastiveDataset(list(CutSet.from_file(cuts_path)), cfg, None)
    batches = {}
    for workers in (0, 1):
        loader = make_loader(ds, ResumableBatchSampler(len(ds), 2, seed=3), workers, collate_contrastive)
        batches[workers] = list(loader)
    assert len(batches[0]) == 3 and batches[0][0].shape == (2, 2, FRAMES, 24)
    assert all(torch.equal(a, b) for a, b in zip(batches[0], batches[1]))
    labels = [lab for _, lab in make_loader(ClassificationDataset(ds.cuts, cfg, None),
                                            ResumableBatchSampler(6, 3, seed=3), 0, collate_classification)]
    assert sorted(np.concatenate([t.numpy() for t in labels]).tolist()) == [0, 0, 1, 1, 2, 2]
