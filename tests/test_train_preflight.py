"""The memory pre-flight, with the GPU's free memory given (CI has no GPU): a run that will not fit
stops before the first step with one line naming the estimate, the free memory and what would fit."""

from __future__ import annotations

import pytest

from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.memory import estimate_peak_memory
from clipaac_lib.train.preflight import GPUMemoryError, check_memory

GIB = 2**30
T4 = (7, 5)
PAPER = TrainConfig(model_config="paper", precision="fp32", batch_size=16)  # 30 s clips


def test_a_run_that_fits_passes_unchanged() -> None:
    assert check_memory(PAPER, 80 * GIB, (9, 0)) is PAPER


def test_a_run_that_does_not_fit_stops_with_the_settings_that_would(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(GPUMemoryError) as error:
        check_memory(PAPER, 15 * GIB, T4, "Tesla T4")
    message = str(error.value)
    assert "\n" not in message and "free on Tesla T4" in message and "15.0 GiB" in message
    assert "precision='fp16'" in message and "fit_memory='auto'" in message
    estimate = estimate_peak_memory(PAPER, capability=T4)
    assert f"{estimate / GIB:.1f} GiB estimated" in message


def test_fit_memory_auto_applies_them_and_off_skips_the_check() -> None:
    fitted = check_memory(PAPER.replace(fit_memory="auto"), 15 * GIB, T4)
    assert fitted.precision == "fp16" and estimate_peak_memory(fitted, capability=T4) < 15 * GIB
    assert fitted.replace(precision="fp32", checkpoint_audio=False, fit_memory="check") == PAPER.replace(
        max_seconds=fitted.max_seconds)
    off = PAPER.replace(fit_memory="off")
    assert check_memory(off, 1 * GIB, T4) is off


def test_nothing_fits_a_tiny_gpu() -> None:
    with pytest.raises(GPUMemoryError, match="no setting fits; use a smaller batch_size"):
        check_memory(PAPER, 100 * 2**20, T4)
