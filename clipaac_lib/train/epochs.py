"""What the training loop calls around its steps: the epoch's meter and progress bars, the health check,
the per-epoch monitoring, and the end of an epoch (best model, checkpoint, history).

The loop itself, which reads top to bottom, is :func:`clipaac_lib.train.trainer.train_epochs`.
Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import torch

from clipaac_lib.common import tqdm
from clipaac_lib.metrics import retrieval_recall
from clipaac_lib.model import save_model
from clipaac_lib.train import distributed as D
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.evaluation import SplitPass, run_split
from clipaac_lib.train.runstate import RunState, checkpoint_state
from clipaac_lib.train.setup import TrainData
from clipaac_lib.train.step import autocast_dtype, skipped_steps, unwrap

__all__ = ["EpochMeter", "NonFiniteLossError", "check_health", "end_epoch", "epoch_bar", "monitor", "step_bar"]

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run directory keeps the last good checkpoint."""


class EpochMeter:
    """One epoch's running losses (kept on the device, read back only when shown), its clip count, the
    fp16 loss scale and skipped steps, and its start time."""

    def __init__(self, run: RunState) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=run.device)
        self.bad = torch.zeros((), dtype=torch.bool, device=run.device)
        self.steps = 0
        self.clips = 0
        self.skipped = 0
        self.scale = run.scaler.get_scale() if run.scaler.is_enabled() else 1.0
        self.look_every = 1 if run.device.type == "cpu" else 20  # reading the GPU waits for it
        self.start = time.perf_counter()

    def add(self, loss: torch.Tensor, l_cl: torch.Tensor, l_ce: torch.Tensor, *, alpha: float, clips: int) -> None:
        """``loss`` is what was back-propagated; the logged total is Eq. 7 on the global batch."""
        values = torch.stack([alpha * l_cl + (1 - alpha) * l_ce, l_cl, l_ce]).double()
        self.bad |= ~(torch.isfinite(values).all() & torch.isfinite(loss.detach()))
        self.sums += torch.nan_to_num(values)
        self.steps += 1
        self.clips += clips

    def means(self) -> list[float]:
        return [v / max(self.steps, 1) for v in self.sums.tolist()]

    def time_to_look(self, step: int, steps_per_epoch: int) -> bool:
        """Whether to check health and update the bar after ``step`` (0-based)."""
        return (step + 1) % self.look_every == 0 or step + 1 == steps_per_epoch

    def row(self, run: RunState, epoch: int, steps_per_epoch: int) -> dict[str, Any]:
        """The epoch's line of the history (and a warning when fp16 skipped many steps)."""
        seconds = time.perf_counter() - self.start
        mean_loss, mean_cl, mean_ce = self.means()
        row = {"epoch": epoch, "train_loss": mean_loss, "train_contrastive": mean_cl, "train_caption": mean_ce,
               "lr_encoder": _group_lr(run.optimizer, "encoder"), "lr_new": _group_lr(run.optimizer, "new"),
               "steps": self.steps, "clips_per_s": self.clips / max(seconds, 1e-9), "epoch_seconds": seconds}
        if run.scaler.is_enabled():
            row.update(skipped_steps=self.skipped, loss_scale=run.scaler.get_scale())
            if self.skipped > max(2, 0.05 * steps_per_epoch):
                log.warning("epoch %d: the fp16 gradient scaler skipped %d of %d steps (inf/NaN gradients); if "
                            "this goes on, use precision='fp32' (or 'bf16' on GPUs that have it)", epoch,
                            self.skipped, steps_per_epoch)
        return row


def epoch_bar(run: RunState) -> tqdm:
    """The run's bar, one tick per epoch (main process, ``config.progress``)."""
    return tqdm(total=run.config.num_epochs, initial=run.start_epoch - 1, desc=f"training {run.run_dir.path.name}",
                unit="epoch", disable=not (run.config.progress and run.info.is_main))


def step_bar(run: RunState, epoch: int) -> tqdm:
    """The epoch's training batches, with a bar of their steps."""
    return tqdm(run.data.loader, desc=f"epoch {epoch}/{run.config.num_epochs}", total=len(run.data.loader),
                disable=not (run.config.progress and run.info.is_main), leave=False, unit="step")


def check_health(run: RunState, meter: EpochMeter, epoch: int, step: int,
                 losses: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    """Stop with :class:`NonFiniteLossError` on a non-finite loss (in any process); count the steps the
    fp16 scaler skipped since the last look."""
    if _any_rank(meter.bad):
        _raise_non_finite(epoch, step, *losses, run, last_good_epoch=epoch - 1)
    if run.scaler.is_enabled():  # fp16: steps with inf/NaN gradients were skipped, not errors
        scale = run.scaler.get_scale()
        meter.skipped += skipped_steps(meter.scale, scale)
        meter.scale = scale


def show_progress(bar: tqdm, meter: EpochMeter, config: TrainConfig, epoch: int, step: int) -> None:
    """The bar's mean loss, clips per second and the whole run's remaining time."""
    if bar.disable is False:
        steps_per_epoch = bar.total
        elapsed = max(time.perf_counter() - meter.start, 1e-9)
        steps_left = steps_per_epoch - step - 1 + (config.num_epochs - epoch) * steps_per_epoch
        bar.set_postfix(loss=f"{meter.means()[0]:.3f}", clips_s=f"{meter.clips / elapsed:.1f}",
                        run_left=_duration(steps_left * elapsed / (step + 1)))


def monitor(run: RunState, epoch: int) -> dict[str, Any]:
    """The epoch's monitoring (main process): the test split's teacher-forced caption loss and retrieval
    recall every ``validate_every`` epochs, the validation split's caption loss when there is one."""
    model, config, out = unwrap(run.model), run.config, {}
    if run.info.is_main and config.validate_every and epoch % config.validate_every == 0:
        out.update(_test_monitoring(model, run.data, config, run.device))
    if run.info.is_main and run.data.val is not None:
        out["val_caption_nll"] = _val_nll(model, run.data, config, run.device)
    return out


def end_epoch(run: RunState, row: dict[str, Any], epoch: int, bar: tqdm) -> None:
    """Keep the best epoch's model (lowest validation loss), append the history row, write the checkpoint
    and the history (main process), tick the bar; every process waits for the others."""
    if run.info.is_main and "val_caption_nll" in row:
        if row["val_caption_nll"] <= min(r["val_caption_nll"] for r in [*run.history, row]):
            save_model(unwrap(run.model), run.run_dir.best_dir)  # the best epoch so far
    run.history.append(row)
    if run.info.is_main:
        run.run_dir.save_checkpoint(checkpoint_state(run, epoch))
        run.run_dir.write_history(run.history)
        _log_epoch(row)
        shown = {"loss": row["train_loss"], "clips/s": row["clips_per_s"], "R@1": row.get("test_a2t_r1")}
        bar.set_postfix({k: f"{v:.3g}" for k, v in shown.items() if v is not None})
    bar.update(1)
    D.barrier()


def _monitoring(config: TrainConfig, device: torch.device) -> SplitPass:
    """The per-epoch pass: no decoding, the teacher-forced caption loss, the run's precision."""
    return SplitPass(batch_size=config.eval_batch_size, nll=True, max_words=config.max_words,
                     autocast=autocast_dtype(device, config.precision))


def _test_monitoring(model: Any, data: TrainData, config: TrainConfig, device: torch.device) -> dict[str, Any]:
    """Per-epoch monitoring on the test split: caption NLL per token and retrieval recall."""
    out = run_split(model, data.test, data.vocab, _monitoring(config, device), device=device)
    if out.text_emb is None:  # no text head (alpha = 0): nothing to retrieve
        return {"test_caption_nll": out.caption_nll}
    recall = retrieval_recall(out.audio_emb, out.text_emb, out.text_clip)
    return {"test_caption_nll": out.caption_nll, **{f"test_{k}": v for k, v in recall.items()}}


def _val_nll(model: Any, data: TrainData, config: TrainConfig, device: torch.device) -> float:
    """Teacher-forced caption loss per token on the held-out split (no label smoothing)."""
    out = run_split(model, data.val, data.vocab, _monitoring(config, device), device=device)
    return float(out.caption_nll)


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
                      run: RunState, last_good_epoch: int) -> None:
    path = run.run_dir.path
    kept = (f"the checkpoint of epoch {last_good_epoch} in {path} is kept" if last_good_epoch
            else f"no epoch had finished, so {path} holds no checkpoint")
    raise NonFiniteLossError(
        f"non-finite loss in epoch {epoch} by step {step + 1} (last values: total {float(loss.detach()):.4g}, "
        f"contrastive {float(l_cl):.4g}, caption {float(l_ce):.4g}); training stopped and {kept}. "
        "Lower lr/encoder_lr, set max_grad_norm, or check the data for silent or corrupt clips; "
        "re-running the same configuration resumes from the kept checkpoint."
    )


def _log_epoch(row: dict[str, Any]) -> None:
    parts = [f"{k}={v:.4g}" if isinstance(v, float) and math.isfinite(v) else f"{k}={v}" for k, v in row.items()]
    log.info("epoch done: %s", " ".join(parts))
