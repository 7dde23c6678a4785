"""The run directory's layout: where one training run keeps what it writes, in plain formats.

Layout of ``<run_root>/<TrainConfig.run_name()>/``:

- ``config.json``          the full :class:`TrainConfig` plus its ``run_hash``;
- ``model_config.json``    the model's ``ModelConfig.to_dict()``; ``vocab.json`` the caption vocabulary;
- ``checkpoint.pt``        the last finished epoch (model, optimiser, scaler, RNG states; format in
                           :mod:`clipaac_lib.train.checkpoint`), replaced atomically every epoch;
- ``history.csv`` / ``history.json``  one row per epoch (losses, learning rates, clips/s, test loss and recall);
- ``model.pt``             the final weights (:func:`clipaac_lib.model.save_model`'s format, the only
                           one); ``finished.json`` marks a completed run;
- ``.lock``                held by the process training the run (:mod:`clipaac_lib.train.lock`);
- ``eval-<tag>/``          a saved evaluation (:mod:`clipaac_lib.train.evalstore`).

Finding runs and what they return (:class:`~clipaac_lib.train.runs.RunResult`) is in
:mod:`clipaac_lib.train.runs`. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch

from clipaac_lib.common import atomic_write_json, atomic_write_text
from clipaac_lib.model import CLIPAAC, load_model_state, save_model
from clipaac_lib.train.checkpoint import load_tensors_and_meta, save_tensors_and_meta

__all__ = ["RunDir", "rows_to_csv"]


class RunDir:
    """Paths and readers/writers of one run directory (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- paths
    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def model_config_file(self) -> Path:
        return self.path / "model_config.json"

    @property
    def vocab_file(self) -> Path:
        return self.path / "vocab.json"

    @property
    def checkpoint_file(self) -> Path:
        return self.path / "checkpoint.pt"

    @property
    def model_file(self) -> Path:
        return self.path / "model.pt"

    @property
    def finished_file(self) -> Path:
        return self.path / "finished.json"

    @property
    def best_dir(self) -> Path:
        """``best/``: the model of the epoch with the lowest validation loss (``select_checkpoint="best"``)."""
        return self.path / "best"

    def eval_dir(self, tag: str) -> Path:
        return self.path / f"eval-{tag}"

    # -- state
    def is_finished(self) -> bool:
        return self.finished_file.is_file() and self.model_file.is_file()

    def has_checkpoint(self) -> bool:
        return self.checkpoint_file.is_file()

    def require(self) -> RunDir:
        """Raise ``FileNotFoundError`` with advice unless this is a run directory."""
        if not self.path.is_dir():
            raise FileNotFoundError(
                f"run directory {self.path} does not exist; train one with `clipaac train` "
                "(it prints the run directory) or check the path"
            )
        if not self.config_file.is_file():
            raise FileNotFoundError(f"{self.path} is not a clipaac run directory (no config.json inside)")
        return self

    # -- writers
    def write_config(self, config_dict: dict[str, Any], run_hash: str,
                     init_weights: dict[str, str] | None = None) -> None:
        """``config.json``: the configuration, its hash and (pretrained init) the file that initialised
        the encoder, with its sha256."""
        self.path.mkdir(parents=True, exist_ok=True)
        extra = {} if init_weights is None else {"init_weights": init_weights}
        atomic_write_json(self.config_file, {**config_dict, "run_hash": run_hash, **extra})

    def read_config_dict(self) -> dict[str, Any]:
        """The TrainConfig fields of ``config.json`` (without the hash and the init record)."""
        data = json.loads(self.config_file.read_text(encoding="utf-8"))
        data.pop("run_hash", None)
        data.pop("init_weights", None)
        return data

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """``checkpoint.pt`` (:mod:`clipaac_lib.train.checkpoint`'s format), replaced atomically."""
        save_tensors_and_meta(self.checkpoint_file, state)

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        return load_tensors_and_meta(self.checkpoint_file, map_location)

    def save_model(self, model: CLIPAAC) -> None:
        """The final model, in :func:`clipaac_lib.model.save_model`'s format."""
        save_model(model, self.path)

    def load_model_state(self, map_location: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        return load_model_state(self.path, map_location)

    def write_history(self, history: list[dict[str, Any]]) -> None:
        atomic_write_json(self.path / "history.json", history)
        atomic_write_text(self.path / "history.csv", rows_to_csv(history))

    def read_history(self) -> list[dict[str, Any]]:
        path = self.path / "history.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []

    def mark_finished(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.finished_file, summary)

    def read_finished(self) -> dict[str, Any]:
        return json.loads(self.finished_file.read_text(encoding="utf-8"))

def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text of a list of dicts (columns in first-seen order; missing cells empty)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    return buffer.getvalue()


