"""Training and evaluation of CLIP-AAC (paper section 3.2).

``train(TrainConfig(...)) -> RunResult`` trains (or reuses, or resumes) one configuration; it is the one
entry point of the notebooks, the command line (``clipaac train``, ``python -m clipaac_lib.train``,
``torchrun -m clipaac_lib.train``) and the tests. ``find_run(config) -> RunResult | None`` finds a
finished run without ever training.

The modules form a one-way chain, each importing only those before it:
:mod:`.config` (the dataclass) -> :mod:`.lock` (one trainer per run) -> :mod:`.rundir` (run directory,
``RunResult``, checkpoint I/O, ``find_run``) -> :mod:`.distributed` (DDP) -> :mod:`.setup` (data and
model of a run) -> :mod:`.step` (one training step) -> :mod:`.evaluation` (captions, metrics, retrieval
of a run) -> :mod:`.memory` / :mod:`.preflight` (will it fit, is Java there) -> :mod:`.trainer` (the
epochs). Below it: data, model, metrics and the book's pretraining (:mod:`clipaac_lib.pretrain`); above
it: the experiments, captioning (:mod:`clipaac_lib.caption`) and the command line (:mod:`clipaac_lib.cli`).

The names below are loaded on first use, so that ``clipaac --help`` does not import the training code.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clipaac_lib.train.config import ConfigError, TrainConfig
    from clipaac_lib.train.evaluation import evaluate_run
    from clipaac_lib.train.memory import estimate_peak_memory, recipe_per_card
    from clipaac_lib.train.rundir import RunDir, RunNotFoundError, RunResult, find_run, require_run
    from clipaac_lib.train.scores import SplitScores
    from clipaac_lib.train.setup import data_root, load_data, untrained_model
    from clipaac_lib.train.step import LossWeights, audio_to_device, compute_loss, make_optimizer
    from clipaac_lib.train.trainer import NonFiniteLossError, lr_factor, train, warmup_factor

#: Where each public name lives (loaded on first use).
_HOME = {
    "ConfigError": "config", "TrainConfig": "config",
    "evaluate_run": "evaluation",
    "estimate_peak_memory": "memory", "recipe_per_card": "memory",
    "RunDir": "rundir", "RunNotFoundError": "rundir", "RunResult": "rundir", "find_run": "rundir",
    "require_run": "rundir",
    "SplitScores": "scores",
    "data_root": "setup", "load_data": "setup", "untrained_model": "setup",
    "LossWeights": "step", "audio_to_device": "step", "compute_loss": "step", "make_optimizer": "step",
    "NonFiniteLossError": "trainer", "lr_factor": "trainer", "train": "trainer", "warmup_factor": "trainer",
}

__all__ = [
    "ConfigError",
    "LossWeights",
    "NonFiniteLossError",
    "RunDir",
    "RunNotFoundError",
    "RunResult",
    "SplitScores",
    "TrainConfig",
    "audio_to_device",
    "compute_loss",
    "data_root",
    "estimate_peak_memory",
    "evaluate_run",
    "find_run",
    "load_data",
    "lr_factor",
    "make_optimizer",
    "recipe_per_card",
    "require_run",
    "train",
    "untrained_model",
    "warmup_factor",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"clipaac_lib.train.{_HOME[name]}"), name)
    raise AttributeError(f"module 'clipaac_lib.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
