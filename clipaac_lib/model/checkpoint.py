"""Our own checkpoints: tensors in ``model.pt`` (read with ``torch.load(weights_only=True)``) and the
config in ``config.json`` beside it. Nothing executable is stored.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..fileio import atomic_open, atomic_write_json
from .clipaac import CLIPAAC
from .config import ModelConfig

__all__ = ["WEIGHTS_FILE", "CONFIG_FILE", "save_model", "load_model"]

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.json"


def save_model(model: CLIPAAC, directory: str | os.PathLike[str]) -> Path:
    """Write ``model.pt`` (state dict) and ``config.json`` into ``directory`` atomically; return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    with atomic_open(directory / WEIGHTS_FILE, "wb") as handle:
        torch.save(state, handle)
    atomic_write_json(directory / CONFIG_FILE, model.config.to_dict())
    return directory


def load_model(directory: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> CLIPAAC:
    """Rebuild a :class:`CLIPAAC` saved by :func:`save_model` (strict: every key must match)."""
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing; a clipaac checkpoint folder holds {CONFIG_FILE} and {WEIGHTS_FILE}"
            )
    config = ModelConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    model = CLIPAAC(config)
    state = torch.load(weights_path, map_location=map_location, weights_only=True)
    if not any(name.startswith("text.") for name in state):
        model.drop_text_head()  # it was saved after drop_text_head()
    model.load_state_dict(state, strict=True)
    return model.to(map_location)
