"""Looking at a trained model's embeddings: audio-text similarity matrices and caption ranking.

- :func:`similarity_matrix` gives the paper's Figure 2: the softmax over captions of the scaled cosine
  similarities between the audio embeddings of a few clips and the text embeddings of their captions
  (notebook ``06_ablations.ipynb``);
- :func:`rank_captions` orders a bank of captions by similarity to one clip's audio embedding
  (notebook ``07_caption_your_audio.ipynb``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["embed_captions", "similarity_matrix", "rank_captions"]


@torch.no_grad()
def embed_captions(model: torch.nn.Module, captions: Sequence[str], batch_size: int = 64) -> Tensor:
    """Text embeddings (N, L) of ``captions`` from the model's text head (CLIP BPE tokens)."""
    from clipaac_lib.model import tokenize

    if model.text is None:
        raise RuntimeError("the model's text head was dropped; load the run again to compare with captions")
    device = next(model.parameters()).device
    chunks = [model.encode_text(tokenize(list(captions[i : i + batch_size])).to(device))
              for i in range(0, len(captions), batch_size)]
    return torch.cat(chunks).float()  # (N, L)


@torch.no_grad()
def similarity_matrix(model: torch.nn.Module, audio: Tensor | Sequence[Tensor], captions: Sequence[str], *,
                      softmax: bool = True) -> Tensor:
    """(B, B) matrix: row i compares clip i's audio embedding with the text embedding of every caption.

    ``audio`` (B, S) waveforms in [-1, 1], or a list of B waveforms of any lengths (each encoded alone,
    so no clip is padded); ``captions`` one caption per clip (the true pairs lie on the diagonal). Entries are cosine similarities scaled by the model's ``logit_scale`` (1/t); with
    ``softmax`` (the paper's Figure 2) each row is turned into probabilities over the captions.
    """
    if len(audio) != len(captions):
        raise ValueError(f"{len(audio)} clips but {len(captions)} captions; give one caption per clip")
    model.eval()
    device = next(model.parameters()).device
    if isinstance(audio, Tensor):
        audio_emb = model.encode_audio(audio.to(device)).audio_emb  # (B, L)
    else:
        audio_emb = torch.cat([model.encode_audio(wave.reshape(1, -1).to(device)).audio_emb for wave in audio])
    audio_emb = F.normalize(audio_emb.float(), dim=-1)  # (B, L)
    text_emb = F.normalize(embed_captions(model, captions), dim=-1)  # (B, L)
    logits = model.logit_scale.float() * audio_emb @ text_emb.T  # (B, B)
    return (logits.softmax(dim=-1) if softmax else audio_emb @ text_emb.T).cpu()


@torch.no_grad()
def rank_captions(model: torch.nn.Module, audio: Tensor, captions: Sequence[str],
                  caption_emb: Tensor | None = None, top: int = 5) -> list[tuple[str, float]]:
    """The ``top`` captions most similar (cosine) to one clip's audio ``(S,)`` or ``(1, S)``.

    Pass ``caption_emb`` (N, L) from :func:`embed_captions` to reuse the bank's embeddings across clips.
    """
    model.eval()
    device = next(model.parameters()).device
    wave = audio.reshape(1, -1).to(device)
    if caption_emb is None:
        caption_emb = embed_captions(model, captions)
    audio_emb = F.normalize(model.encode_audio(wave).audio_emb.float(), dim=-1)  # (1, L)
    sims = (audio_emb @ F.normalize(caption_emb.to(device), dim=-1).T)[0]  # (N,)
    best = sims.topk(min(top, len(captions)))
    return [(captions[i], float(s)) for s, i in zip(best.values.tolist(), best.indices.tolist(), strict=True)]
