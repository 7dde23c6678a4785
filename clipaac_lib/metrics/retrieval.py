"""Audio-text retrieval recall and text-to-audio mAP@10: a direct check that the contrastive head (paper
section 2.2) learns.

mAP@10 is the metric of the DCASE language-based audio retrieval task: each caption query has exactly one
relevant clip, so its average precision at 10 is ``1 / rank`` of that clip when it is ranked within the
top 10 and 0 otherwise; mAP@10 is the mean over the queries.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["retrieval_recall", "retrieval_map", "chance_recall", "chance_map"]


def _similarity(audio_emb: Tensor, text_emb: Tensor, text_clip: Tensor) -> tuple[Tensor, Tensor]:
    """Cosine similarity (N, M) of every clip with every caption, and which pairs belong together
    (N, M) bool; the shapes and clip indices checked first. Non-finite similarities become -inf."""
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
    # a non-finite similarity (a NaN embedding) ranks last: -inf, below every real one and tied with the
    # other failures (ties count against the query), never a hit (NaN >= x is False for every x)
    sim = sim.masked_fill(~torch.isfinite(sim), -math.inf)
    positive = text_clip[None, :] == torch.arange(n_clips)[:, None]  # (N, M)
    return sim, positive


def _t2a_rank(sim: Tensor, positive: Tensor, text_clip: Tensor) -> Tensor:
    """(M,) 0-based rank of each caption's own clip: the other clips at least as similar as it (ties
    count against the query)."""
    own = sim.gather(0, text_clip[None, :])[0]  # (M,)
    return ((sim >= own[None, :]) & ~positive).sum(dim=0)


def retrieval_recall(audio_emb: Tensor, text_emb: Tensor, text_clip: Tensor,
                     ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k of audio-to-text and text-to-audio retrieval by cosine similarity.

    ``audio_emb`` (N, L) one row per clip, ``text_emb`` (M, L) one row per caption, ``text_clip`` (M,)
    the clip index of each caption. Audio-to-text: clip i scores a hit at k when one of its own captions
    is among the k most similar captions; text-to-audio: caption j scores a hit when its clip is among
    the k most similar clips. Ties count against the query (a constant embedding gets chance-or-worse
    recall, never 1). Returns ``{"a2t_r1": ..., "t2a_r1": ..., ...}`` as fractions.
    """
    sim, positive = _similarity(audio_emb, text_emb, text_clip)
    # audio -> text: negatives at least as similar as the clip's best caption
    best_pos = sim.masked_fill(~positive, -math.inf).max(dim=1).values  # (N,)
    a2t_rank = ((sim >= best_pos[:, None]) & ~positive).sum(dim=1)  # (N,)
    t2a_rank = _t2a_rank(sim, positive, text_clip)  # (M,)
    out: dict[str, float] = {}
    for k in ks:
        out[f"a2t_r{k}"] = float((a2t_rank < k).float().mean())
        out[f"t2a_r{k}"] = float((t2a_rank < k).float().mean())
    return out


def retrieval_map(audio_emb: Tensor, text_emb: Tensor, text_clip: Tensor, k: int = 10) -> float:
    """Text-to-audio mean average precision at ``k`` (DCASE language-based audio retrieval: mAP@10).

    Same inputs and similarity as :func:`retrieval_recall`. Each caption has exactly one relevant clip,
    its own, so its AP@k is ``1 / rank`` (1-based) when that clip is among the ``k`` most similar clips
    and 0 otherwise; the result is the mean over captions. Ties count against the query, as in
    :func:`retrieval_recall` (a constant embedding ranks every clip last among equals).
    """
    if k < 1:
        raise ValueError(f"k must be a positive number of clips; got {k}")
    sim, positive = _similarity(audio_emb, text_emb, text_clip)
    rank = _t2a_rank(sim, positive, text_clip).double() + 1  # (M,) 1-based
    precision = torch.where(rank <= k, 1.0 / rank, torch.zeros_like(rank))  # (M,)
    return float(precision.mean())


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


def chance_map(n_clips: int, k: int = 10) -> float:
    """Expected text-to-audio mAP@k of a random ranking of ``n_clips``: the own clip is at each rank
    1..N with probability 1/N, so ``sum_{r <= min(k, N)} (1/r) / N``."""
    if n_clips < 1 or k < 1:
        raise ValueError(f"n_clips and k must be positive; got {n_clips} and {k}")
    return sum(1.0 / r for r in range(1, min(k, n_clips) + 1)) / n_clips
