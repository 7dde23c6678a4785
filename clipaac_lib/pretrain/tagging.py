"""Stage ``audio`` of the book's pretraining: the audio head as a multi-label sound-event classifier.

The stand-in for ESResNeXt-fbsp trained on AudioSet (``ESRNXFBSP.pt``): the same audio head, its ``fc``
mapping to one logit per class of the labelled corpus (:data:`~clipaac_lib.pretrain.corpus.LABELS`)
instead of AudioSet's 527, trained with binary cross-entropy. Validation reports the loss and the mean
average precision (mAP, AudioSet's metric) on the held-out clips.

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from clipaac_lib.model.config import AudioConfig
from clipaac_lib.model.esresnext import ESResNeXtFBSP
from clipaac_lib.pretrain.config import PretrainConfig
from clipaac_lib.pretrain.corpus import LABELS, LabelledCorpus

__all__ = ["average_precision", "mean_average_precision", "cosine_factor", "epoch_batches", "train_tagger"]


def average_precision(scores: Tensor, targets: Tensor) -> float:
    """Average precision of one class: scores (N,), 0/1 targets (N,); the mean of the precision at the
    rank of each positive (NaN without positives). Ties are broken by the order of the clips."""
    order = torch.argsort(scores, descending=True, stable=True)
    hits = targets[order].float()  # (N,)
    if hits.sum() == 0:
        return float("nan")
    precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1)  # (N,)
    return float((precision * hits).sum() / hits.sum())


def mean_average_precision(scores: Tensor, targets: Tensor) -> float:
    """mAP over the classes that have a positive: scores and targets (N, C)."""
    values = [average_precision(scores[:, c], targets[:, c]) for c in range(scores.shape[1])]
    kept = [v for v in values if v == v]
    return sum(kept) / len(kept) if kept else float("nan")


def cosine_factor(step: int, total: int) -> float:
    """The learning-rate factor after ``step`` of ``total`` steps: from 1 down to 0 along a half cosine
    (both stages end on small steps, so their last epoch's weights are settled)."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """A seeded shuffle of ``range(n)`` cut into full batches (the ragged last one dropped: BatchNorm
    and the contrastive loss want several clips)."""
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


@torch.no_grad()
def _validate(head: ESResNeXtFBSP, corpus: LabelledCorpus, batch_size: int) -> dict[str, float]:
    head.eval()
    logits = torch.cat([head(corpus.audio[i:i + batch_size]) for i in range(0, len(corpus), batch_size)])
    head.train()
    loss = F.binary_cross_entropy_with_logits(logits, corpus.targets)
    return {"val_loss": float(loss), "val_map": mean_average_precision(logits, corpus.targets)}


def train_tagger(audio_config: AudioConfig, train: LabelledCorpus, val: LabelledCorpus, config: PretrainConfig,
                 *, progress: bool = True) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
    """Train the audio head (random init, seeded with ``config.seed``) to tag the corpus's labels.

    Returns its state dict in ``ESRNXFBSP.pt``'s layout (the audio head's own keys, no prefix, ``fc``
    with one row per label) and the history: one dict per epoch (epoch 0 = before training) with
    ``train_loss``, ``val_loss`` and ``val_map``.
    """
    torch.manual_seed(config.seed)
    head = ESResNeXtFBSP(audio_config, len(LABELS)).train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(head.parameters(), lr=config.audio_lr, fused=True)
    generator = torch.Generator().manual_seed(config.seed)
    steps_total = config.audio_epochs * len(epoch_batches(len(train), config.batch_size, torch.Generator()))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_factor(step, steps_total))
    history: list[dict[str, Any]] = [{"stage": "audio", "epoch": 0, "train_loss": None,
                                      **_validate(head, val, config.batch_size)}]
    for epoch in range(1, config.audio_epochs + 1):
        total, steps = 0.0, 0
        batches = epoch_batches(len(train), config.batch_size, generator)
        for index in tqdm(batches, desc=f"pretraining the audio head, epoch {epoch}/{config.audio_epochs}",
                          unit="batch", disable=not progress, leave=False):
            logits = head(train.audio[index])  # (b, C)
            loss = F.binary_cross_entropy_with_logits(logits, train.targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total, steps = total + loss.item(), steps + 1
        history.append({"stage": "audio", "epoch": epoch, "train_loss": total / steps,
                        **_validate(head, val, config.batch_size)})
    state = {key: value.detach().contiguous().clone() for key, value in head.state_dict().items()}
    return state, history
