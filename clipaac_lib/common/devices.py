"""Choosing the torch device: ``"auto"`` means CUDA when PyTorch sees a GPU, else the CPU.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(name: str | torch.device) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; otherwise the named device (``"cpu"``, ``"cuda:1"``)."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
