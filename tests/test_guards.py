"""Regression guards, each against an independent reference (hand arithmetic, a hand-made table, a
hash computed here): ``find_run``/``require_run`` never train or write and say how to make a run; a run
records the sha256 of the file it loaded; pretraining keeps every full batch; the memory estimate holds
Adam's two states; the pre-flight keeps its headroom; fp16 unscales before clipping and the fbsp
rescaling; ``checkpoint_audio`` reaches a real run's audio head; ``merge_summaries`` keeps the first row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from torch import Tensor, nn

from clipaac_lib.experiments import merge_summaries
from clipaac_lib.model import CLIPAAC, ESResNeXtFBSP, ModelConfig
from clipaac_lib.model.frontend import LinearFBSP
from clipaac_lib.pretrain import load_audioclip
from clipaac_lib.pretrain.fit import epoch_batches, fit
from clipaac_lib.train import RunNotFoundError, TrainConfig, find_run, require_run, train
from clipaac_lib.train.distributed import defer_fbsp_grad_normalize
from clipaac_lib.train.memory import activation_profile, estimate_peak_memory, fits
from clipaac_lib.train.preflight import GPUMemoryError, check_memory
from clipaac_lib.train.step import optimizer_step
from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread_private_cache")

#: the book's pretraining in miniature (24 clips of 2.5 s, one epoch per stage), as tests/test_pretrain.py
TINY_PRETRAIN: dict[str, Any] = {"corpus": {"clips": 24, "seconds": 2.5}, "held_out": 4, "batch_size": 4,
                                 "audio_epochs": 1, "text_epochs": 1}


def _files(root: Path) -> set[str]:
    """Every path under ``root`` (files and folders), relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _tiny_run_config(data: Path, run_root: Path, **changes: Any) -> TrainConfig:
    """One training step: 4 clips, one caption each, batch 4, the tiny model, no metrics."""
    base: dict[str, Any] = dict(
        init="random", data_root=str(data), run_root=str(run_root), train_split="development",
        test_split="evaluation", model_overrides=TINY_MODEL, num_epochs=1, batch_size=4, warmup_epochs=0.0,
        limit_train_clips=4, limit_test_clips=2, epoch_captions="one", beam_size=1, max_caption_len=4,
        eval_batch_size=4, caption_metrics=False, eval_untrained=False, validate_every=0, progress=False,
    )
    base.update(changes)
    return TrainConfig(**base)


def _tiny_model_config(vocab_size: int) -> ModelConfig:
    """The model of ``model_overrides=TINY_MODEL`` at ``vocab_size``, built here from the small preset."""
    small = ModelConfig.small()
    return ModelConfig.small(vocab_size=vocab_size, embed_dim=TINY_MODEL["embed_dim"],
                             audio={**small.audio.__dict__, **TINY_MODEL["audio"]},
                             text={**small.text.__dict__, **TINY_MODEL["text"]},
                             decoder={**small.decoder.__dict__, **TINY_MODEL["decoder"]})


# ------------------------------------------------------------------ 1. find_run / require_run
def _forbid_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``train`` fail at once (a finder that trains would otherwise take minutes to be caught)."""

    def trains(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("train() was called")

    monkeypatch.setattr(sys.modules[train.__module__], "train", trains)


def test_find_run_without_a_finished_run_returns_none_and_writes_nothing(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards ``find_run`` training or writing (run directory, data, cache) when no finished run exists,
    also when an unfinished run directory is there."""
    _forbid_training(monkeypatch)
    root = tmp_path / "runs"
    root.mkdir()
    config = TrainConfig(init="random", num_epochs=3, run_root=str(root), progress=False)
    before = _files(tmp_path)
    assert find_run(config) is None
    assert _files(tmp_path) == before, "find_run wrote files"
    assert not any(root.iterdir()), "find_run wrote into the run root"

    unfinished = root / config.run_name()  # a run that never finished: config.json only
    unfinished.mkdir()
    (unfinished / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    before = _files(tmp_path)
    assert find_run(config) is None
    assert _files(tmp_path) == before, "find_run wrote files beside an unfinished run"


def test_require_run_names_the_notebook_and_the_train_command(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards ``require_run``'s error losing the notebook or the ``clipaac train ...`` command line of the
    configuration (and training or writing anything)."""
    _forbid_training(monkeypatch)
    root = tmp_path / "runs"
    root.mkdir()
    config = TrainConfig(init="random", num_epochs=3, run_root=str(root), progress=False)
    with pytest.raises(RunNotFoundError) as error:
        require_run(config)
    message = str(error.value)
    assert "05_train" in message, message
    # the non-default fields in declaration order, written by hand
    command = f"clipaac train --init random --num-epochs 3 --run-root {root} --no-progress"
    assert command in message, message
    assert not any(root.iterdir())


# ------------------------------------------------------------------ 2. the recorded init_weights
def test_a_run_records_the_sha256_of_the_file_it_loaded(tiny_clotho: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the run's ``config.json`` ``init_weights`` naming another file (e.g. the audio stage's)
    than the one loaded into the encoder: its sha256 must be that file's, hashed here."""
    module = sys.modules[load_audioclip.__module__]
    original = module.read_state_dict
    loaded: list[Path] = []

    def spy(checkpoint: Any) -> dict[str, Tensor]:
        if isinstance(checkpoint, (str, Path)):
            loaded.append(Path(checkpoint))
        return original(checkpoint)

    monkeypatch.setattr(module, "read_state_dict", spy)
    config = _tiny_run_config(tiny_clotho, tmp_path / "runs", init="audio_text", model_config="small",
                              pretrain_overrides=TINY_PRETRAIN)
    result = train(config)
    assert len(set(loaded)) == 1, loaded  # one file initialised the encoder
    path = loaded[0]
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    record = json.loads((Path(result.run_dir) / "config.json").read_text(encoding="utf-8"))["init_weights"]
    assert record["init"] == "audio_text" and record["file"] == path.name, (record, path)
    assert record["sha256"] == expected, f"recorded {record['sha256']}, loaded {path.name} has {expected}"


# ------------------------------------------------------------------ 3. pretraining batches
@pytest.mark.parametrize(("n", "batch_size"), [(8, 4), (12, 4), (10, 4), (9, 3), (7, 2), (4, 4), (3, 4)])
def test_an_epoch_of_pretraining_keeps_every_full_batch(n: int, batch_size: int) -> None:
    """Guards ``epoch_batches``/``fit`` dropping a full batch: an epoch has n // batch_size steps of
    batch_size distinct clips (only the ragged rest is dropped)."""
    expected = {(8, 4): 2, (12, 4): 3, (10, 4): 2, (9, 3): 3, (7, 2): 3, (4, 4): 1, (3, 4): 0}[(n, batch_size)]
    batches = epoch_batches(n, batch_size, torch.Generator().manual_seed(0))
    assert len(batches) == expected, f"{len(batches)} batches of {n} clips by {batch_size}, expected {expected}"
    assert all(len(b) == batch_size for b in batches)
    seen = torch.cat(batches).tolist() if batches else []
    assert len(set(seen)) == len(seen) and all(0 <= i < n for i in seen)

    weight = nn.Parameter(torch.zeros(1))
    steps: list[int] = []

    def loss_of(index: Tensor) -> Tensor:
        steps.append(len(index))
        return (weight * len(index)).sum()

    if expected == 0:
        return  # no step: fit's mean training loss is undefined
    fit("test", torch.optim.Adam([weight], lr=1e-3), loss_of, lambda: {"val_loss": 0.0}, clips=n, epochs=2,
        batch_size=batch_size, seed=0, desc="test", progress=False)
    assert steps == [batch_size] * (2 * expected), f"fit took {len(steps)} steps in 2 epochs, expected {2 * expected}"


# ------------------------------------------------------------------ 4. Adam's two states in the estimate
def test_the_estimate_holds_weights_and_two_adam_states_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards ``estimate_peak_memory`` counting Adam's state once: with activations that dominate every
    other term by construction (B bytes saved after the stages), the estimate is exactly W + 2 P + B,
    W the weight and buffer bytes and P the float32 bytes of the trainable parameters, both counted
    here from a CPU model."""
    vocab = 5000  # estimate_peak_memory's default caption vocabulary
    config = TrainConfig(init="random", model_overrides=TINY_MODEL, precision="fp32", batch_size=2,
                         max_seconds=1.0)
    torch.manual_seed(0)
    model = CLIPAAC(_tiny_model_config(vocab))
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    weights += sum(b.numel() * b.element_size() for b in model.buffers())
    trainable = sum(p.numel() * 4 for p in model.parameters() if p.requires_grad)
    assert trainable > 0

    real = activation_profile(config, None, vocab)
    assert real.weights == weights and real.trainable == trainable, (real.weights, weights, real.trainable, trainable)
    big = 100 * (weights + trainable + sum(real.saved.values()) + sum(real.stage_inputs.values()))
    fake = dataclasses.replace(real, saved={**dict.fromkeys(real.saved, 0), "post": big},
                               largest=dict.fromkeys(real.largest, 0),
                               stage_inputs=dict.fromkeys(real.stage_inputs, 0))
    monkeypatch.setattr(sys.modules[estimate_peak_memory.__module__], "activation_profile",
                        lambda *args, **kwargs: fake)
    got = estimate_peak_memory(config, vocab_size=vocab)
    expected = weights + 2 * trainable + big
    assert got == expected, f"estimate {got} != W + 2P + B = {expected} (W + 2P + B - estimate = {expected - got}, P = {trainable})"


# ------------------------------------------------------------------ 5. the pre-flight's headroom
def test_the_pre_flight_keeps_its_headroom() -> None:
    """Guards ``fits``/``check_memory`` comparing the estimate with the raw free memory: a budget just
    above the estimate is refused, one above estimate / 0.9 (the default 10 % headroom) accepted."""
    config = TrainConfig(init="random", model_overrides=TINY_MODEL, precision="fp32", batch_size=2,
                         max_seconds=1.0)
    capability = (8, 0)
    estimate = estimate_peak_memory(config, capability=capability)
    for free in (estimate + 1, math.ceil(estimate * 1.01)):
        assert not fits(config, free, capability=capability), f"{estimate} B estimated fit in {free} B free"
        with pytest.raises(GPUMemoryError):
            check_memory(config, free, capability)
    roomy = math.ceil(estimate / 0.9) + 1
    assert fits(config, roomy, capability=capability)
    assert check_memory(config, roomy, capability) is config


# ------------------------------------------------------------------ 6. fp16: unscale before clipping and fbsp
class _FBSPNet(nn.Module):
    """An fbsp layer and a linear layer: enough for the fbsp rescaling and gradient clipping."""

    def __init__(self) -> None:
        super().__init__()
        self.fbsp = LinearFBSP(4)
        self.linear = nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:
        real, imag = self.fbsp(x)  # (B, 4) each
        return self.linear(torch.cat([real, imag], dim=-1)).pow(2).mean()


def test_the_fp16_step_unscales_before_the_fbsp_rescaling_and_clipping() -> None:
    """Guards ``optimizer_step`` without ``scaler.unscale_()`` before the fbsp rescaling and
    ``max_grad_norm`` clipping: the update of the GradScaler path equals the update computed here from
    the unscaled gradients (fbsp gradients divided by their max-abs, then clipped, then SGD)."""
    max_norm, lr = 0.5, 0.1
    torch.manual_seed(0)
    scaled = _FBSPNet()
    reference = _FBSPNet()
    reference.load_state_dict(scaled.state_dict())
    x = torch.randn(5, 16)

    deferred = defer_fbsp_grad_normalize(scaled)
    assert deferred == [scaled.fbsp]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**14)
    opt = torch.optim.SGD(scaled.parameters(), lr=lr)
    optimizer_step(scaled, opt, scaler, scaled(x), max_grad_norm=max_norm, deferred_fbsp=deferred)

    reference.fbsp.defer_grad_normalize = True  # rescaled by hand below
    ref_opt = torch.optim.SGD(reference.parameters(), lr=lr)
    reference(x).backward()
    for param in (reference.fbsp.m, reference.fbsp.fb, reference.fbsp.fc):
        param.grad.div_(param.grad.abs().max() + 1e-8)
    norm = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
    assert norm > max_norm  # the clipping is active
    ref_opt.step()

    for (name, got), (_, want) in zip(scaled.named_parameters(), reference.named_parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7, msg=lambda m, n=name: f"{n}: {m}")


# ------------------------------------------------------------------ 7. checkpoint_audio in a real run
def test_checkpoint_audio_reaches_the_audio_head_of_a_run(tiny_clotho: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards ``checkpoint_audio=True`` not reaching the model a run trains: each ResNeXt stage of each
    training step goes through activation checkpointing."""
    module = sys.modules[ESResNeXtFBSP.__module__]
    original = module.checkpoint
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "checkpoint", counting)
    result = train(_tiny_run_config(tiny_clotho, tmp_path / "runs", checkpoint_audio=True))
    steps = result.history[0]["steps"]
    stages = len(json.loads((Path(result.run_dir) / "model_config.json").read_text())["audio"]["layers"])
    assert steps == 1 and stages == 4
    assert len(calls) == stages * steps, f"{len(calls)} checkpointed stage calls in {steps} step(s) of {stages} stages"


# ------------------------------------------------------------------ 8. merge_summaries
def test_merge_summaries_keeps_the_first_tables_row_of_a_repeated_system() -> None:
    """Guards ``merge_summaries`` keeping the later row of a system in both tables (the docstring: the
    first one is kept) or keeping it twice."""
    one = pd.DataFrame({"cider_d_mean": [0.2, 0.5], "n_seeds": [1, 3]}, index=pd.Index([1, 8], name="system"))
    two = pd.DataFrame({"cider_d_mean": [0.9, 0.3], "n_seeds": [5, 1]}, index=pd.Index([8, 9], name="system"))
    merged = merge_summaries(one, two)
    assert list(merged.index) == [1, 8, 9] and merged.index.is_unique
    assert merged.loc[8, "cider_d_mean"] == 0.5 and merged.loc[8, "n_seeds"] == 3, merged.loc[8].to_dict()
    assert merged.loc[1, "cider_d_mean"] == 0.2 and merged.loc[9, "cider_d_mean"] == 0.3
