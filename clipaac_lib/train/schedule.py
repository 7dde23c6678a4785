"""The learning-rate schedule of a run (section 3.2): a linear warm-up, then constant or a cosine.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math

import torch

from clipaac_lib.train.config import TrainConfig

__all__ = ["lr_factor", "set_learning_rates", "warmup_factor"]


def lr_factor(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based) of a (resolved) configuration: the
    linear warm-up (:func:`warmup_factor`), then 1 (``lr_after_warmup="constant"``) or a cosine from 1 at
    the end of the warm-up down towards 0 at the end of training (``"cosine"``). Notebook:
    ``notebooks/05_train.ipynb``."""
    warmup_steps = config.warmup_epochs * steps_per_epoch
    if config.lr_after_warmup == "constant" or step < warmup_steps:
        return warmup_factor(step, steps_per_epoch, config.warmup_epochs)
    total_steps = config.num_epochs * steps_per_epoch
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1.0)  # [0, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def warmup_factor(step: int, steps_per_epoch: int, warmup_epochs: float) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based): ``min(1, (step + 1) / W)`` with
    ``W = warmup_epochs * steps_per_epoch`` steps (1 throughout when there is no warm-up)."""
    warmup_steps = warmup_epochs * steps_per_epoch
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


def set_learning_rates(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Each parameter group's rate: its ``base_lr`` (set by :func:`~clipaac_lib.train.step.make_optimizer`)
    times ``factor``."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
