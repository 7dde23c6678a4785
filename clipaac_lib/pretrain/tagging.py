"""Stage ``audio`` of the book's pretraining: the audio head as a multi-label sound-event classifier.

The stand-in for ESResNeXt-fbsp trained on AudioSet (``ESRNXFBSP.pt``): the same audio head, its ``fc``
mapping to one logit per class of the labelled corpus (:data:`~clipaac_lib.pretrain.corpus.LABELS`)
instead of AudioSet's 527, trained with binary cross-entropy. Validation reports the loss and the mean
average precision (mAP, AudioSet's metric) on the held-out clips.

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from clipaac_lib.model import AudioConfig, ESResNeXtFBSP
from clipaac_lib.pretrain.corpus import LABELS, LabelledCorpus
from clipaac_lib.pretrain.fit import fit
from clipaac_lib.pretrain.recipe import PretrainConfig

__all__ = ["average_precision", "mean_average_precision", "train_tagger"]


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

    def loss_of(index: Tensor) -> Tensor:
        logits = head(train.audio[index])  # (b, C)
        return F.binary_cross_entropy_with_logits(logits, train.targets[index])

    history = fit("audio", optimizer, loss_of, lambda: _validate(head, val, config.batch_size), clips=len(train),
                  epochs=config.audio_epochs, batch_size=config.batch_size, seed=config.seed,
                  desc="pretraining the audio head", progress=progress)
    state = {key: value.detach().contiguous().clone() for key, value in head.state_dict().items()}
    return state, history
