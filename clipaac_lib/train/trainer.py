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

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from clipaac_lib.common.devices import resolve_device
from clipaac_lib.common.fileio import atomic_write_json
from clipaac_lib.common.progress import tqdm
from clipaac_lib.common.threads import ThreadGovernor
from clipaac_lib.data import PairBatch
from clipaac_lib.metrics import retrieval_recall
from clipaac_lib.model import CLIPAAC, load_model_state, model_state, save_model
from clipaac_lib.train import distributed as D
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.evaluation import SplitPass, evaluate_and_save, run_split
from clipaac_lib.train.frozen import training_audio_cache
from clipaac_lib.train.lock import run_lock
from clipaac_lib.train.preflight import check_device_memory, check_environment, require_java
from clipaac_lib.train.rundir import RunDir, RunResult, capture_rng, restore_rng, run_dir_of
from clipaac_lib.train.setup import TrainData, build_model, init_weights, load_data, seed_everything
from clipaac_lib.train.step import (
    LossWeights,
    autocast_dtype,
    compute_loss,
    fast_path,
    make_optimizer,
    make_scaler,
    optimizer_step,
    skipped_steps,
    unwrap,
)

__all__ = ["NonFiniteLossError", "train", "lr_factor", "warmup_factor"]

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run directory keeps the last good checkpoint."""


def lr_factor(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based) of a (resolved) configuration: the
    linear warm-up (:func:`warmup_factor`), then 1 (``lr_after_warmup="constant"``) or a cosine from 1 at
    the end of the warm-up down towards 0 at the end of training (``"cosine"``). Notebook:
    ``notebooks/05_train.ipynb``."""
    warmup_steps = config.warmup_epochs * steps_per_epoch
    if config.lr_after_warmup == "constant" or step < warmup_steps:
        return warmup_factor(step, steps_per_epoch, config.warmup_epochs)
    total_steps = config.num_epochs * steps_per_epoch
    progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1.0)  # [0, 1)
    return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def warmup_factor(step: int, steps_per_epoch: int, warmup_epochs: float) -> float:
    """Learning-rate multiplier at optimiser step ``step`` (0-based): ``min(1, (step + 1) / W)`` with
    ``W = warmup_epochs * steps_per_epoch`` steps (1 throughout when there is no warm-up)."""
    warmup_steps = warmup_epochs * steps_per_epoch
    if warmup_steps <= 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)


class _Meter:
    """Running sums of the epoch's losses, kept on the device (read back only when shown)."""

    def __init__(self, device: torch.device) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)
        self.bad = torch.zeros((), dtype=torch.bool, device=device)
        self.steps = 0

    def add(self, loss: torch.Tensor, l_cl: torch.Tensor, l_ce: torch.Tensor, alpha: float) -> None:
        """``loss`` is what was back-propagated; the logged total is Eq. 7 on the global batch."""
        values = torch.stack([alpha * l_cl + (1 - alpha) * l_ce, l_cl, l_ce]).double()
        self.bad |= ~(torch.isfinite(values).all() & torch.isfinite(loss.detach()))
        self.sums += torch.nan_to_num(values)
        self.steps += 1

    def means(self) -> list[float]:
        return [v / max(self.steps, 1) for v in self.sums.tolist()]


@dataclass
class _Run:
    """What the epochs of one run work on: the run's setting, its model and optimiser (the model as
    trained: DDP-wrapped or compiled where asked), and the counters a checkpoint keeps."""

    config: TrainConfig
    run_dir: RunDir
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


@dataclass
class _EpochProgress:
    """One epoch's running losses, clip count, fp16 loss scale and skipped steps, and its start time."""

    meter: _Meter
    scale: float
    skipped: int = 0
    clips: int = 0
    start: float = field(default_factory=time.perf_counter)


def _cpu_threads(config: TrainConfig, device: torch.device) -> ThreadGovernor | None:
    """Apply ``config.cpu_threads`` on a CPU: a fixed count now, or the governor for "auto"."""
    if device.type != "cpu" or config.cpu_threads == "torch":
        return None
    if config.cpu_threads == "auto":
        return ThreadGovernor()
    torch.set_num_threads(int(config.cpu_threads))
    return None


def _train_step(run: _Run, batch: PairBatch, weights: LossWeights, autocast: torch.dtype | bool | None,
                steps_per_epoch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Set the learning rates of this step, forward, backward and update; ``(loss, L_cl, L_ce)``."""
    factor = lr_factor(run.global_step, steps_per_epoch, run.config)
    for group in run.optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    loss, l_cl, l_ce = compute_loss(run.model, batch, weights, run.device, autocast, audio_cache=run.audio_cache)
    optimizer_step(run.model, run.optimizer, run.scaler, loss, run.config.max_grad_norm, run.deferred_fbsp)
    run.global_step += 1
    return loss, l_cl, l_ce


def _check_health(run: _Run, progress: _EpochProgress, epoch: int, step: int,
                  losses: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    """Stop on a non-finite loss (any process); count the steps the fp16 scaler skipped since the last look."""
    if _any_rank(progress.meter.bad):
        _raise_non_finite(epoch, step, *losses, run.run_dir, last_good_epoch=epoch - 1)
    if run.scaler.is_enabled():  # fp16: steps with inf/NaN gradients were skipped, not errors
        scale = run.scaler.get_scale()
        progress.skipped += skipped_steps(progress.scale, scale)
        progress.scale = scale


def _show_progress(bar: tqdm, progress: _EpochProgress, config: TrainConfig, epoch: int, step: int,
                   steps_per_epoch: int) -> None:
    """The bar's mean loss, clips per second and the whole run's remaining time."""
    if bar.disable is False:
        elapsed = max(time.perf_counter() - progress.start, 1e-9)
        steps_left = steps_per_epoch - step - 1 + (config.num_epochs - epoch) * steps_per_epoch
        bar.set_postfix(loss=f"{progress.meter.means()[0]:.3f}", clips_s=f"{progress.clips / elapsed:.1f}",
                        run_left=_duration(steps_left * elapsed / (step + 1)))


def _epoch_row(run: _Run, progress: _EpochProgress, epoch: int, steps_per_epoch: int) -> dict[str, Any]:
    """The epoch's line of the history (and a warning when fp16 skipped many steps)."""
    seconds = time.perf_counter() - progress.start
    mean_loss, mean_cl, mean_ce = progress.meter.means()
    row = {"epoch": epoch, "train_loss": mean_loss, "train_contrastive": mean_cl, "train_caption": mean_ce,
           "lr_encoder": _group_lr(run.optimizer, "encoder"), "lr_new": _group_lr(run.optimizer, "new"),
           "steps": progress.meter.steps, "clips_per_s": progress.clips / max(seconds, 1e-9),
           "epoch_seconds": seconds}
    if run.scaler.is_enabled():
        row.update(skipped_steps=progress.skipped, loss_scale=run.scaler.get_scale())
        if progress.skipped > max(2, 0.05 * steps_per_epoch):
            log.warning("epoch %d: the fp16 gradient scaler skipped %d of %d steps (inf/NaN gradients); if this "
                        "goes on, use precision='fp32' (or 'bf16' on GPUs that have it)", epoch, progress.skipped,
                        steps_per_epoch)
    return row


def _train_epoch(run: _Run, epoch: int) -> dict[str, Any]:
    """One epoch over the training loader; returns its history row (``run.global_step`` advances).
    With ``run.audio_cache`` the frozen encoder's embeddings (:mod:`clipaac_lib.train.frozen`) stand in
    for the audio head."""
    config, device = run.config, run.device
    run.model.train()
    run.data.batch_sampler.set_epoch(epoch)
    autocast = autocast_dtype(device, config.precision)
    weights = LossWeights.from_config(config)
    steps_per_epoch = len(run.data.loader)
    progress = _EpochProgress(_Meter(device), run.scaler.get_scale() if run.scaler.is_enabled() else 1.0)
    check_every = 1 if device.type == "cpu" else 20
    bar = tqdm(run.data.loader, desc=f"epoch {epoch}/{config.num_epochs}", total=steps_per_epoch,
               disable=not (config.progress and run.info.is_main), leave=False, unit="step")
    for step, batch in enumerate(bar):
        if run.threads is not None:
            run.threads.update()
        losses = _train_step(run, batch, weights, autocast, steps_per_epoch)
        progress.meter.add(*losses, config.alpha)
        progress.clips += int(batch.audio.shape[0]) * run.info.world_size
        if (step + 1) % check_every == 0 or step + 1 == steps_per_epoch:
            _check_health(run, progress, epoch, step, losses)
            _show_progress(bar, progress, config, epoch, step, steps_per_epoch)
    bar.close()
    return _epoch_row(run, progress, epoch, steps_per_epoch)


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``12s``: the whole run's remaining training time in a progress bar."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _any_rank(flag: torch.Tensor) -> bool:
    """True when ``flag`` is set on any process (so that all processes stop together)."""
    if not D.is_distributed():
        return bool(flag)
    value = flag.float().reshape(1).clone()
    torch.distributed.all_reduce(value)
    return bool(value.item() > 0)


def _group_lr(optimizer: torch.optim.Optimizer, name: str) -> float | None:
    for group in optimizer.param_groups:
        if group.get("name") == name:
            return float(group["lr"])
    return None


def _raise_non_finite(epoch: int, step: int, loss: torch.Tensor, l_cl: torch.Tensor, l_ce: torch.Tensor,
                      run_dir: RunDir, last_good_epoch: int) -> None:
    kept = (f"the checkpoint of epoch {last_good_epoch} in {run_dir.path} is kept" if last_good_epoch
            else f"no epoch had finished, so {run_dir.path} holds no checkpoint")
    raise NonFiniteLossError(
        f"non-finite loss in epoch {epoch} by step {step + 1} (last values: total {float(loss.detach()):.4g}, "
        f"contrastive {float(l_cl):.4g}, caption {float(l_ce):.4g}); training stopped and {kept}. "
        "Lower lr/encoder_lr, set max_grad_norm, or check the data for silent or corrupt clips; "
        "re-running the same configuration resumes from the kept checkpoint."
    )


# --------------------------------------------------------------------------------------------- the run
def _checkpoint_state(model: Any, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, epoch: int,
                      global_step: int, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"epoch": epoch, "global_step": global_step, "model": model_state(unwrap(model)),
            "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(), "rng": capture_rng(),
            "history": history}


def _match_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give loaded optimiser state the memory layout of its parameter (channels-last on CUDA)."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.dim() == 4:
                    optimizer.state[param][key] = torch.empty_like(param).copy_(value)


@contextlib.contextmanager
def _distributed(device: torch.device) -> Iterator[D.DistInfo]:
    info = D.init_from_env(device.type)
    try:
        yield info
    finally:
        if info.is_distributed:
            D.shutdown()


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


def _write_run_config(config: TrainConfig, run_dir: RunDir, run_hash: str) -> None:
    run_dir.write_config(config.to_dict(), run_hash)
    if config.compile and not config.fixed_length:
        log.warning("compile=True without fixed_length: every new batch shape (clip length, last batch) "
                    "compiles the ResNeXt stages again; set fixed_length=True for one shape")


def _build(config: TrainConfig, run_dir: RunDir, device: torch.device, info: D.DistInfo,
           run_hash: str) -> tuple[TrainData, CLIPAAC]:
    """The run's data and its freshly initialised model (the seed alone fixes both); the main process
    records the model configuration and which pretrained file (by sha256) initialised the encoder."""
    seed_everything(config.seed)
    data = load_data(config, run_dir, info)
    seed_everything(config.seed)  # the model's initial weights depend on the seed only
    model, model_config = build_model(config, len(data.vocab), device)
    model.audio.set_activation_checkpointing(config.checkpoint_audio)
    if info.is_main:
        atomic_write_json(run_dir.model_config_file, model_config.to_dict())
        weights = init_weights(config, model_config)  # found in the cache: build_model made it
        if weights is not None:  # which file initialised the encoder, by sha256
            run_dir.write_config(config.to_dict(), run_hash, init_weights=weights.to_dict())
    return data, model


def _start_run(config: TrainConfig, run_dir: RunDir, device: torch.device, info: D.DistInfo,
               run_hash: str) -> _Run:
    """Data, model, optimiser and scaler of the run, resumed from its checkpoint where there is one."""
    data, model = _build(config, run_dir, device, info, run_hash)
    state = run_dir.load_checkpoint(map_location=device) if config.resume and run_dir.has_checkpoint() else None
    if state is not None:
        model.load_state_dict(state["model"])
    trained: torch.nn.Module = model
    if info.is_distributed:  # batch statistics over the global batch (before compiling and the optimiser)
        trained = D.convert_batchnorm(trained, device.type)
    trained = fast_path(trained, device, compile=config.compile, autotune=config.fixed_length)
    optimizer = make_optimizer(trained, config)
    scaler = make_scaler(device, autocast_dtype(device, config.precision))
    run = _Run(config, run_dir, device, info, data, trained, optimizer, scaler, threads=_cpu_threads(config, device))
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


def _restore(run: _Run, state: dict[str, Any]) -> None:
    """Optimiser, scaler, random generators and counters from a checkpoint."""
    run.optimizer.load_state_dict(state["optimizer"])
    if state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    _match_layout(run.optimizer)
    restore_rng(state["rng"])
    run.start_epoch, run.global_step, run.history = state["epoch"] + 1, state["global_step"], state["history"]
    log.info("resuming %s after epoch %d", run.run_dir.path, state["epoch"])


def _after_epoch(run: _Run, row: dict[str, Any], epoch: int, epochs_bar: tqdm) -> None:
    """Monitoring, the best-epoch model, the checkpoint and the history of a finished epoch."""
    model, config = unwrap(run.model), run.config
    if run.info.is_main and config.validate_every and epoch % config.validate_every == 0:
        row.update(_validate(model, run.data, config, run.device))
    if run.info.is_main and run.data.val is not None:
        row["val_caption_nll"] = _val_nll(model, run.data, config, run.device)
        if row["val_caption_nll"] <= min(r["val_caption_nll"] for r in [*run.history, row]):
            save_model(model, run.run_dir.best_dir)  # the best epoch so far
    run.history.append(row)
    if run.info.is_main:
        run.run_dir.save_checkpoint(_checkpoint_state(run.model, run.optimizer, run.scaler, epoch,
                                                      run.global_step, run.history))
        run.run_dir.write_history(run.history)
        _log_epoch(row)
        shown = {"loss": row["train_loss"], "clips/s": row["clips_per_s"], "R@1": row.get("test_a2t_r1")}
        epochs_bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items() if v is not None})
    epochs_bar.update(1)
    D.barrier()


def _finish_run(run: _Run, run_hash: str, last_epoch: int) -> RunResult:
    """Keep the selected weights, mark the run finished and evaluate it (main process)."""
    config, run_dir, info = run.config, run.run_dir, run.info
    seconds = _train_seconds(run.history)
    if info.is_main:
        if config.select_checkpoint == "best":
            unwrap(run.model).load_state_dict(load_model_state(run_dir.best_dir, run.device))
            log.info("keeping the weights of epoch %d (lowest validation caption loss)", _best_epoch(run.history))
        run_dir.save_model(unwrap(run.model))
        for stale in run_dir.discard_trained_evaluations():  # they scored an earlier checkpoint
            log.info("removed %s: it scored an earlier checkpoint of this run", stale.name)
        run_dir.mark_finished({"run_hash": run_hash, "epochs": last_epoch, "global_step": run.global_step,
                               "train_seconds": seconds, "world_size": info.world_size})
    D.barrier()
    if not info.is_main:
        return RunResult(run_dir.path, config, run_hash, run.history, epochs_completed=last_epoch, finished=True)
    eval_model = None if config.compile else unwrap(run.model)  # compiled stages would recompile per shape
    return evaluate_and_save(run_dir, config, run.device, reused=False, model=eval_model, data=run.data)


def _train_run(config: TrainConfig, run_dir: RunDir, device: torch.device, info: D.DistInfo,
               stop_after_epoch: int | None) -> RunResult:
    """Train the run from its start (or its checkpoint) to its last epoch, then finish it."""
    run_hash = config.run_hash()
    if info.is_main:
        _write_run_config(config, run_dir, run_hash)
    run = _start_run(config, run_dir, device, info, run_hash)
    last_epoch = run.start_epoch - 1
    epochs_bar = tqdm(total=config.num_epochs, initial=run.start_epoch - 1, desc=f"training {run_dir.path.name}",
                      unit="epoch", disable=not (config.progress and info.is_main))
    try:
        for epoch in range(run.start_epoch, config.num_epochs + 1):
            _after_epoch(run, _train_epoch(run, epoch), epoch, epochs_bar)
            last_epoch = epoch
            if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < config.num_epochs:
                return RunResult(run_dir.path, config, run_hash, run.history, epochs_completed=epoch,
                                 train_seconds=_train_seconds(run.history))
    finally:
        epochs_bar.close()
    return _finish_run(run, run_hash, last_epoch)


def _train_seconds(history: list[dict[str, Any]]) -> float:
    """Training time over all epochs of the run (also across resumptions)."""
    return float(sum(row.get("epoch_seconds", 0.0) for row in history))


def _monitoring(config: TrainConfig, device: torch.device) -> SplitPass:
    """The per-epoch pass: no decoding, the teacher-forced caption loss, the run's precision."""
    return SplitPass(batch_size=config.eval_batch_size, nll=True, max_words=config.max_words,
                     autocast=autocast_dtype(device, config.precision))


def _validate(model: Any, data: TrainData, config: TrainConfig, device: torch.device) -> dict[str, Any]:
    """Per-epoch monitoring on the test split: caption NLL per token and retrieval recall."""
    out = run_split(model, data.test, data.vocab, _monitoring(config, device), device=device)
    if out.text_emb is None:  # no text head (alpha = 0): nothing to retrieve
        return {"test_caption_nll": out.caption_nll}
    recall = retrieval_recall(out.audio_emb, out.text_emb, out.text_clip)
    return {"test_caption_nll": out.caption_nll, **{f"test_{k}": v for k, v in recall.items()}}


def _val_nll(model: CLIPAAC, data: TrainData, config: TrainConfig, device: torch.device) -> float:
    """Teacher-forced caption loss per token on the held-out split (no label smoothing)."""
    out = run_split(model, data.val, data.vocab, _monitoring(config, device), device=device)
    return float(out.caption_nll)


def _best_epoch(history: list[dict[str, Any]]) -> int:
    return min(history, key=lambda row: row["val_caption_nll"])["epoch"]


def _log_epoch(row: dict[str, Any]) -> None:
    parts = [f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}" for k, v in row.items()]
    log.info("epoch done: %s", " ".join(parts))
