"""Training, decoding and evaluation of CLIP-AAC (paper section 3.2).

``train(TrainConfig(...)) -> RunResult`` is the one entry point used by the notebooks, the command line
(``clipaac train``, ``python -m clipaac_lib.train``, ``torchrun -m clipaac_lib.train``) and the tests.
Modules: :mod:`.config` (the dataclass), :mod:`.loop` (the epoch loop), :mod:`.setup` (data and model of a
run), :mod:`.rundir` (run directory), :mod:`.decode` (greedy and beam search), :mod:`.evaluate` (captions,
metrics, retrieval), :mod:`.evaluate_run` (evaluating a run, captioning a file), :mod:`.distributed`
(DDP), :mod:`.cli` (command line).

The names below are loaded on first use, so that ``clipaac --help`` does not import torch.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clipaac_lib.train.config import ConfigError, TrainConfig
    from clipaac_lib.train.loop import NonFiniteLossError, RunResult, train

__all__ = ["ConfigError", "NonFiniteLossError", "RunResult", "TrainConfig", "train"]

_HOME = {"ConfigError": "config", "TrainConfig": "config", "NonFiniteLossError": "loop", "RunResult": "loop",
         "train": "loop"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"clipaac_lib.train.{_HOME[name]}"), name)
    raise AttributeError(f"module 'clipaac_lib.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
