"""The training loop both pretraining stages share: seeded batches, Adam with a cosine decay, curves.

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from clipaac_lib.common import tqdm

__all__ = ["cosine_factor", "epoch_batches", "fit"]


def cosine_factor(step: int, total: int) -> float:
    """The learning-rate factor after ``step`` of ``total`` steps: from 1 down to 0 along a half cosine
    (both stages end on small steps, so their last epoch's weights are settled)."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """A seeded shuffle of ``range(n)`` cut into full batches (the ragged last one dropped: BatchNorm
    and the contrastive loss want several clips)."""
    order = torch.randperm(n, generator=generator)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def fit(stage: str, optimizer: torch.optim.Optimizer, loss_of: Callable[[Tensor], Tensor],
        validate: Callable[[], dict[str, float]], *, clips: int, epochs: int, batch_size: int, seed: int,
        desc: str, progress: bool = True) -> list[dict[str, Any]]:
    """Train for ``epochs`` over ``clips`` clips: each step takes ``loss_of(batch indices)`` (a 0-d
    tensor), then Adam and the cosine schedule step. Returns the history, one dict per epoch (epoch 0 =
    before training): ``stage``, ``epoch``, ``train_loss`` and what ``validate()`` returns (its
    ``val_loss`` must stay finite, else ``FloatingPointError``)."""
    generator = torch.Generator().manual_seed(seed)
    steps_total = epochs * (clips // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_factor(step, steps_total))
    history: list[dict[str, Any]] = [{"stage": stage, "epoch": 0, "train_loss": None, **validate()}]
    for epoch in range(1, epochs + 1):
        total, steps = 0.0, 0
        for index in tqdm(epoch_batches(clips, batch_size, generator), desc=f"{desc}, epoch {epoch}/{epochs}",
                          unit="batch", disable=not progress, leave=False):
            loss = loss_of(index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total, steps = total + loss.item(), steps + 1
        row = {"stage": stage, "epoch": epoch, "train_loss": total / steps, **validate()}
        if not math.isfinite(row["val_loss"]):
            raise FloatingPointError(f"pretraining stage {stage} diverged at epoch {epoch} (validation loss "
                                     f"{row['val_loss']}); lower its learning rate in PretrainConfig")
        history.append(row)
    return history
