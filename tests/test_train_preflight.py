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


def test_the_per_card_table_follows_the_pre_flight() -> None:
    """Colab's T4 trains the paper recipe in fp16 as it is; batch 16 needs checkpointing below an A100."""
    from clipaac_lib.train.memory import recipe_per_card

    rows = {r["card"]: r for r in recipe_per_card(TrainConfig(model_config="paper"))}
    assert rows["T4 (Colab free)"]["precision (auto)"] == "float16"
    assert rows["H100 80 GB"]["precision (auto)"] == "bfloat16"
    assert {r["fit_memory='auto' trains with"] for r in rows.values()} == {"the recipe as it is"}
    big = {r["card"]: r["fit_memory='auto' trains with"] for r in recipe_per_card(PAPER.replace(precision="auto"))}
    assert big["T4 (Colab free)"] == "checkpoint_audio=True" and big["A100 40 GB"] == "the recipe as it is"
