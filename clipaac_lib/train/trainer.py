"""The training loop of CLIP-AAC: :func:`train` runs (or reuses, or resumes) one configuration.

Per step (section 2 of the paper): the audio head embeds the clips (A), the text head embeds their
captions (T), the decoder predicts the caption from the audio memory; the loss is
``alpha * L_cl(A, T; lam) + (1 - alpha) * L_ce`` (Eq. 5-7), with label smoothing on ``L_ce``.

Optimisation (section 3.2): Adam with two parameter groups, the encoder (``model.encoder_parameters()``,
``encoder_lr``) and the decoder plus new layers (``model.new_parameters()``, ``lr``); the learning rates
rise linearly from ``lr / warmup_steps`` to ``lr`` over the first ``warmup_epochs`` epochs, then stay.

On CUDA the step runs under bf16 autocast (GPUs with native bf16; see ``precision``) with channels-last convolutions (and, with ``compile=True``,
compiled ResNeXt stages); on CPU in float32. Everything random is seeded from ``seed``: two CPU runs
of one configuration give the same numbers. After every epoch the run directory gets an atomic
checkpoint, so a killed run resumes where it stopped; a non-finite loss stops the run with
:class:`NonFiniteLossError` and leaves the last good checkpoint in place.

The loop is :func:`train_epochs`, in one screen: the epochs, and in each the steps (learning rate,
forward and loss, backward and update), then the epoch's monitoring and checkpoint. What it calls lives
below it: :mod:`.runstate` (start, resume, finish), :mod:`.step` (the loss and the update),
:mod:`.epochs` (meter, bars, health check, monitoring, checkpoint), :mod:`.schedule` (learning rates).

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

import torch

from clipaac_lib.common import resolve_device
from clipaac_lib.model import LossWeights
from clipaac_lib.train import distributed as D
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.epochs import (
    EpochMeter,
    NonFiniteLossError,
    check_health,
    end_epoch,
    epoch_bar,
    monitor,
    show_progress,
    step_bar,
)
from clipaac_lib.train.evaluation import evaluate_and_save
from clipaac_lib.train.lock import run_lock
from clipaac_lib.train.preflight import check_device_memory, check_environment, require_java
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.runs import RunResult, run_dir_of
from clipaac_lib.train.runstate import RunState, finish_run, start_run, stopped_run, write_run_config
from clipaac_lib.train.schedule import lr_factor, set_learning_rates, warmup_factor
from clipaac_lib.train.step import autocast_dtype, compute_loss, optimizer_step

__all__ = ["NonFiniteLossError", "lr_factor", "train", "train_epochs", "warmup_factor"]

log = logging.getLogger(__name__)


def train(config: TrainConfig | None = None, *, stop_after_epoch: int | None = None) -> RunResult:
    """Train (or reuse, or resume) the run of ``config`` and evaluate it on the test split.

    The run directory is ``<run_root>/<config.run_name()>``. A finished run with the same hashed fields
    is returned as it is (``reused=True``; evaluated again only if the decoding settings changed);
    an unfinished one is resumed from its checkpoint when ``config.resume``. ``stop_after_epoch=k``
    stops cleanly after epoch k (as if the process had been killed then), leaving a resumable run.
    One process trains a run at a time (a lock in the run directory): a second one waits and then reuses
    the finished run, or with ``wait_for_lock=False`` stops at once naming the first.
    Under ``torchrun`` every process calls this; only rank 0 takes the lock, writes files and evaluates.
    Notebook: ``notebooks/05_train.ipynb``.
    """
    config = (config or TrainConfig()).validate().resolved()
    check_environment(config)
    device = resolve_device(config.device)
    if config.caption_metrics:
        require_java()
    config = check_device_memory(config, device)  # may shorten max_seconds (fit_memory="auto"): before the hash
    run_dir = run_dir_of(config)
    if config.reuse and run_dir.is_finished():
        log.info("reusing the finished run %s", run_dir.path)
        return evaluate_and_save(run_dir, config, device, reused=True)

    with _distributed(device) as info:
        if info.is_distributed and device.type == "cuda":
            device = torch.device("cuda", info.local_rank)
        if not info.is_main:
            return _train_run(config, run_dir, device, info, stop_after_epoch)
        with run_lock(run_dir.path, wait=config.wait_for_lock, on_wait=_log_waiting(run_dir)):
            if config.reuse and run_dir.is_finished() and not info.is_distributed:
                log.info("another process finished %s while this one waited: reusing it", run_dir.path)
                return evaluate_and_save(run_dir, config, device, reused=True)
            return _train_run(config, run_dir, device, info, stop_after_epoch)


def _log_waiting(run_dir: RunDir) -> Callable[[int | None], None]:
    def on_wait(pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        log.warning("%s is training %s; waiting for it to finish (wait_for_lock=False stops instead)",
                    holder, run_dir.path)

    return on_wait



def _train_run(config: TrainConfig, run_dir: RunDir, device: torch.device, info: D.DistInfo,
               stop_after_epoch: int | None) -> RunResult:
    """Start (or resume) the run, train its epochs, finish it."""
    if info.is_main:
        write_run_config(config, run_dir)
    run = start_run(config, run_dir, device, info)
    stopped_after = train_epochs(run, stop_after_epoch)
    return finish_run(run) if stopped_after is None else stopped_run(run, stopped_after)


def train_epochs(run: RunState, stop_after_epoch: int | None = None) -> int | None:
    """The training loop: every epoch from ``run.start_epoch`` on, each a pass over the training batches.

    Returns None when the last epoch is done, or the epoch after which ``stop_after_epoch`` stopped it.
    Notebook: ``notebooks/05_train.ipynb``.
    """
    config, device = run.config, run.device
    weights = LossWeights.from_config(config)  # alpha, lam, label smoothing (Eq. 5-7)
    autocast = autocast_dtype(device, config.precision)  # bf16/fp16 on GPUs, None on the CPU
    steps_per_epoch = len(run.data.loader)
    with contextlib.closing(epoch_bar(run)) as epochs:
        for epoch in range(run.start_epoch, config.num_epochs + 1):
            run.model.train()
            run.data.batch_sampler.set_epoch(epoch)  # the epoch's shuffle (the same on every process)
            meter = EpochMeter(run)
            batches = step_bar(run, epoch)
            for step, batch in enumerate(batches):
                if run.threads is not None:  # cpu_threads="auto": follow the cores left free
                    run.threads.update()
                set_learning_rates(run.optimizer, lr_factor(run.global_step, steps_per_epoch, config))
                losses = compute_loss(run.model, batch, weights, device, autocast,
                                      audio_cache=run.audio_cache)  # (loss, L_cl, L_ce)
                optimizer_step(run.model, run.optimizer, run.scaler, losses[0], config.max_grad_norm,
                               run.deferred_fbsp)
                run.global_step += 1
                meter.add(*losses, alpha=config.alpha, clips=int(batch.audio.shape[0]) * run.info.world_size)
                if meter.time_to_look(step, steps_per_epoch):
                    check_health(run, meter, epoch, step, losses)  # NonFiniteLossError on NaN or inf
                    show_progress(batches, meter, config, epoch, step)
            batches.close()
            row = meter.row(run, epoch, steps_per_epoch)  # the epoch's training losses and speed
            row.update(monitor(run, epoch))  # test loss and recall, validation loss
            end_epoch(run, row, epoch, epochs)  # best model, checkpoint, history
            if stop_after_epoch is not None and stop_after_epoch <= epoch < config.num_epochs:
                return epoch
    return None


@contextlib.contextmanager
def _distributed(device: torch.device) -> Iterator[D.DistInfo]:
    info = D.init_from_env(device.type)
    try:
        yield info
    finally:
        if info.is_distributed:
            D.shutdown()
