"""Training and evaluation of CLIP-AAC (paper section 3.2).

``train(TrainConfig(...)) -> RunResult`` trains (or reuses, or resumes) one configuration; it is the one
entry point of the notebooks, the command line (``clipaac train``, ``python -m clipaac_lib.train``,
``torchrun -m clipaac_lib.train``) and the tests. ``find_run(config) -> RunResult | None`` finds a
finished run without ever training.

The modules form a one-way chain, each importing only those before it:
:mod:`.config` (the dataclass) -> :mod:`.lock` (one trainer per run) -> :mod:`.rundir` (run directory,
``RunResult``, checkpoint I/O, ``find_run``) -> :mod:`.distributed` (DDP) -> :mod:`.setup` (data and
model of a run) -> :mod:`.step` (one training step) -> :mod:`.evaluate` (captions, metrics, retrieval
of a run) -> :mod:`.loop` (the epochs) -> :mod:`.cli` (command line). Decoding lives in
:mod:`clipaac_lib.decode`, captioning files in :mod:`clipaac_lib.inference`.

The names below are loaded on first use, so that ``clipaac --help`` does not import the training code.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clipaac_lib.train.config import ConfigError, TrainConfig
    from clipaac_lib.train.loop import NonFiniteLossError, train
    from clipaac_lib.train.rundir import RunNotFoundError, RunResult, find_run, require_run

__all__ = ["ConfigError", "NonFiniteLossError", "RunNotFoundError", "RunResult", "TrainConfig", "find_run",
           "require_run", "train"]

_HOME = {"ConfigError": "config", "TrainConfig": "config", "NonFiniteLossError": "loop", "train": "loop",
         "RunResult": "rundir", "RunNotFoundError": "rundir", "find_run": "rundir", "require_run": "rundir"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(f"clipaac_lib.train.{_HOME[name]}"), name)
    raise AttributeError(f"module 'clipaac_lib.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
