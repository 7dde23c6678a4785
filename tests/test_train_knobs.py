"""The paper's open choices as knobs (book/paper_to_code.md): each one does what it says.

epoch_captions, caption_loss, lr_after_warmup, temperature_init, select_checkpoint, and alpha = 0
training the audio head and decoder only (paper Table 1, systems 1-2).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from clipaac_lib.data import CaptionPairs, ClothoDataset, NoSameClipBatchSampler, make_synthetic_clotho
from clipaac_lib.model import load_model_state
from clipaac_lib.model.losses import caption_loss, contrastive_loss
from clipaac_lib.train import ConfigError, TrainConfig, train
from clipaac_lib.train.rundir import RunDir
from clipaac_lib.train.setup import build_model, load_data
from clipaac_lib.train.trainer import lr_factor
from tests.conftest import TINY_MODEL

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("one_thread_private_cache")


@pytest.fixture(scope="module")
def data_with_validation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data_val")
    make_synthetic_clotho(root, sizes={"development": 6, "validation": 3, "evaluation": 3}, clip_seconds=1.5,
                          max_events=1, progress=False)
    return root


def _config(data: Path, run_root: Path, **changes) -> TrainConfig:
    base = dict(init="random", data_root=str(data), run_root=str(run_root), train_split="development", test_split="evaluation",
                model_overrides=TINY_MODEL, num_epochs=2, batch_size=3, warmup_epochs=1.0, beam_size=1,
                max_caption_len=5, eval_batch_size=4, caption_metrics=False, eval_untrained=False, progress=False)
    return TrainConfig(**{**base, **changes})


def test_epoch_captions(data_with_validation: Path) -> None:
    """'one': every clip once per epoch with one of its captions, a new draw each epoch; 'all': every pair."""
    pairs = CaptionPairs(ClothoDataset(data_with_validation, "development", sample_rate=16000, progress=False))
    one = NoSameClipBatchSampler(pairs, 3, seed=0, captions_per_clip=1)
    drawn = []
    for epoch in range(4):
        one.set_epoch(epoch)
        flat = [i for batch in one for i in batch]
        assert sorted(pairs.clip_indices[i] for i in flat) == list(range(6))  # each clip exactly once
        drawn.append(flat)
    assert len({tuple(sorted(d)) for d in drawn}) > 1  # other captions in other epochs
    every = NoSameClipBatchSampler(pairs, 3, seed=0)
    assert sorted(i for batch in every for i in batch) == list(range(len(pairs)))  # 5 pairs per clip
    steps = {k: len(load_data(_config(data_with_validation, Path("unused"), epoch_captions=k), None).loader)
             for k in ("one", "all")}
    assert steps == {"one": 2, "all": 10}  # 6 clips / 3; 30 pairs / 3


def test_caption_loss() -> None:
    """Eq. (6) by hand: label-smoothed cross-entropy per token; 'caption_sum' sums each caption's tokens."""
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6)  # (B, M, V)
    targets = torch.tensor([[4, 5, 2, 0], [3, 2, 0, 0]])  # 3 and 2 real tokens, then padding
    eps, vocab = 0.1, 6
    log_p = F.log_softmax(logits, dim=-1)
    per_token = [-(1 - eps) * log_p[b, m, targets[b, m]] - eps / vocab * log_p[b, m].sum()
                 for b in range(2) for m in range(4) if targets[b, m] != 0]
    mean = torch.stack(per_token).mean()
    torch.testing.assert_close(caption_loss(logits, targets, label_smoothing=eps), mean)
    per_caption = torch.stack(per_token).sum() / 2
    torch.testing.assert_close(caption_loss(logits, targets, label_smoothing=eps, reduction="caption_sum"),
                               per_caption)
    with pytest.raises(ValueError, match="reduction"):
        caption_loss(logits, targets, reduction="sum")


def test_lr_after_warmup() -> None:
    """1 warm-up epoch of 4, 10 steps each: linear to 1 by step 9, then constant, or a cosine to 0."""
    config = TrainConfig(num_epochs=4, warmup_epochs=1.0)
    assert [lr_factor(s, 10, config) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert lr_factor(39, 10, config) == 1.0
    cosine = config.replace(lr_after_warmup="cosine")
    assert lr_factor(4, 10, cosine) == pytest.approx(0.5)  # the warm-up is unchanged
    assert lr_factor(10, 10, cosine) == pytest.approx(1.0)
    assert lr_factor(25, 10, cosine) == pytest.approx(0.5)  # halfway through the 30 steps after warm-up
    assert lr_factor(39, 10, cosine) == pytest.approx(0.5 * (1 + math.cos(math.pi * 29 / 30)))
    with pytest.raises(ConfigError, match="lr_after_warmup"):
        TrainConfig(lr_after_warmup="step").validate()


def test_temperature_init() -> None:
    """The model starts at 1/t = 1/temperature_init, where the temperature can learn; at the clamp
    (1/t = 100, AudioCLIP's value) its gradient is exactly 0."""
    grads = {}
    for t in (0.07, 0.01):
        torch.manual_seed(0)
        model = build_model(TrainConfig(init="random", temperature_init=t, model_overrides=TINY_MODEL), 12, CPU).model
        assert float(model.logit_scale.detach()) == pytest.approx(1 / t, rel=1e-5)
        audio_emb, text_emb = torch.randn(4, 32), torch.randn(4, 32)
        contrastive_loss(audio_emb, text_emb, model.logit_scale).backward()
        grads[t] = float(model.logit_scale_at.grad)
    assert grads[0.07] != 0.0 and grads[0.01] == 0.0
    with pytest.raises(ConfigError, match="temperature_init"):
        TrainConfig(temperature_init=2.0).validate()


def test_select_checkpoint(data_with_validation: Path, tmp_path: Path) -> None:
    """'best' keeps the epoch with the lowest validation caption loss; it refuses to select on training data."""
    with pytest.raises(ConfigError, match="train_split"):
        TrainConfig(select_checkpoint="best", train_split="train").validate()
    config = _config(data_with_validation, tmp_path / "runs", select_checkpoint="best", num_epochs=3, lr=3e-2)
    result = train(config)
    losses = [row["val_caption_nll"] for row in result.history]
    best = min(range(3), key=lambda i: losses[i]) + 1
    kept = RunDir(result.run_dir).load_model_state()
    best_weights = load_model_state(RunDir(result.run_dir).best_dir)
    assert all(torch.equal(kept[k], best_weights[k]) for k in kept)
    last = RunDir(result.run_dir).load_checkpoint()["model"]  # the last epoch's weights
    differs = any(not torch.equal(kept[k], last[k]) for k in kept if kept[k].is_floating_point())
    assert differs == (best != 3), (losses, best)


def test_alpha_zero_trains_the_audio_head_and_decoder_only(data_with_validation: Path, tmp_path: Path) -> None:
    result = train(_config(data_with_validation, tmp_path / "runs", alpha=0.0, num_epochs=1))
    state = RunDir(result.run_dir).load_model_state()
    assert state and not any(k.startswith("text.") for k in state)
    assert result.history[0]["train_contrastive"] == 0.0
    assert result.scores.retrieval is None and "test_a2t_r1" not in result.history[0]
    model, _ = result.load_model()
    assert model.text is None
