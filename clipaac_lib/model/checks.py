"""Value checks on the model's inputs, shared by the model and the training step.

Each check reads a tensor's values, so on a GPU it waits for the GPU (a host synchronisation). The model
runs them by default (``check_values=True``); the training step runs them once on the CPU batch, before
the copy to the GPU, and then calls the model with ``check_values=False`` so a step never stalls the
GPU (see :func:`clipaac_lib.train.step.compute_loss`). Notebook: ``notebooks/02_architecture.ipynb``.
"""

from __future__ import annotations

import math

from torch import Tensor

__all__ = ["MAX_ABS_AUDIO", "check_audio_values", "check_token_range", "check_has_targets"]

MAX_ABS_AUDIO = 2.0  # louder input is almost surely in int16 range, not [-1, 1]


def check_audio_values(audio: Tensor) -> None:
    """Raise ``ValueError`` unless ``audio`` is finite with a peak of at most :data:`MAX_ABS_AUDIO`."""
    peak = float(audio.detach().abs().max()) if audio.numel() else 0.0
    if not math.isfinite(peak) or peak > MAX_ABS_AUDIO:
        raise ValueError(
            f"audio must be waveforms in [-1, 1]; got a peak of {peak:g}. Int16-range audio (AudioCLIP's "
            "loader convention) must be divided by 32768 first; the model applies AudioCLIP's scaling "
            "itself."
        )


def check_token_range(tokens: Tensor, vocab_size: int, what: str, hint: str) -> None:
    """Raise ``ValueError`` unless every id in ``tokens`` lies in ``[0, vocab_size)``."""
    if not tokens.numel():
        return
    low, high = int(tokens.min()), int(tokens.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(f"{what} must lie in [0, {vocab_size}), got min {low}, max {high}; {hint}")


def check_has_targets(targets: Tensor, pad_id: int) -> None:
    """Raise ``ValueError`` when every caption target is padding (nothing to learn from the batch)."""
    if not bool((targets != pad_id).any()):
        raise ValueError(f"every caption target is padding (pad_id={pad_id}); nothing to learn from this batch")
