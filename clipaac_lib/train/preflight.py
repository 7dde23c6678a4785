"""Checks before the first training step, so that a run fails in seconds rather than hours in: the
named GPU and the dataset's files (:func:`check_environment`, which downloads Clotho into the cache when
it is missing; :meth:`TrainConfig.validate` checks values only, with no I/O), Java for the caption
metrics, and GPU memory against the estimated peak of one step.

:func:`check_memory` compares :func:`clipaac_lib.train.memory.estimate_peak_memory` with the free memory
of the GPU (given, so that it is testable without one); when the step will not fit it stops with one line
naming the estimate, the free memory and settings that would fit, or, with ``fit_memory="auto"``,
returns the configuration with those settings applied. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import logging

import torch

from clipaac_lib.data import dataset_folder
from clipaac_lib.metrics import JavaNotFoundError, find_java
from clipaac_lib.train.config import ConfigError, TrainConfig
from clipaac_lib.train.memory import describe_bytes, estimate_peak_memory, fits, fitting_settings
from clipaac_lib.train.setup import clotho_splits, data_root, ensure_clotho

__all__ = ["GPUMemoryError", "check_environment", "require_java", "check_memory", "check_device_memory"]

log = logging.getLogger(__name__)


class GPUMemoryError(ConfigError):
    """One training step would not fit in the GPU's free memory; the message names settings that would."""


def check_environment(config: TrainConfig) -> None:
    """A CUDA device is only asked for where PyTorch sees one, and ``dataset="clotho"`` finds its files:
    the cache's copy is downloaded now when it is missing (:func:`~clipaac_lib.train.setup.ensure_clotho`;
    Java is checked first when the run scores captions, so a missing Java does not wait for 7 GB), a
    ``data_root`` without them raises :class:`ConfigError` saying how to get them."""
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={config.device!r} but PyTorch sees no CUDA GPU; use device='auto' or 'cpu'")
    if config.dataset == "clotho":
        folder = dataset_folder(data_root(config))
        missing = [s for s in clotho_splits(config) if not (folder / f"clotho_captions_{s}.csv").is_file()]
        if missing and config.data_root is None and config.caption_metrics:
            require_java()
        ensure_clotho(config)


def require_java() -> None:
    """Caption metrics need Java: find out before the first step, not after hours of training."""
    try:
        find_java()
    except JavaNotFoundError as err:
        raise JavaNotFoundError(
            f"{err} Without Java, set caption_metrics=False (`--no-caption-metrics`) to train and save captions "
            "without scores; on Colab the notebooks' first cell installs it."
        ) from None


def _changes(old: TrainConfig, new: TrainConfig) -> str:
    names = ("precision", "checkpoint_audio", "max_seconds")
    return ", ".join(f"{n}={getattr(new, n)!r}" for n in names if getattr(old, n) != getattr(new, n))


def check_memory(config: TrainConfig, free_bytes: int, capability: tuple[int, int],
                 device_name: str = "the GPU") -> TrainConfig:
    """``config`` when its estimated step fits in ``free_bytes``; else the fitting configuration when
    ``config.fit_memory == "auto"``, or :class:`GPUMemoryError` naming what would fit."""
    if config.fit_memory == "off" or fits(config, free_bytes, capability=capability):
        return config
    estimate = estimate_peak_memory(config, capability=capability)
    fitting = fitting_settings(config, free_bytes, capability=capability)
    where = f"{describe_bytes(estimate)} estimated for one training step, {describe_bytes(free_bytes)} free on " \
            f"{device_name}"
    if fitting is None:
        raise GPUMemoryError(f"{where}, and no setting fits; use a smaller batch_size or a larger GPU")
    if config.fit_memory == "auto":
        log.warning("%s: training with %s instead (fit_memory='auto')", where, _changes(config, fitting))
        return fitting
    raise GPUMemoryError(f"{where}; set {_changes(config, fitting)} to fit (fit_memory='auto' applies them), "
                         "or a smaller batch_size")


def check_device_memory(config: TrainConfig, device: torch.device) -> TrainConfig:
    """:func:`check_memory` with the free memory and capability of a CUDA ``device``; other devices pass."""
    if device.type != "cuda" or config.fit_memory == "off":
        return config
    free, _ = torch.cuda.mem_get_info(device)
    return check_memory(config, free, torch.cuda.get_device_capability(device), torch.cuda.get_device_name(device))
