"""The one file format of a trained model: ``model.pt`` (its state dict, tensors only, read with
``torch.load(weights_only=True)``) and ``model_config.json`` (its :class:`ModelConfig`) side by side.

A run directory (:mod:`clipaac_lib.train.rundir`) holds its final model in this format; nothing
executable is stored. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from clipaac_lib.common import atomic_open, atomic_write_json
from clipaac_lib.model.clipaac import CLIPAAC
from clipaac_lib.model.config import ModelConfig

__all__ = ["WEIGHTS_FILE", "CONFIG_FILE", "model_state", "save_model", "load_model_state", "load_model", "model_from_state"]

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "model_config.json"


def model_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict of ``model`` on the CPU, with ``torch.compile``'s ``._orig_mod`` dropped from names
    (compiled stages save under the same keys as eager ones)."""
    return {name.replace("._orig_mod", ""): t.detach().cpu() for name, t in model.state_dict().items()}


def save_model(model: CLIPAAC, directory: str | os.PathLike[str]) -> Path:
    """Write ``model.pt`` and ``model_config.json`` into ``directory`` atomically; return the folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_open(directory / WEIGHTS_FILE, "wb") as handle:
        torch.save(model_state(model), handle)
    atomic_write_json(directory / CONFIG_FILE, model.config.to_dict())
    return directory


def load_model_state(directory: str | os.PathLike[str],
                     map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The state dict in ``directory/model.pt`` (written by :func:`save_model`)."""
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: no finished model was saved in {Path(directory)}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 (re-raised with the file named)
        raise RuntimeError(f"{path}: not a readable clipaac model file ({err}); delete it and retrain") from err


def load_model(directory: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> CLIPAAC:
    """Rebuild a :class:`CLIPAAC` saved by :func:`save_model` (strict: every key must match)."""
    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{config_path} is missing; a clipaac model folder holds {CONFIG_FILE} and {WEIGHTS_FILE}"
        )
    config = ModelConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    return model_from_state(config, load_model_state(directory, map_location)).to(map_location)


def model_from_state(config: ModelConfig, state: dict[str, torch.Tensor]) -> CLIPAAC:
    """A :class:`CLIPAAC` of ``config`` holding ``state`` (strict: every key must match); a state
    without ``text.*`` keys gives a model without its text head (saved after ``drop_text_head()``)."""
    model = CLIPAAC(config)
    if not any(name.startswith("text.") for name in state):
        model.drop_text_head()
    model.load_state_dict(state, strict=True)
    return model
