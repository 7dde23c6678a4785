"""Training pairs and batches: every caption of every clip, never two captions of one clip in a batch.

The paper trains on (clip, caption) pairs: 5 per clip, 24420 per epoch on Clotho's train split.
In a contrastive batch every other caption is a negative for a clip; a second caption of the same clip
would be a false negative, so :class:`NoSameClipBatchSampler` keeps them apart:

- each epoch deals the captions in five *rounds*; round ``r`` holds one (shuffled) caption of every
  clip, in a fresh random clip order, so each clip is seen once per fifth of an epoch;
- batches are filled from that stream; a pair whose clip is already in the batch being filled is
  deferred to the next batch (this only happens where two rounds meet);
- every pair comes out exactly once per epoch; near the end of an epoch a batch may be smaller than
  ``batch_size`` when only captions of clips already in it are left (``drop_last`` drops those).

:func:`collate_pairs` pads audio with zeros to the longest clip of the batch (``audio_lengths`` holds
the true lengths) and builds teacher-forcing captions ``caption_in = [bos w1..wn]`` and
``caption_out = [w1..wn eos]``, padded with 0, into a :class:`PairBatch`; :func:`collate_clips` batches
whole clips (with all their references) into a :class:`ClipBatch`.

Notebook: ``notebooks/01_data.ipynb`` (section "Batches").
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, TypeVar

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from clipaac_lib.data.audio import pad_batch
from clipaac_lib.data.clotho import ClothoItem
from clipaac_lib.data.text import BOS_ID, EOS_ID, PAD_ID, Vocabulary

__all__ = ["CaptionPairs", "PairItem", "PairBatch", "ClipBatch", "NoSameClipBatchSampler", "collate_pairs",
           "collate_clips", "teacher_forcing_tokens"]


class _ClipDataset(Protocol):
    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> Any: ...
    def captions(self, index: int) -> list[str]: ...


class PairItem(TypedDict):
    clip_index: int
    audio: torch.Tensor
    caption: str
    file_name: str


_Batch = TypeVar("_Batch", "PairBatch", "ClipBatch")


def _pinned(batch: _Batch) -> _Batch:
    """A copy of ``batch`` with every tensor field in pinned (page-locked) memory."""
    changes = {f.name: value.pin_memory() for f in dataclasses.fields(batch)
               if isinstance(value := getattr(batch, f.name), Tensor)}
    return dataclasses.replace(batch, **changes)


@dataclass(frozen=True, eq=False)
class PairBatch:
    """A training batch of (clip, caption) pairs, as :func:`collate_pairs` builds it (and
    :func:`clipaac_lib.train.setup.collate_train`, which adds ``text_tokens``).

    Immutable: derive a changed batch with ``dataclasses.replace(batch, audio=...)``. Torch's
    ``DataLoader(pin_memory=True)`` calls :meth:`pin_memory`; batches pickle, so loader workers can
    send them. Notebook: ``notebooks/01_data.ipynb`` (section "Batches").
    """

    audio: Tensor  # (B, S) float32 in [-1, 1] or int16 samples, zero-padded to the longest clip
    audio_lengths: Tensor  # (B,) long: the true samples of each clip
    caption_in: Tensor  # (B, M) long: <bos> w1..wn, padded with <pad>
    caption_out: Tensor  # (B, M) long: w1..wn <eos>, padded with <pad>
    captions: list[str]  # (B,) the raw caption strings
    clip_index: Tensor  # (B,) long: the clip of each pair in its dataset
    file_names: list[str]  # (B,) the clip files
    text_tokens: Tensor | None = None  # (B, 77) long CLIP BPE ids of the captions (filled by collate_train)

    def pin_memory(self) -> PairBatch:
        """A copy with every tensor in pinned memory (for asynchronous copies to the GPU)."""
        return _pinned(self)


@dataclass(frozen=True, eq=False)
class ClipBatch:
    """An evaluation or captioning batch of clips with all their references, as :func:`collate_clips`
    builds it.

    Immutable (``dataclasses.replace`` derives a changed one); :meth:`pin_memory` serves
    ``DataLoader(pin_memory=True)``; batches pickle. Notebook: ``notebooks/01_data.ipynb``.
    """

    audio: Tensor  # (B, S) float32 in [-1, 1] or int16 samples, zero-padded to the longest clip
    audio_lengths: Tensor  # (B,) long: the true samples of each clip
    captions: list[list[str]]  # (B, 5 on Clotho) the reference captions of each clip
    file_names: list[str]  # (B,) the clip files

    def pin_memory(self) -> ClipBatch:
        """A copy with every tensor in pinned memory (for asynchronous copies to the GPU)."""
        return _pinned(self)


class CaptionPairs(Dataset[PairItem]):
    """One item per (clip, caption) of a clip dataset: ``len = 5 * len(ds)`` on Clotho.

    Item ``k`` is ``dict(clip_index, audio, caption, file_name)``. Captions are read without audio
    (``ds.captions(i)``), so building the pair list is cheap. Notebook: ``notebooks/01_data.ipynb``.
    """

    def __init__(self, dataset: _ClipDataset) -> None:
        self.dataset = dataset
        self.clip_indices: list[int] = []
        self.caption_indices: list[int] = []
        for clip in range(len(dataset)):
            for j in range(len(dataset.captions(clip))):
                self.clip_indices.append(clip)
                self.caption_indices.append(j)

    def __len__(self) -> int:
        return len(self.clip_indices)

    def __getitem__(self, index: int) -> PairItem:
        clip, j = self.clip_indices[index], self.caption_indices[index]
        item = self.dataset[clip]
        return {"clip_index": clip, "audio": item["audio"], "caption": item["captions"][j],
                "file_name": item["file_name"]}


class NoSameClipBatchSampler(Sampler[list[int]]):
    """Batches of pair indices with at most one caption per clip, covering every pair once per epoch.

    Use as ``DataLoader(pairs, batch_sampler=sampler, collate_fn=...)`` and call
    :meth:`set_epoch` before each epoch (the order depends on ``seed`` and the epoch). With
    ``captions_per_clip=k`` an epoch holds only k randomly chosen captions of each clip (new ones each
    epoch): ``1`` makes an epoch one pass over the clips rather than over the pairs.
    Notebook: ``notebooks/01_data.ipynb``.
    """

    def __init__(self, pairs: CaptionPairs, batch_size: int, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, captions_per_clip: int | None = None) -> None:
        if captions_per_clip is not None and captions_per_clip < 1:
            raise ValueError(f"captions_per_clip must be >= 1 or None, got {captions_per_clip}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.clip_of = np.asarray(pairs.clip_indices, dtype=np.int64)
        self.num_clips = int(self.clip_of.max()) + 1 if self.clip_of.size else 0
        if batch_size > self.num_clips:
            raise ValueError(f"batch_size {batch_size} is larger than the number of clips ({self.num_clips}): "
                             "a batch cannot hold two captions of one clip, so use batch_size <= the clip count")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        self.captions_per_clip = captions_per_clip
        self._by_clip: list[list[int]] = [[] for _ in range(self.num_clips)]
        for pair, clip in enumerate(self.clip_of.tolist()):
            self._by_clip[clip].append(pair)
        self._plan: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order the next iteration produces."""
        self.epoch = int(epoch)

    def _stream(self) -> list[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        per_clip = [list(p) for p in self._by_clip]
        if self.shuffle:
            for pairs in per_clip:
                rng.shuffle(pairs)
        if self.captions_per_clip is not None:
            per_clip = [pairs[: self.captions_per_clip] for pairs in per_clip]
        stream: list[int] = []
        for r in range(max((len(p) for p in per_clip), default=0)):
            order = rng.permutation(self.num_clips) if self.shuffle else np.arange(self.num_clips)
            stream.extend(per_clip[c][r] for c in order.tolist() if r < len(per_clip[c]))
        return stream

    def _batches(self) -> list[list[int]]:
        if self._plan is not None and self._plan[0] == self.epoch:
            return self._plan[1]
        pending: deque[int] = deque(self._stream())
        batches: list[list[int]] = []
        while pending:
            batch: list[int] = []
            clips: set[int] = set()
            deferred: list[int] = []
            while pending and len(batch) < self.batch_size:
                pair = pending.popleft()
                clip = int(self.clip_of[pair])
                if clip in clips:
                    deferred.append(pair)
                else:
                    batch.append(pair)
                    clips.add(clip)
            pending.extendleft(reversed(deferred))  # deferred pairs lead the next batch, in order
            batches.append(batch)
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        self._plan = (self.epoch, batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from (list(b) for b in self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def teacher_forcing_tokens(captions: Sequence[str], vocab: Vocabulary, max_words: int = 30
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """The decoder's input and target for each caption: ``caption_in`` = <bos> w1..wn and ``caption_out``
    = w1..wn <eos>, both (B, M) long padded with <pad>, ``M = 1 + the longest caption`` (at most
    ``max_words`` words)."""
    encoded = [vocab.encode(caption)[:max_words] for caption in captions]
    width = 1 + max(len(ids) for ids in encoded)
    caption_in = torch.full((len(encoded), width), PAD_ID, dtype=torch.long)  # (B, M)
    caption_out = torch.full((len(encoded), width), PAD_ID, dtype=torch.long)  # (B, M)
    for i, ids in enumerate(encoded):
        caption_in[i, : len(ids) + 1] = torch.tensor([BOS_ID, *ids], dtype=torch.long)
        caption_out[i, : len(ids) + 1] = torch.tensor([*ids, EOS_ID], dtype=torch.long)
    return caption_in, caption_out


def collate_pairs(items: Sequence[PairItem], vocab: Vocabulary, max_words: int = 30) -> PairBatch:
    """Batch pair items: padded audio and teacher-forcing captions (see the module docstring).

    Returns a :class:`PairBatch`: ``audio (B, S)`` float32 (int16 from int16 items, see
    :func:`~clipaac_lib.data.pad_batch`), ``audio_lengths (B,)`` long, ``caption_in (B, M)``
    and ``caption_out (B, M)`` long with ``M = 1 + the longest caption (at most max_words words)``,
    ``captions`` (raw strings), ``clip_index (B,)`` long and ``file_names`` (``text_tokens`` is None).
    """
    if max_words < 1:
        raise ValueError(f"max_words must be >= 1, got {max_words}")
    audio, audio_lengths = pad_batch([item["audio"] for item in items])  # (B, S), (B,)
    caption_in, caption_out = teacher_forcing_tokens([item["caption"] for item in items], vocab, max_words)
    return PairBatch(
        audio=audio,
        audio_lengths=audio_lengths,
        caption_in=caption_in,
        caption_out=caption_out,
        captions=[item["caption"] for item in items],
        clip_index=torch.tensor([int(item["clip_index"]) for item in items], dtype=torch.long),
        file_names=[item["file_name"] for item in items],
    )


def collate_clips(items: Sequence[ClothoItem]) -> ClipBatch:
    """Batch :class:`~clipaac_lib.data.ClothoDataset` items for evaluation and captioning.

    Returns a :class:`ClipBatch`: ``audio (B, S)``, ``audio_lengths (B,)``, ``captions`` (B lists of 5
    references) and ``file_names``.
    """
    audio, audio_lengths = pad_batch([item["audio"] for item in items])  # (B, S), (B,)
    return ClipBatch(audio=audio, audio_lengths=audio_lengths, captions=[list(i["captions"]) for i in items],
                     file_names=[item["file_name"] for item in items])
