"""Evaluation of a CLIP-AAC model on a split: captions, caption metrics and audio-text retrieval.

One pass over the clips encodes each clip once and yields

- a caption per clip (greedy or beam search, :mod:`clipaac_lib.train.decode`), scored against the
  clip's references with :func:`clipaac_lib.metrics.evaluate_captions` over the whole split at once
  (CIDEr-D's document frequencies come from the evaluated corpus);
- the audio embedding A of each clip and the text embedding T of each reference caption, from which
  :func:`retrieval_recall` computes audio-to-text and text-to-audio recall@1/5/10: a direct check that
  the contrastive head (section 2.2 of the paper) learns;
- optionally the teacher-forced caption negative log-likelihood per token (no label smoothing).

Notebook: ``notebooks/04_metrics.ipynb`` (metrics) and ``notebooks/05_train.ipynb`` (evaluation of a run).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from clipaac_lib.data.batching import teacher_forcing_tokens
from clipaac_lib.train.decode import DecodeConfig, search

__all__ = [
    "SplitOutputs",
    "retrieval_recall",
    "chance_recall",
    "run_split",
    "score_split",
]


@dataclass
class SplitOutputs:
    """What one pass over a split produced (``captions`` is None when decoding was off)."""

    file_names: list[str]
    references: list[list[str]]
    audio_emb: Tensor  # (N, L) float32, CPU
    text_emb: Tensor  # (sum of references, L) float32, CPU
    text_clip: Tensor  # (sum of references,) long: the clip of each reference
    captions: list[str] | None
    caption_nll: float | None  # mean per token, no label smoothing


def retrieval_recall(audio_emb: Tensor, text_emb: Tensor, text_clip: Tensor,
                     ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k of audio-to-text and text-to-audio retrieval by cosine similarity.

    ``audio_emb`` (N, L) one row per clip, ``text_emb`` (M, L) one row per caption, ``text_clip`` (M,)
    the clip index of each caption. Audio-to-text: clip i scores a hit at k when one of its own captions
    is among the k most similar captions; text-to-audio: caption j scores a hit when its clip is among
    the k most similar clips. Ties count against the query (a constant embedding gets chance-or-worse
    recall, never 1). Returns ``{"a2t_r1": ..., "t2a_r1": ..., ...}`` as fractions.
    """
    if audio_emb.ndim != 2 or text_emb.ndim != 2 or audio_emb.shape[1] != text_emb.shape[1]:
        raise ValueError(f"expected (N, L) and (M, L) embeddings; got {tuple(audio_emb.shape)} and "
                         f"{tuple(text_emb.shape)}")
    if text_clip.shape != (text_emb.shape[0],):
        raise ValueError(f"text_clip must have one clip index per caption ({text_emb.shape[0]}); "
                         f"got shape {tuple(text_clip.shape)}")
    n_clips = audio_emb.shape[0]
    if text_clip.numel() and (int(text_clip.min()) < 0 or int(text_clip.max()) >= n_clips):
        raise ValueError(f"text_clip values must be clip indices in [0, {n_clips})")
    sim = F.normalize(audio_emb.float(), dim=-1) @ F.normalize(text_emb.float(), dim=-1).T  # (N, M)
    positive = text_clip[None, :] == torch.arange(n_clips)[:, None]  # (N, M)
    # audio -> text: negatives at least as similar as the clip's best caption
    best_pos = sim.masked_fill(~positive, -math.inf).max(dim=1).values  # (N,)
    a2t_rank = ((sim >= best_pos[:, None]) & ~positive).sum(dim=1)  # (N,)
    # text -> audio: other clips at least as similar as the caption's own clip
    own = sim.gather(0, text_clip[None, :])[0]  # (M,)
    t2a_rank = ((sim >= own[None, :]) & ~positive).sum(dim=0)  # (M,)
    out: dict[str, float] = {}
    for k in ks:
        out[f"a2t_r{k}"] = float((a2t_rank < k).float().mean())
        out[f"t2a_r{k}"] = float((t2a_rank < k).float().mean())
    return out


def chance_recall(n_clips: int, captions_per_clip: int = 5, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Expected recall@k of random embeddings: t2a ``k / N``; a2t ``1 - C(M - P, k) / C(M, k)``
    (the chance that one of a clip's P captions is among k captions drawn from M = N P)."""
    total = n_clips * captions_per_clip
    out: dict[str, float] = {}
    for k in ks:
        kk = min(k, total)
        out[f"a2t_r{k}"] = 1.0 - math.comb(total - captions_per_clip, kk) / math.comb(total, kk)
        out[f"t2a_r{k}"] = min(1.0, k / n_clips)
    return out


@torch.no_grad()
def run_split(model: Any, dataset: Dataset, vocab: Any, *, device: torch.device | str = "cpu",
              batch_size: int = 32, decode: DecodeConfig | None = None, nll: bool = False,
              max_words: int = 30, num_workers: int = 0, autocast: bool = False,
              progress: bool = False, desc: str = "evaluating") -> SplitOutputs:
    """Encode every clip of ``dataset`` once; decode captions when ``decode`` is given; embed every
    reference caption; with ``nll`` also the teacher-forced caption loss. The model is put in eval mode
    (and back to its previous mode afterwards)."""
    from tqdm.auto import tqdm

    from clipaac_lib.data import collate_clips
    from clipaac_lib.model import tokenize

    device = torch.device(device)
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=collate_clips, generator=torch.Generator())
    amp = (torch.autocast(device.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext())
    file_names: list[str] = []
    references: list[list[str]] = []
    audio_embs, text_embs, text_clip = [], [], []
    captions: list[str] = []
    nll_sum, nll_tokens = 0.0, 0
    try:
        for batch in tqdm(loader, desc=desc, disable=not progress, leave=False):
            refs: list[list[str]] = batch["captions"]
            flat = [c for clip in refs for c in clip]
            owner = [len(references) + i for i, clip in enumerate(refs) for _ in clip]
            with amp:
                enc = model.encode_audio(batch["audio"].to(device), batch["audio_lengths"].to(device))  # audio_emb (B, L), memory (B, T, D)
                text_embs.append(model.encode_text(tokenize(flat).to(device)).float().cpu())  # (R, L)
                if decode is not None:
                    result = search(model, enc.memory, enc.memory_mask, decode)
                    captions.extend(vocab.decode(row) for row in result.tokens)
                if nll:
                    counts = torch.tensor([len(clip) for clip in refs], device=device)
                    memory = enc.memory.repeat_interleave(counts, dim=0)  # (R, T, D)
                    mask = None if enc.memory_mask is None else enc.memory_mask.repeat_interleave(counts, dim=0)
                    caption_in, caption_out = teacher_forcing_tokens(flat, vocab, max_words)
                    logits = model.decode(memory, caption_in.to(device), mask)  # (R, M, V)
                    target = caption_out.to(device)
                    nll_sum += float(F.cross_entropy(logits.float().transpose(1, 2), target, ignore_index=0,
                                                     reduction="sum"))
                    nll_tokens += int((target != 0).sum())
            audio_embs.append(enc.audio_emb.float().cpu())
            text_clip.extend(owner)
            file_names.extend(batch["file_names"])
            references.extend(refs)
    finally:
        model.train(was_training)
    return SplitOutputs(
        file_names=file_names,
        references=references,
        audio_emb=torch.cat(audio_embs),
        text_emb=torch.cat(text_embs),
        text_clip=torch.tensor(text_clip, dtype=torch.long),
        captions=captions if decode is not None else None,
        caption_nll=nll_sum / max(nll_tokens, 1) if nll else None,
    )


def score_split(outputs: SplitOutputs, *, caption_metrics: bool = True) -> dict[str, Any]:
    """Corpus caption metrics (when captions were decoded and ``caption_metrics``), retrieval recall
    and its chance level, as one JSON-ready dict."""
    n_clips = len(outputs.file_names)
    per_clip = max((len(r) for r in outputs.references), default=5)
    scores: dict[str, Any] = {
        "num_clips": n_clips,
        "retrieval": retrieval_recall(outputs.audio_emb, outputs.text_emb, outputs.text_clip),
        "retrieval_chance": chance_recall(n_clips, per_clip),
        "metrics": None,
        "caption_nll": outputs.caption_nll,
    }
    if outputs.captions is not None and caption_metrics:
        from clipaac_lib.metrics import evaluate_captions

        scores["metrics"] = evaluate_captions(outputs.captions, outputs.references)
    return scores
