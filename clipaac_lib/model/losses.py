"""CLIP-AAC's losses: contrastive (eq. 1-5, Algorithm 1), caption cross-entropy (eq. 6), total (eq. 7).

- :func:`contrastive_loss`: cosine similarities <A_i, T_k> scaled by 1/t, cross-entropy of each audio
  against all captions (A->T, eq. 2) and of each caption against all audio (T->A, eq. 4), mixed as
  ``lam * L^{A->T} + (1 - lam) * L^{T->A}`` and averaged over the batch (eq. 5). AudioCLIP's own pair
  loss is the unweighted sum (twice ours at lam = 0.5).
- :func:`caption_loss`: token-level cross-entropy of the decoder's logits against the next words, with
  label smoothing (0.1 in the paper) and padding ignored. Eq. (6) sums over the M tokens of a caption; we
  average over all real tokens of the batch (PyTorch's convention), which only rescales the loss.
- :func:`total_loss`: ``alpha * L_cl + (1 - alpha) * L_ce`` (eq. 7), alpha = 0.2 in the paper.
- :func:`contrastive_loss_curve`: the contrastive loss of fixed embeddings at several temperatures.

Notebook: ``notebooks/03_contrastive_loss.ipynb``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

from clipaac_lib.common.constants import PAD_ID
from clipaac_lib.model.checks import check_has_targets

__all__ = ["CAPTION_LOSS_REDUCTIONS", "contrastive_logits", "contrastive_loss", "contrastive_loss_curve",
           "caption_loss", "total_loss"]


def contrastive_logits(audio_emb: Tensor, text_emb: Tensor, logit_scale: Tensor | float) -> Tensor:
    """(b, b) matrix ``logit_scale * <A_i, T_k>`` of scaled cosine similarities (eq. 1, divided by t)."""
    if audio_emb.dim() != 2 or text_emb.dim() != 2 or audio_emb.shape != text_emb.shape:
        raise ValueError(
            "audio_emb and text_emb must both be (batch, L) with the same shape, got "
            f"{tuple(audio_emb.shape)} and {tuple(text_emb.shape)}"
        )
    if audio_emb.shape[0] < 1:
        raise ValueError("the contrastive loss needs at least one audio-text pair")
    if isinstance(logit_scale, Tensor) and logit_scale.numel() != 1:
        raise ValueError(f"logit_scale must be a scalar (1/t), got shape {tuple(logit_scale.shape)}")
    audio_unit = F.normalize(audio_emb, dim=-1)  # (b, L)
    text_unit = F.normalize(text_emb, dim=-1)  # (b, L)
    return logit_scale * audio_unit @ text_unit.T  # (b, b): row i = audio i against every caption


def contrastive_loss(
    audio_emb: Tensor,
    text_emb: Tensor,
    logit_scale: Tensor | float,
    lam: float = 0.5,
) -> Tensor:
    """Eq. (5): ``mean_i [lam * L_i^{A->T} + (1 - lam) * L_i^{T->A}]`` as a 0-d tensor.

    ``audio_emb``, ``text_emb``: (b, L) embeddings of b matching pairs (row i of each belongs together);
    ``logit_scale``: 1/t, already exponentiated and clamped (``CLIPAACOutput.logit_scale``);
    ``lam``: weight of the audio-to-text direction (1 = A->T only, 0 = T->A only). Under torchrun the
    training step passes the gathered embeddings of the global batch.

    Notebook: ``notebooks/03_contrastive_loss.ipynb``.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {lam!r}")
    logits = contrastive_logits(audio_emb, text_emb, logit_scale)  # (b, b)
    targets = torch.arange(logits.shape[0], device=logits.device)  # the diagonal holds the true pairs
    audio_to_text = F.cross_entropy(logits, targets)  # mean_i L_i^{A->T}, eq. (2)
    text_to_audio = F.cross_entropy(logits.T, targets)  # mean_i L_i^{T->A}, eq. (4)
    return lam * audio_to_text + (1.0 - lam) * text_to_audio


def contrastive_loss_curve(audio_emb: Tensor, text_emb: Tensor, logit_scales: Iterable[Tensor | float],
                           lam: float = 0.5) -> list[float]:
    """:func:`contrastive_loss` of the (b, L) embeddings ``audio_emb`` and ``text_emb`` at each 1/t in
    ``logit_scales`` (e.g. a (n,) tensor), as floats: how the loss depends on the temperature.

    Notebook: ``notebooks/03_contrastive_loss.ipynb``.
    """
    return [contrastive_loss(audio_emb, text_emb, scale, lam=lam).item() for scale in logit_scales]


#: ``caption_loss`` reductions: the mean over every real token of the batch (PyTorch's convention, our
#: default), or Eq. (6) literally, a sum over each caption's tokens, averaged over the captions.
CAPTION_LOSS_REDUCTIONS = ("token_mean", "caption_sum")


def caption_loss(logits: Tensor, targets: Tensor, pad_id: int = PAD_ID, label_smoothing: float = 0.1, *,
                 reduction: str = "token_mean", check_values: bool = True) -> Tensor:
    """Eq. (6): cross-entropy of ``logits`` (B, M, V) against ``targets`` (B, M) word ids, with label
    smoothing, padding (``pad_id``) ignored; ``reduction`` "token_mean" averages over the real tokens of
    the batch, "caption_sum" sums over each caption's tokens (as Eq. 6 is written) and averages over the
    captions, which scales the loss by the mean caption length and so shifts the balance set by alpha.
    ``check_values=False`` skips the all-padding check (on a GPU, a synchronisation).

    ``targets`` are the captions shifted by one (position m holds word m+1, ending with eos, then pads).
    Notebook: ``notebooks/03_contrastive_loss.ipynb``.
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            "logits must be (B, M, V) and targets (B, M); "
            f"got {tuple(logits.shape)} and {tuple(targets.shape)}"
        )
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1), got {label_smoothing!r}")
    if reduction not in CAPTION_LOSS_REDUCTIONS:
        raise ValueError(f"reduction must be one of {CAPTION_LOSS_REDUCTIONS}, got {reduction!r}")
    if check_values:
        check_has_targets(targets, pad_id)
    per_token = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad_id,
                                label_smoothing=label_smoothing, reduction="none")  # (B*M,), 0 at padding
    if reduction == "caption_sum":
        return per_token.sum() / targets.shape[0]
    return per_token.sum() / (targets != pad_id).sum().clamp_min(1)


def total_loss(contrastive: Tensor, caption: Tensor, alpha: float = 0.2) -> Tensor:
    """Eq. (7): ``alpha * contrastive + (1 - alpha) * caption``. Notebook: ``notebooks/05_train.ipynb``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    return alpha * contrastive + (1.0 - alpha) * caption
