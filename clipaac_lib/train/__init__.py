"""Training and evaluation of CLIP-AAC (paper section 3.2).

``train(TrainConfig(...)) -> RunResult`` trains (or reuses, or resumes) one configuration; it is the one
entry point of the notebooks, the command line (``clipaac train``, ``python -m clipaac_lib.train``,
``torchrun -m clipaac_lib.train``) and the tests. ``find_run(config) -> RunResult | None`` finds a
finished run without ever training.

The modules, each importing only modules named before it (no cycles; ``structure-check``): the settings
(:mod:`.config`, :mod:`.dataroot`, :mod:`.scores`); the run's files (:mod:`.checkpoint` the checkpoint
format and random states, :mod:`.rundir` the folder layout, :mod:`.evalstore` saved evaluations,
:mod:`.runs` ``RunResult`` and ``find_run``, :mod:`.lock` one trainer per run); the work (:mod:`.distributed`
DDP, :mod:`.setup` the data and model of a run, :mod:`.step` the loss and the update, :mod:`.evaluation`
captions, metrics and retrieval, :mod:`.frozen` the frozen encoder's cache, :mod:`.runstate` starting and
finishing a run, :mod:`.epochs` what the loop calls, :mod:`.schedule` learning rates, :mod:`.memory` /
:mod:`.preflight` will it fit, is Java there); and :mod:`.trainer`, whose ``train_epochs`` is the loop
in one screen. Below: data, model, metrics and the book's pretraining (:mod:`clipaac_lib.pretrain`);
above: the experiments, captioning (:mod:`clipaac_lib.caption`) and the command line (:mod:`clipaac_lib.cli`).

Notebook: ``notebooks/05_train.ipynb``.
"""

from clipaac_lib.train.checkpoint import capture_rng, restore_rng
from clipaac_lib.train.config import ConfigError, TrainConfig
from clipaac_lib.train.distributed import ShardedBatchSampler, defer_fbsp_grad_normalize, shard_sizes
from clipaac_lib.train.epochs import NonFiniteLossError
from clipaac_lib.train.evalstore import decode_config, evaluation_tag
from clipaac_lib.train.evaluation import SplitPass, evaluate_run, run_split
from clipaac_lib.train.memory import estimate_peak_memory, recipe_per_card
from clipaac_lib.train.rundir import RunDir, rows_to_csv
from clipaac_lib.train.runs import (
    RunNotFoundError,
    RunResult,
    default_run_root,
    find_run,
    load_run_model,
    require_run,
    run_dir_of,
)
from clipaac_lib.train.schedule import lr_factor, warmup_factor
from clipaac_lib.train.scores import SplitScores
from clipaac_lib.train.setup import (
    LimitedDataset,
    build_model,
    build_model_config,
    collate_train,
    data_root,
    init_weights,
    load_data,
    model_sample_rate,
    open_split,
    open_test_split,
    untrained_model,
)
from clipaac_lib.train.step import (
    LossWeights,
    audio_to_device,
    autocast_dtype,
    compute_loss,
    fast_path,
    make_optimizer,
    optimizer_step,
    skipped_steps,
)
from clipaac_lib.train.trainer import train, train_epochs

__all__ = [
    "ConfigError",
    "LimitedDataset",
    "LossWeights",
    "NonFiniteLossError",
    "RunDir",
    "RunNotFoundError",
    "RunResult",
    "ShardedBatchSampler",
    "SplitPass",
    "SplitScores",
    "TrainConfig",
    "audio_to_device",
    "autocast_dtype",
    "build_model",
    "build_model_config",
    "capture_rng",
    "collate_train",
    "compute_loss",
    "data_root",
    "decode_config",
    "default_run_root",
    "defer_fbsp_grad_normalize",
    "estimate_peak_memory",
    "evaluate_run",
    "evaluation_tag",
    "fast_path",
    "find_run",
    "init_weights",
    "load_data",
    "load_run_model",
    "lr_factor",
    "make_optimizer",
    "model_sample_rate",
    "open_split",
    "open_test_split",
    "optimizer_step",
    "recipe_per_card",
    "require_run",
    "restore_rng",
    "rows_to_csv",
    "run_dir_of",
    "run_split",
    "shard_sizes",
    "skipped_steps",
    "train",
    "train_epochs",
    "untrained_model",
    "warmup_factor",
]
