"""ShardedBatchSampler: its length is the number of batches each rank yields, and the ranks' shards
rebuild every global batch that is not skipped (notebook ``notebooks/05_train.ipynb``)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

import pytest
import torch
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

from clipaac_lib.data.batching import CaptionPairs, NoSameClipBatchSampler
from clipaac_lib.train.distributed import ShardedBatchSampler

WORLD_SIZES = range(1, 6)


def _check(global_batches: list[list[int]], batch_sampler: Iterable[list[int]], world_size: int) -> None:
    """Each rank yields ``len(sampler)`` batches; the shards of rank 0..N-1, concatenated, are exactly the
    global batches of at least ``world_size`` items, in order; shard sizes differ by at most one."""
    samplers = [ShardedBatchSampler(batch_sampler, rank, world_size) for rank in range(world_size)]
    shards = [list(s) for s in samplers]
    kept = [b for b in global_batches if len(b) >= world_size]
    for rank, (sampler, batches) in enumerate(zip(samplers, shards, strict=True)):
        assert len(sampler) == len(batches) == len(kept), (rank, world_size, [len(b) for b in global_batches])
    for i, batch in enumerate(kept):
        pieces = [shards[rank][i] for rank in range(world_size)]
        assert [x for piece in pieces for x in piece] == batch
        sizes = [len(piece) for piece in pieces]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


def test_lists_of_uneven_batches_over_a_grid() -> None:
    rng = random.Random(0)
    for num_batches, world_size, _trial in itertools.product(range(7), WORLD_SIZES, range(8)):
        sizes = [rng.randint(0, 9) for _ in range(num_batches)]
        start = [0, *itertools.accumulate(sizes)]
        batches = [list(range(start[i], start[i + 1])) for i in range(num_batches)]
        _check(batches, batches, world_size)


def test_a_short_last_batch_is_not_counted_when_skipped() -> None:
    batches = [[0, 1, 2, 3], [4, 5, 6, 7], [8]]  # the last one cannot feed 2 processes
    assert [len(ShardedBatchSampler(batches, rank, 2)) for rank in range(2)] == [2, 2]
    assert len(ShardedBatchSampler(batches, 0, 1)) == 3


@pytest.mark.parametrize("drop_last", [False, True])
def test_torch_batch_sampler_over_a_grid(drop_last: bool) -> None:
    for n, batch_size, world_size in itertools.product(range(21), range(1, 8), WORLD_SIZES):
        batch_sampler = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
        _check(list(batch_sampler), batch_sampler, world_size)


def test_length_of_a_random_torch_batch_sampler_leaves_the_global_generator_alone() -> None:
    batch_sampler = BatchSampler(RandomSampler(range(23)), 5, drop_last=False)
    torch.manual_seed(0)
    before = torch.get_rng_state()
    assert [len(ShardedBatchSampler(batch_sampler, 0, w)) for w in (1, 3, 4)] == [5, 5, 4]
    assert torch.equal(torch.get_rng_state(), before)


class _Clips:
    """Clips with a given number of captions each (no audio: the sampler reads only captions)."""

    def __init__(self, captions_per_clip: list[int]) -> None:
        self.counts = captions_per_clip

    def __len__(self) -> int:
        return len(self.counts)

    def __getitem__(self, index: int) -> dict[str, object]:
        raise NotImplementedError

    def captions(self, index: int) -> list[str]:
        return [f"clip {index} caption {j}" for j in range(self.counts[index])]


def test_no_same_clip_sampler_every_epoch() -> None:
    """The training sampler: short batches near the end of an epoch (one clip with many captions)."""
    rng = random.Random(1)
    for num_clips, batch_size, world_size in itertools.product((3, 7, 12), (2, 3, 5), WORLD_SIZES):
        if batch_size > num_clips:
            continue
        counts = [rng.randint(1, 5) for _ in range(num_clips)]
        counts[0] = 9  # its captions are left over at the end of the epoch: batches of one item
        sampler = NoSameClipBatchSampler(CaptionPairs(_Clips(counts)), batch_size, seed=num_clips)
        for epoch in range(3):
            sampler.set_epoch(epoch)
            _check(list(sampler), sampler, world_size)


def test_a_one_shot_iterator_has_no_length() -> None:
    sampler = ShardedBatchSampler(iter([[0, 1], [2, 3]]), 0, 2)
    with pytest.raises(TypeError, match="one-shot"):
        len(sampler)
