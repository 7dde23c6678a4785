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
- :func:`training_loss`: Eq. 7 as one training step computes it from the model's outputs, with the
  :class:`LossWeights` of a run; under ``torchrun`` it gathers the embeddings of every process (the
  negatives are the global batch) and weights each process's caption loss by its share of the global
  batch's tokens, so that DDP's gradient average equals one process with the global batch.

Notebook: ``notebooks/03_contrastive_loss.ipynb``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from clipaac_lib.common import PAD_ID, gather_with_grad, global_sum_tensor, is_distributed
from clipaac_lib.model.checks import check_has_targets

__all__ = ["CAPTION_LOSS_REDUCTIONS", "LossWeights", "contrastive_logits", "contrastive_loss",
           "contrastive_loss_curve", "caption_loss", "total_loss", "training_loss"]


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


@dataclass(frozen=True)
class LossWeights:
    """The loss settings of a run: ``alpha`` (Eq. 7's contrastive share), ``lam`` (Eq. 5's audio-to-text
    weight), the caption loss's ``label_smoothing`` and its ``caption_loss`` reduction
    (:data:`CAPTION_LOSS_REDUCTIONS`)."""

    alpha: float
    lam: float
    label_smoothing: float
    caption_loss: str

    @classmethod
    def from_config(cls, config: Any) -> LossWeights:
        """The loss settings of a training configuration (a :class:`clipaac_lib.train.TrainConfig`)."""
        return cls(alpha=config.alpha, lam=config.lam, label_smoothing=config.label_smoothing,
                   caption_loss=config.caption_loss)


def training_loss(logits: Tensor, caption_out: Tensor, audio_emb: Tensor | None, text_emb: Tensor | None,
                  logit_scale: Tensor, weights: LossWeights, *, pad_id: int = PAD_ID,
                  check_values: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """Eq. 7 of one training step: ``(loss, L_cl, L_ce)``, where ``loss`` is what this process
    back-propagates and the other two (detached) are for the logs.

    ``logits`` (B, M, V) and ``caption_out`` (B, M) give Eq. 6 (:func:`caption_loss`); ``audio_emb`` and
    ``text_emb`` (B, L) with ``logit_scale`` (1/t) give Eq. 5 (:func:`contrastive_loss`), or 0 when the
    model has no text head (``text_emb`` None, alpha = 0). Half-precision outputs of autocast are upcast
    to float32 first. Under ``torchrun``: the embeddings of all processes are gathered in rank order
    before Eq. 5, and the caption loss is scaled by ``world_size * local_tokens / global_tokens`` (or
    captions, for ``"caption_sum"``), so that DDP's average of the gradients is the gradient of the global
    batch's mean; ``L_ce`` is then the global one. Notebook: ``notebooks/05_train.ipynb``.
    """
    if text_emb is not None and audio_emb is not None:
        audio_emb, text_emb = _at_least_fp32(audio_emb), _at_least_fp32(text_emb)  # (B, L) each
        if is_distributed():  # one gather for both (its shard sizes are read on the host once, not twice)
            both = gather_with_grad(torch.cat([audio_emb, text_emb], dim=1))  # (global B, 2L)
            audio_emb, text_emb = both.split([audio_emb.shape[1], text_emb.shape[1]], dim=1)  # (global B, L)
        l_cl = contrastive_loss(audio_emb, text_emb, _at_least_fp32(logit_scale), lam=weights.lam)
    else:
        l_cl = torch.zeros((), device=logits.device)
    l_ce = caption_loss(_at_least_fp32(logits), caption_out, pad_id=pad_id, label_smoothing=weights.label_smoothing,
                        reduction=weights.caption_loss, check_values=check_values)
    if not is_distributed():
        return total_loss(l_cl, l_ce, alpha=weights.alpha), l_cl.detach(), l_ce.detach()
    if weights.caption_loss == "caption_sum":
        local_count = torch.tensor(caption_out.shape[0])
    else:
        local_count = (caption_out != pad_id).sum()  # () counted where the batch is: no host sync
    local = local_count.to(device=l_ce.device, dtype=torch.float64, non_blocking=True)
    share = (local / global_sum_tensor(local).clamp_min(1.0)).to(l_ce.dtype)  # () tensor: no sync
    loss = total_loss(l_cl, l_ce * (torch.distributed.get_world_size() * share), alpha=weights.alpha)
    return loss, l_cl.detach(), global_sum_tensor(l_ce.detach() * share)


def _at_least_fp32(x: Tensor) -> Tensor:
    """Losses in float32 (bf16/fp16 autocast outputs are upcast; float64 stays float64)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
