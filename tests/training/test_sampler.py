"""ResumableBatchSampler: seeded shuffling, resume position, DDP sharding."""
from __future__ import annotations

import pytest

from spkssl.training.sampler import ResumableBatchSampler


def _ids(batches):
    return [[i for i, _ in b] for b in batches]


def test_epochs_are_seeded_permutations() -> None:
    s = ResumableBatchSampler(10, batch_size=3, seed=5)
    assert len(s) == 3
    e0 = _ids(list(s))
    assert len({i for b in e0 for i in b}) == 9
    assert _ids(list(ResumableBatchSampler(10, 3, seed=5))) == e0  # same seed, same order
    s.set_epoch(1)
    assert _ids(list(s)) != e0


def test_resume_skips_consumed_batches_with_same_seeds() -> None:
    s = ResumableBatchSampler(12, batch_size=2, seed=1)
    s.set_epoch(3)
    full = list(s)
    r = ResumableBatchSampler(12, batch_size=2, seed=1)
    r.load_state_dict({"epoch": 3, "batch": 4})
    assert r.state_dict() == {"epoch": 3, "batch": 4, "items": 4 * r.batch_size}
    assert list(r) == full[4:]  # same cuts and same per-item seeds
    assert len(list(r)) == 6  # after a finished epoch the position resets


def test_ddp_shards_are_disjoint_and_equal() -> None:
    shards = [list(ResumableBatchSampler(11, 2, seed=0, rank=r, world_size=2)) for r in range(2)]
    a, b = ({i for bt in _ids(sh) for i in bt} for sh in shards)
    assert not a & b and len(shards[0]) == len(shards[1]) == 2
    seeds = [sd for sh in shards for bt in sh for _, sd in bt]
    assert len(set(seeds)) == len(seeds)


def test_errors() -> None:
    with pytest.raises(ValueError, match="cannot fill one batch"):
        ResumableBatchSampler(3, batch_size=4, seed=0)
    with pytest.raises(ValueError, match="rank"):
        ResumableBatchSampler(8, 2, seed=0, rank=2, world_size=2)
    with pytest.raises(ValueError, match="outside epoch"):
        ResumableBatchSampler(8, 2, seed=0).set_epoch(0, 9)


@pytest.mark.parametrize("before, after", [(2, 1), (1, 2), (2, 3)])
def test_resume_on_another_number_of_workers_sees_every_cut_once(before: int, after: int) -> None:
    """A checkpoint of ``before`` workers resumed on ``after``: the epoch's cuts, each exactly once, same seeds."""
    n, batch, epoch = 24, 2, 5
    first = [ResumableBatchSampler(n, batch, seed=3, rank=r, world_size=before) for r in range(before)]
    for s in first:
        s.set_epoch(epoch)
    done = 2  # batches every worker trained on before the checkpoint
    seen = [item for s in first for b in list(s)[:done] for item in b]
    state = {"epoch": epoch, "batch": done, "items": first[0].items_at(done)}
    rest = [ResumableBatchSampler(n, batch, seed=3, rank=r, world_size=after) for r in range(after)]
    for s in rest:
        s.load_state_dict(state)
    seen += [item for s in rest for b in s for item in b]
    cuts = [c for c, _ in seen]
    usable = n - (n - done * batch * before) % (batch * after)  # the last partial batch is dropped
    assert len(cuts) == len(set(cuts)) == usable  # nothing twice, nothing missing but the partial batch
    whole = ResumableBatchSampler(n, batch, seed=3)
    whole.set_epoch(epoch)
    seeds = {c: s for b in whole for c, s in b}
    assert all(seeds[c] == s for c, s in seen)  # each cut keeps its crop seed
