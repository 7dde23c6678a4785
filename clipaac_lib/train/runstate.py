"""What a run's epochs work on, how it starts (or resumes) and how it finishes.

:func:`start_run` builds the run's data, model, optimiser and gradient scaler, restores them from the
checkpoint of an interrupted run, and applies the device-specific wrappers (DDP, the fast path, the
frozen encoder's embedding cache); :func:`finish_run` keeps the selected weights, marks the run finished
and evaluates it. The loop between them is :func:`clipaac_lib.train.trainer.train_epochs`.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from clipaac_lib.common import ThreadGovernor, atomic_write_json
from clipaac_lib.model import load_model_state, model_state
from clipaac_lib.train import distributed as D
from clipaac_lib.train.checkpoint import capture_rng, restore_rng
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.evalstore import discard_trained_evaluations
from clipaac_lib.train.evaluation import evaluate_and_save
from clipaac_lib.train.frozen import training_audio_cache
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.runs import RunResult
from clipaac_lib.train.setup import TrainData, build_model, load_data, seed_everything
from clipaac_lib.train.step import autocast_dtype, fast_path, make_optimizer, make_scaler, unwrap

__all__ = ["RunState", "checkpoint_state", "finish_run", "start_run", "stopped_run", "train_seconds",
           "write_run_config"]

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """What the epochs of one run work on: the run's setting, its model and optimiser (the model as
    trained: DDP-wrapped or compiled where asked), and the counters a checkpoint keeps."""

    config: TrainConfig
    run_dir: RunDir
    run_hash: str
    device: torch.device
    info: D.DistInfo
    data: TrainData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    deferred_fbsp: list[Any] = field(default_factory=list)  # fbsp layers rescaled after DDP/unscaling
    audio_cache: torch.Tensor | None = None  # (N, L) frozen encoder's embedding of every training clip
    threads: ThreadGovernor | None = None  # cpu_threads="auto" on a CPU
    start_epoch: int = 1
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def write_run_config(config: TrainConfig, run_dir: RunDir) -> None:
    """``config.json`` before anything else (a warning for a compile setting that recompiles often)."""
    run_dir.write_config(config.to_dict(), config.run_hash())
    if config.compile and not config.fixed_length:
        log.warning("compile=True without fixed_length: every new batch shape (clip length, last batch) "
                    "compiles the ResNeXt stages again; set fixed_length=True for one shape")


def start_run(config: TrainConfig, run_dir: RunDir, device: torch.device, info: D.DistInfo) -> RunState:
    """Data, model, optimiser and scaler of the run, resumed from its checkpoint where there is one."""
    data, model = _build(config, run_dir, device, info)
    state = run_dir.load_checkpoint(map_location=device) if config.resume and run_dir.has_checkpoint() else None
    if state is not None:
        model.load_state_dict(state["model"])
    trained: torch.nn.Module = model
    if info.is_distributed:  # batch statistics over the global batch (before compiling and the optimiser)
        trained = D.convert_batchnorm(trained, device.type)
    trained = fast_path(trained, device, compile=config.compile, autotune=config.fixed_length)
    optimizer = make_optimizer(trained, config)
    scaler = make_scaler(device, autocast_dtype(device, config.precision))
    run = RunState(config, run_dir, config.run_hash(), device, info, data, trained, optimizer, scaler,
                   threads=_cpu_threads(config, device))
    if state is not None:
        _restore(run, state)
    if info.is_distributed or scaler.is_enabled():  # rescale after the average and the unscaling
        run.deferred_fbsp = D.defer_fbsp_grad_normalize(run.model)
    if info.is_distributed:
        ddp_kwargs = {"device_ids": [device.index]} if device.type == "cuda" else {}
        run.model = torch.nn.parallel.DistributedDataParallel(run.model, **ddp_kwargs)
    # a frozen encoder embeds each training clip once (None: every step runs the audio head)
    if run.start_epoch <= config.num_epochs:
        run.audio_cache = training_audio_cache(run.model, data, config, device, info)
    return run


def _build(config: TrainConfig, run_dir: RunDir, device: torch.device,
           info: D.DistInfo) -> tuple[TrainData, torch.nn.Module]:
    """The run's data and its freshly initialised model (the seed alone fixes both); the main process
    records the model configuration and which pretrained file (by sha256) initialised the encoder."""
    seed_everything(config.seed)
    data = load_data(config, run_dir, info)
    seed_everything(config.seed)  # the model's initial weights depend on the seed only
    built = build_model(config, len(data.vocab), device)
    built.model.audio.set_activation_checkpointing(config.checkpoint_audio)
    if info.is_main:
        atomic_write_json(run_dir.model_config_file, built.model_config.to_dict())
        if built.weights is not None:  # which file initialised the encoder, by sha256
            run_dir.write_config(config.to_dict(), config.run_hash(), init_weights=built.weights.to_dict())
    return data, built.model


def _cpu_threads(config: TrainConfig, device: torch.device) -> ThreadGovernor | None:
    """Apply ``config.cpu_threads`` on a CPU: a fixed count now, or the governor for "auto"."""
    if device.type != "cpu" or config.cpu_threads == "torch":
        return None
    if config.cpu_threads == "auto":
        return ThreadGovernor()
    torch.set_num_threads(int(config.cpu_threads))
    return None


def _restore(run: RunState, state: dict[str, Any]) -> None:
    """Optimiser, scaler, random generators and counters from a checkpoint."""
    run.optimizer.load_state_dict(state["optimizer"])
    if state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    _match_layout(run.optimizer)
    restore_rng(state["rng"])
    run.start_epoch, run.global_step, run.history = state["epoch"] + 1, state["global_step"], state["history"]
    log.info("resuming %s after epoch %d", run.run_dir.path, state["epoch"])


def _match_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give loaded optimiser state the memory layout of its parameter (channels-last on CUDA)."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.dim() == 4:
                    optimizer.state[param][key] = torch.empty_like(param).copy_(value)


def checkpoint_state(run: RunState, epoch: int) -> dict[str, Any]:
    """What ``checkpoint.pt`` keeps after ``epoch``: weights, optimiser, scaler, random states, counters
    and the history (:mod:`clipaac_lib.train.checkpoint`'s format)."""
    return {"epoch": epoch, "global_step": run.global_step, "model": model_state(unwrap(run.model)),
            "optimizer": run.optimizer.state_dict(), "scaler": run.scaler.state_dict(), "rng": capture_rng(),
            "history": run.history}


def train_seconds(history: list[dict[str, Any]]) -> float:
    """Training time over all epochs of the run (also across resumptions)."""
    return float(sum(row.get("epoch_seconds", 0.0) for row in history))


def stopped_run(run: RunState, epoch: int) -> RunResult:
    """The result of a run stopped after ``epoch`` (``stop_after_epoch``): resumable, not finished."""
    return RunResult(run.run_dir.path, run.config, run.run_hash, run.history, epochs_completed=epoch,
                     train_seconds=train_seconds(run.history))


def finish_run(run: RunState) -> RunResult:
    """Keep the selected weights, mark the run finished and evaluate it (main process)."""
    config, run_dir, info = run.config, run.run_dir, run.info
    last_epoch = run.history[-1]["epoch"] if run.history else 0
    if info.is_main:
        if config.select_checkpoint == "best":
            unwrap(run.model).load_state_dict(load_model_state(run_dir.best_dir, run.device))
            best = min(run.history, key=lambda row: row["val_caption_nll"])["epoch"]
            log.info("keeping the weights of epoch %d (lowest validation caption loss)", best)
        run_dir.save_model(unwrap(run.model))
        for stale in discard_trained_evaluations(run_dir):  # they scored an earlier checkpoint
            log.info("removed %s: it scored an earlier checkpoint of this run", stale.name)
        run_dir.mark_finished({"run_hash": run.run_hash, "epochs": last_epoch, "global_step": run.global_step,
                               "train_seconds": train_seconds(run.history), "world_size": info.world_size})
    D.barrier()
    if not info.is_main:
        return RunResult(run_dir.path, config, run.run_hash, run.history, epochs_completed=last_epoch,
                         finished=True)
    eval_model = None if config.compile else unwrap(run.model)  # compiled stages would recompile per shape
    return evaluate_and_save(run_dir, config, run.device, reused=False, model=eval_model, data=run.data)
