"""Caption pairs, the no-same-clip batch sampler and collation."""

from __future__ import annotations

import dataclasses
import itertools
import pickle
from functools import partial
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from clipaac_lib.data import (
    CaptionPairs,
    ClipBatch,
    ClothoDataset,
    NoSameClipBatchSampler,
    PairBatch,
    Vocabulary,
    collate_clips,
    collate_pairs,
)
from clipaac_lib.data.text import BOS_ID, EOS_ID
from tests.test_data_fixtures import CLIPS, write_clotho_folder


class FakeClips:
    """A clip dataset without audio files: clip i has captions 'clip i caption j'."""

    def __init__(self, n: int, per_clip: int = 5) -> None:
        self.n, self.per_clip = n, per_clip

    def __len__(self) -> int:
        return self.n

    def captions(self, i: int) -> list[str]:
        return [f"clip {i} caption {j}" for j in range(self.per_clip)]

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"file_name": f"{i}.wav", "audio": torch.full((10 + i,), float(i)), "captions": self.captions(i)}


def test_caption_pairs_cover_every_caption_of_every_clip() -> None:
    pairs = CaptionPairs(FakeClips(7))  # type: ignore[arg-type]
    assert len(pairs) == 35
    seen = {(pairs[k]["clip_index"], pairs[k]["caption"]) for k in range(len(pairs))}
    assert seen == {(i, f"clip {i} caption {j}") for i in range(7) for j in range(5)}
    item = pairs[12]
    assert item["clip_index"] == 2 and item["file_name"] == "2.wav" and torch.equal(item["audio"], torch.full((12,), 2.0))


@pytest.mark.parametrize(("clips", "batch_size"), [(7, 7), (7, 3), (50, 8), (13, 16 - 3), (101, 16), (20, 1)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_sampler_never_repeats_a_clip_and_covers_every_pair_once(clips: int, batch_size: int, shuffle: bool) -> None:
    pairs = CaptionPairs(FakeClips(clips))  # type: ignore[arg-type]
    sampler = NoSameClipBatchSampler(pairs, batch_size, shuffle=shuffle, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        for batch in batches:
            batch_clips = [pairs.clip_indices[k] for k in batch]
            assert len(set(batch_clips)) == len(batch_clips), batch_clips
            assert 1 <= len(batch) <= batch_size
        flat = sorted(itertools.chain.from_iterable(batches))
        assert flat == list(range(len(pairs)))  # every pair exactly once
        # only the tail of an epoch may hold short batches
        short = [i for i, b in enumerate(batches) if len(b) < batch_size]
        assert len(short) <= 5 and all(i >= len(batches) - 5 for i in short)


def test_sampler_order_depends_on_seed_and_epoch_only() -> None:
    pairs = CaptionPairs(FakeClips(30))  # type: ignore[arg-type]
    a = NoSameClipBatchSampler(pairs, 8, seed=1)
    b = NoSameClipBatchSampler(pairs, 8, seed=1)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first
    assert list(NoSameClipBatchSampler(pairs, 8, seed=2)) != first
    # each fifth of the epoch shows every clip once (round structure)
    flat = list(itertools.chain.from_iterable(first))
    assert sorted(pairs.clip_indices[k] for k in flat[:30]) == list(range(30))


def test_sampler_drop_last_and_impossible_batch_size() -> None:
    pairs = CaptionPairs(FakeClips(11))  # type: ignore[arg-type]
    sampler = NoSameClipBatchSampler(pairs, 4, drop_last=True)
    batches = list(sampler)
    assert all(len(b) == 4 for b in batches) and len(batches) == len(sampler) >= 55 // 4 - 1
    with pytest.raises(ValueError, match="larger than the number of clips"):
        NoSameClipBatchSampler(pairs, 12)


def test_collate_pairs_builds_teacher_forcing_targets() -> None:
    vocab = Vocabulary.build(["a dog barks", "rain falls"])  # a=4 barks=5 dog=6 falls=7 rain=8 (ties: alphabet)
    items = [
        {"clip_index": 3, "audio": torch.tensor([0.1, 0.2, 0.3]), "caption": "A dog barks!", "file_name": "x.wav"},
        {"clip_index": 9, "audio": torch.tensor([-0.5]), "caption": "Rain falls, a cat", "file_name": "y, z.wav"},
    ]
    batch = collate_pairs(items, vocab)  # type: ignore[arg-type]
    assert isinstance(batch, PairBatch) and batch.text_tokens is None  # collate_train adds the CLIP ids
    assert torch.equal(batch.audio, torch.tensor([[0.1, 0.2, 0.3], [-0.5, 0.0, 0.0]]))
    assert batch.audio_lengths.tolist() == [3, 1]
    assert batch.caption_in.tolist() == [[BOS_ID, 4, 6, 5, 0], [BOS_ID, 8, 7, 4, 3]]
    assert batch.caption_out.tolist() == [[4, 6, 5, EOS_ID, 0], [8, 7, 4, 3, EOS_ID]]
    assert batch.caption_in.dtype == torch.long and batch.clip_index.tolist() == [3, 9]
    assert batch.captions == ["A dog barks!", "Rain falls, a cat"] and batch.file_names == ["x.wav", "y, z.wav"]
    # max_words truncates the words (bos/eos still added)
    short = collate_pairs(items, vocab, max_words=2)  # type: ignore[arg-type]
    assert short.caption_in.tolist() == [[BOS_ID, 4, 6], [BOS_ID, 8, 7]]
    assert short.caption_out.tolist() == [[4, 6, EOS_ID], [8, 7, EOS_ID]]


def test_dataloader_end_to_end_on_a_clotho_folder(tmp_path: Path) -> None:
    write_clotho_folder(tmp_path)
    ds = ClothoDataset(tmp_path, "train", sample_rate=16000, progress=False)
    pairs = CaptionPairs(ds)
    assert len(pairs) == 5 * len(ds) == 25
    vocab = Vocabulary.build(c for i in range(len(ds)) for c in ds.captions(i))
    sampler = NoSameClipBatchSampler(pairs, batch_size=4, seed=0)
    loader = DataLoader(pairs, batch_sampler=sampler, collate_fn=partial(collate_pairs, vocab=vocab))
    seen = []
    for batch in loader:
        b = batch.audio.shape[0]
        assert batch.caption_in.shape[0] == b and batch.audio_lengths.max() == batch.audio.shape[1]
        assert len(set(batch.clip_index.tolist())) == b
        for k in range(b):  # the decoded target is the normalised raw caption
            expected = " ".join(vocab.decode(batch.caption_out[k]).split())
            assert expected == " ".join(vocab.decode(vocab.encode(batch.captions[k])).split())
        seen += list(zip(batch.clip_index.tolist(), batch.captions, strict=True))
    assert sorted(seen) == sorted((i, c) for i in range(len(ds)) for c in ds.captions(i))
    clips = collate_clips([ds[0], ds[1]])
    assert isinstance(clips, ClipBatch)
    assert clips.audio.shape[0] == 2 and clips.captions[1] == list(CLIPS[1].captions)
    assert clips.file_names == [ds[0]["file_name"], ds[1]["file_name"]] and clips.audio_lengths.shape == (2,)


def _pair_batch() -> PairBatch:
    vocab = Vocabulary.build(["a dog barks", "rain falls"])
    items = [{"clip_index": 3, "audio": torch.tensor([0.1, 0.2, 0.3]), "caption": "a dog barks", "file_name": "x.wav"},
             {"clip_index": 9, "audio": torch.tensor([-0.5]), "caption": "rain falls", "file_name": "y.wav"}]
    return collate_pairs(items, vocab)  # type: ignore[arg-type]


def test_batches_pickle_for_loader_workers_and_are_immutable() -> None:
    batch = dataclasses.replace(_pair_batch(), text_tokens=torch.zeros(2, 77, dtype=torch.long))
    again = pickle.loads(pickle.dumps(batch))  # what a worker process sends through its queue
    assert isinstance(again, PairBatch) and again.captions == batch.captions
    assert all(torch.equal(getattr(again, f.name), getattr(batch, f.name))
               for f in dataclasses.fields(batch) if isinstance(getattr(batch, f.name), torch.Tensor))
    clips = ClipBatch(audio=torch.zeros(1, 4), audio_lengths=torch.tensor([4]), captions=[["a", "b"]],
                      file_names=["c.wav"])
    assert pickle.loads(pickle.dumps(clips)).captions == [["a", "b"]]
    with pytest.raises(dataclasses.FrozenInstanceError):
        batch.audio = torch.zeros(2, 3)  # type: ignore[misc]
    from_worker = next(iter(DataLoader([0], batch_size=1, num_workers=1, collate_fn=_collate_any)))
    assert isinstance(from_worker, PairBatch) and torch.equal(from_worker.audio, _pair_batch().audio)


def _collate_any(_: list[int]) -> PairBatch:
    return _pair_batch()


def test_pin_memory_returns_a_copy_with_every_tensor_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """DataLoader(pin_memory=True) calls ``batch.pin_memory()``; here a stand-in marks the pinned copies
    (pinning itself needs an accelerator)."""
    pinned: list[torch.Tensor] = []

    def fake_pin(self: torch.Tensor) -> torch.Tensor:
        pinned.append(self.clone())
        return pinned[-1]

    batch = _pair_batch()
    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    copy = batch.pin_memory()
    assert isinstance(copy, PairBatch) and copy is not batch
    assert {id(copy.audio), id(copy.audio_lengths), id(copy.caption_in), id(copy.caption_out),
            id(copy.clip_index)} == {id(t) for t in pinned}  # every tensor, text_tokens None stays None
    assert copy.text_tokens is None and copy.captions == batch.captions and copy.file_names == batch.file_names
    assert torch.equal(copy.audio, batch.audio)
    clips = ClipBatch(audio=torch.zeros(1, 4), audio_lengths=torch.tensor([4]), captions=[["a"]], file_names=["c"])
    pinned.clear()
    copied = clips.pin_memory()
    assert isinstance(copied, ClipBatch) and {id(copied.audio), id(copied.audio_lengths)} == {id(t) for t in pinned}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="pinned memory needs CUDA")
def test_a_pinning_loader_delivers_pinned_pair_batches() -> None:
    loader = DataLoader([0], batch_size=1, collate_fn=lambda _: _pair_batch(), pin_memory=True)
    batch = next(iter(loader))
    assert isinstance(batch, PairBatch) and batch.audio.is_pinned() and batch.clip_index.is_pinned()
