"""What lets the paper's recipe fit on a 16 GB card (issue: Colab's T4), checked on the CPU:
fp16 autocast with a gradient scaler, activation checkpointing of the audio head, and Java checked
before the first step."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from clipaac_lib.data import PairBatch
from clipaac_lib.metrics import JavaNotFoundError
from clipaac_lib.model import CLIPAAC, ModelConfig
from clipaac_lib.train import TrainConfig, train
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.step import compute_loss, optimizer_step, skipped_steps
from tests.conftest import TINY_MODEL
from tests.test_train_step import CPU, VOCAB, WEIGHTS, _batch, _model


def test_fp16_autocast_step_is_close_to_float32() -> None:
    """Losses stay float32 (upcast from fp16 logits); the loss is within fp16 accuracy of float32."""
    batch = _batch(ModelConfig.small(vocab_size=VOCAB), batch=2, seconds=0.25)
    model = _model()
    loss32 = compute_loss(copy.deepcopy(model), batch, WEIGHTS, CPU, autocast=None)[0]
    loss16, l_cl, l_ce = compute_loss(model, batch, WEIGHTS, CPU, autocast=torch.float16)
    assert loss16.dtype == l_cl.dtype == l_ce.dtype == torch.float32
    assert float(loss16.detach()) == pytest.approx(float(loss32.detach()), rel=2e-2)
    loss16.backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in model.parameters() if p.grad is not None)


def test_the_scaler_skips_a_step_with_inf_gradients_and_backs_off() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    x = torch.randn(8, 4)
    before = copy.deepcopy(model.state_dict())
    hook = model[0].weight.register_hook(lambda g: torch.full_like(g, float("inf")))  # an overflow
    optimizer_step(model, optimizer, scaler, model(x).pow(2).mean())
    hook.remove()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # skipped, not applied
    assert scaler.get_scale() == 512.0 and skipped_steps(1024.0, scaler.get_scale()) == 1
    optimizer_step(model, optimizer, scaler, model(x).pow(2).mean())  # a clean step goes through
    assert not torch.equal(before["0.weight"], model.state_dict()["0.weight"])
    assert scaler.get_scale() == 512.0 and skipped_steps(512.0, 512.0) == 0
    assert skipped_steps(1024.0, 128.0) == 3


def _saved_bytes_of(forward) -> tuple[int, torch.Tensor]:
    """Bytes the autograd graph keeps for the backward pass of ``forward()`` (a loss), and the loss."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward()
    loss.backward()
    return total, loss.detach()


def _saved_bytes(model: CLIPAAC, batch: PairBatch) -> tuple[int, torch.Tensor, dict[str, torch.Tensor]]:
    """Saved bytes and loss of one step, and the gradients."""
    torch.manual_seed(0)  # the same dropout masks in both runs
    total, loss = _saved_bytes_of(lambda: compute_loss(model, batch, WEIGHTS, CPU, autocast=None)[0])
    return total, loss, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_activation_checkpointing_keeps_gradients_and_statistics_and_saves_memory() -> None:
    batch = _batch(ModelConfig.small(vocab_size=VOCAB), batch=3, seconds=0.5)
    plain, checkpointed = _model(), _model()
    checkpointed.audio.set_activation_checkpointing()
    bytes_plain, loss_plain, grads_plain = _saved_bytes(plain, batch)
    bytes_ckpt, loss_ckpt, grads_ckpt = _saved_bytes(checkpointed, batch)
    assert float(loss_ckpt) == float(loss_plain)
    assert grads_ckpt.keys() == grads_plain.keys()
    for name, grad in grads_plain.items():
        torch.testing.assert_close(grads_ckpt[name], grad, rtol=1e-5, atol=1e-7, msg=name)
    for (name, a), (_, b) in zip(plain.named_buffers(), checkpointed.named_buffers(), strict=True):
        torch.testing.assert_close(b, a, msg=name)  # BatchNorm statistics updated once, as without
    assert bytes_ckpt < bytes_plain, (bytes_ckpt, bytes_plain)
    audio = torch.rand(2, 2 * plain.config.sample_rate) - 0.5  # (B, S), 2 s clips
    bands = plain.audio.spectrogram(audio).detach()  # (B, bands, F, T): the ResNeXt stages' input
    kept = {name: _saved_bytes_of(lambda m=model: m.audio.stages(bands).sum())[0]
            for name, model in (("plain", plain), ("checkpointed", checkpointed))}
    assert kept["checkpointed"] < 0.3 * kept["plain"], kept  # the stem and each stage's input only


@pytest.mark.slow
def test_fp16_run_with_its_scaler_resumes_like_a_straight_run(tiny_clotho: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    base = TrainConfig(init="random", data_root=str(tiny_clotho), train_split="development", test_split="evaluation",
                       model_overrides=TINY_MODEL, num_epochs=2, batch_size=4, warmup_epochs=1.0, beam_size=1,
                       max_caption_len=4, caption_metrics=False, eval_untrained=False, progress=False,
                       precision="fp16", validate_every=0)
    straight = train(base.replace(run_root=str(tmp_path / "a")))
    stopped = train(base.replace(run_root=str(tmp_path / "b")), stop_after_epoch=1)
    state = RunDir(stopped.run_dir).load_checkpoint()
    assert state["scaler"]["scale"] > 0 and "_growth_tracker" in state["scaler"]
    resumed = train(base.replace(run_root=str(tmp_path / "b")))
    one, two = RunDir(straight.run_dir).load_model_state(), RunDir(resumed.run_dir).load_model_state()
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert "skipped_steps" in straight.history[0] and "loss_scale" in straight.history[0]


def test_no_java_stops_before_the_first_step_unless_metrics_are_off(tiny_clotho: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIPAAC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a PATH without java
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("CLIPAAC_JAVA", raising=False)
    config = TrainConfig(init="random", data_root=str(tiny_clotho), train_split="development", test_split="evaluation",
                         model_overrides=TINY_MODEL, num_epochs=1, batch_size=4, run_root=str(tmp_path / "runs"),
                         progress=False, eval_untrained=False, beam_size=1, max_caption_len=4)
    with pytest.raises(JavaNotFoundError, match="caption_metrics=False"):
        train(config)
    assert not (tmp_path / "runs").exists()  # stopped before anything was written
    result = train(config.replace(caption_metrics=False))
    assert result.finished and result.scores.metrics is None and result.captions
