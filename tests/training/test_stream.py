"""Shar storage and the shard stream: write/read round trip, crop-only decoding, DDP and worker sharding
with no cut read twice, exact mid-epoch resume (stream and trainer)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lhotse import CutSet

from spkssl.augment.augment import fit_length
from spkssl.data.shar import SharError, ShardIndex, decode, decode_crop, export_shar, read_shard, shard_ids
from spkssl.training.stream import LabelTable, ShardStream, round_robin_counts
from spkssl.training.trainer import TrainOptions, train
from tests.training.conftest import make_cuts, tiny_cfg

NUM_CUTS = 30


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    """30 WAV cuts (0.3-1.2 s, 3 speakers) and their Shar export in shards of 4 (the last one has 2)."""
    tmp = tmp_path_factory.mktemp("shar")
    cuts = make_cuts(tmp / "data", [0.3 + 0.03 * i for i in range(NUM_CUTS)], num_speakers=3)
    export_shar(cuts, tmp / "shar", shard_size=4)
    return cuts, tmp / "shar"


def test_round_trip_keeps_ids_audio_and_metadata(corpus) -> None:
    cuts_path, shar = corpus
    index = ShardIndex.load(shar)
    assert index.num_cuts == NUM_CUTS and [s.num_cuts for s in index.shards] == [4] * 7 + [2]
    assert index.sampling_rate == 16000
    original = CutSet.from_file(cuts_path).to_eager()
    read = [(cut, decode(data, cut["id"])) for shard in index.shards for _, cut, data in read_shard(shard)]
    assert [c["id"] for c, _ in read] == [c.id for c in original]
    for cut, audio in read:
        assert np.array_equal(audio, original[cut["id"]].load_audio()[0])  # FLAC is lossless for 16-bit audio
        assert cut["supervisions"][0]["speaker"] == original[cut["id"]].supervisions[0].speaker
    assert list(shard_ids(index.shards[1])) == [c.id for c in original][4:8]


def test_crop_only_decoding_equals_decoding_then_cropping(corpus) -> None:
    _, shar = corpus
    for _, cut, data in read_shard(ShardIndex.load(shar).shards[5]):
        n = int(cut["recording"]["num_samples"])
        for length in (1000, 8000, 30000):
            for seed in range(3):
                got = decode_crop(data, n, length, np.random.default_rng(seed), cut["id"])
                want = fit_length(decode(data, cut["id"]), length, np.random.default_rng(seed))
                assert np.array_equal(got, want)


def test_export_is_skipped_when_done_and_errors_name_files(corpus, tmp_path: Path) -> None:
    cuts_path, shar = corpus
    before = (shar / "index.json").stat().st_mtime_ns
    export_shar(cuts_path, shar, shard_size=4)
    assert (shar / "index.json").stat().st_mtime_ns == before and not shar.with_name("shar.tmp").exists()
    with pytest.raises(SharError, match="index.json not found"):
        ShardIndex.load(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.json").write_text((shar / "index.json").read_text())
    with pytest.raises(SharError, match="shard file.*missing"):
        ShardIndex.load(broken)


def _label_item(crop, rng, label):
    return crop(800, rng), label


def _labels_by_position(shar: Path, drop: set[int] = frozenset()) -> LabelTable:
    ids = [i for s in ShardIndex.load(shar).shards for i in shard_ids(s)]
    keep = [(i, k) for k, i in enumerate(ids) if k not in drop]
    return LabelTable([i for i, _ in keep], [k for _, k in keep])


def _epoch(stream: ShardStream, epoch: int, start: int = 0) -> list[tuple[np.ndarray, int]]:
    stream.set_epoch(epoch, start)
    loader = stream.loader(lambda items: items)
    return [item for _, batch in zip(range(len(stream) - start), loader) for item in batch]


def test_ddp_ranks_and_workers_read_every_kept_cut_at_most_once(corpus) -> None:
    _, shar = corpus
    dropped = {3, 17, 22}  # e.g. purified away: never read
    table = _labels_by_position(shar, dropped)
    seen: list[int] = []
    for rank in (0, 1):
        stream = ShardStream(ShardIndex.load(shar), _label_item, batch_size=2, seed=5, table=table, rank=rank,
                             world_size=2, num_workers=2, epochs=3)
        items = _epoch(stream, epoch=1)
        assert len(items) == len(stream) * 2
        seen += [label for _, label in items]
    assert len(seen) == len(set(seen)), "a cut was read twice in one epoch"
    assert not set(seen) & dropped
    readers = 4
    assert NUM_CUTS - len(dropped) - len(seen) <= readers * (2 - 1) + 2 * 4  # partial batches, rank balance


def test_resume_mid_epoch_continues_with_the_same_items(corpus) -> None:
    _, shar = corpus
    stream = ShardStream(ShardIndex.load(shar), _label_item, batch_size=2, seed=5,
                         table=_labels_by_position(shar), num_workers=2, epochs=2, window=3)
    full = _epoch(stream, epoch=1)
    for start in (1, 4, len(stream) - 1):
        rest = _epoch(stream, epoch=1, start=start)
        assert [label for _, label in rest] == [label for _, label in full[2 * start:]]
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(rest, full[2 * start:]))
    assert [label for _, label in _epoch(stream, epoch=0)] != [label for _, label in full]  # reshuffled
    assert round_robin_counts([1, 3], 3) == ([1, 2], 0)  # worker 0 is done: the turn passes on


def test_trainer_on_shards_resumes_exactly(corpus, tmp_path: Path) -> None:
    cuts_path, shar = corpus
    cfg = tiny_cfg(batch_size=3, epochs=2, average_last=1, num_workers=0)
    ref = train(cfg, TrainOptions("contrastive", cuts_path, tmp_path / "ref", shar=shar))
    assert ref["status"] == "done" and ref["num_cuts"] == NUM_CUTS
    steps = ref["steps"]
    assert train(cfg, TrainOptions("contrastive", cuts_path, tmp_path / "run", shar=shar,
                                   max_steps=steps // 2 + 1))["status"] == "stopped"  # mid-epoch 2
    res = train(cfg, TrainOptions("contrastive", cuts_path, tmp_path / "run", shar=shar))
    assert res["steps"] == steps and res["resumed_from"]
    a = torch.load(tmp_path / "ref" / "final.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "run" / "final.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    summary = json.loads((tmp_path / "run" / "train_summary.json").read_text())
    assert summary["epoch_losses"] == ref["epoch_losses"]
