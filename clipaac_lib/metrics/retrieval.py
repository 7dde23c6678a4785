"""Audio-text retrieval recall: a direct check that the contrastive head (paper section 2.2) learns.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["retrieval_recall", "chance_recall"]


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
