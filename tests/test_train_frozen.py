"""Training with a frozen encoder (paper Table 1, system 3): the audio embedding of each training clip is
computed once and reused (``clipaac_lib/train/frozen.py``). The cached step gives the plain step's losses
and weights on clips of one length, never runs the audio head during an epoch, and leaves the encoder as
it was. Notebook: ``notebooks/06_ablations.ipynb``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.testing import assert_close

from clipaac_lib.model import CLIPAAC
from clipaac_lib.train import RunDir, TrainConfig, load_run_model, train
from clipaac_lib.train import frozen as frozen_module
from clipaac_lib.train import trainer as loop_module
from clipaac_lib.train.setup import build_model_config, model_sample_rate, open_split, untrained_model
from tests.conftest import TINY_MODEL

pytestmark = pytest.mark.usefixtures("one_thread_private_cache")

ENCODER_PREFIXES = ("audio.", "text.", "logit_scale_at")
TRAINED_PREFIXES = ("decoder.", "memory_proj.", "memory_norm.")


def tiny_config(data: Path, run_root: Path, **changes: Any) -> TrainConfig:
    """Two short epochs on 4 training clips (20 pairs, 5 steps an epoch), a cheap evaluation."""
    base = dict(init="random", data_root=str(data), run_root=str(run_root), train_split="development", test_split="evaluation",
                model_overrides=TINY_MODEL, num_epochs=2, batch_size=4, warmup_epochs=1.0, limit_train_clips=4,
                limit_test_clips=2, beam_size=1, max_caption_len=4, eval_batch_size=4, caption_metrics=False,
                eval_untrained=False, validate_every=0, progress=False, freeze_encoder=True)
    base.update(changes)
    return TrainConfig(**base)


class Recorder:
    """Wraps the loop's ``compute_loss`` and ``train_epochs`` and hooks the audio head's ``fc``: per-step
    losses, whether a cache was passed, and the audio head's calls inside epochs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.losses: list[torch.Tensor] = []  # (3,) per step: loss, contrastive, caption
        self.cache_passed: list[bool] = []
        self.audio_calls_in_epoch = 0
        self.audio_calls_outside = 0
        self._in_epoch = False
        compute_loss, train_epoch = loop_module.compute_loss, loop_module.train_epochs

        def recording_loss(model: Any, *args: Any, **kwargs: Any) -> Any:
            loss, l_cl, l_ce = compute_loss(model, *args, **kwargs)
            self.losses.append(torch.stack([loss.detach(), l_cl, l_ce]).double())
            self.cache_passed.append(kwargs.get("audio_cache") is not None)
            return loss, l_cl, l_ce

        def recording_epoch(run: Any, *args: Any, **kwargs: Any) -> Any:
            handle = run.model.audio.fc.register_forward_hook(self._count)
            self._in_epoch = True
            try:
                return train_epoch(run, *args, **kwargs)
            finally:
                self._in_epoch = False
                handle.remove()

        monkeypatch.setattr(loop_module, "compute_loss", recording_loss)
        monkeypatch.setattr(loop_module, "train_epochs", recording_epoch)

    def _count(self, *_: Any) -> None:
        if self._in_epoch:
            self.audio_calls_in_epoch += 1
        else:
            self.audio_calls_outside += 1


def _run(config: TrainConfig, monkeypatch: pytest.MonkeyPatch, *, cache: bool) -> tuple[Recorder, Any]:
    with monkeypatch.context() as mp:
        mp.setattr(frozen_module, "_ENABLED", cache)
        recorder = Recorder(mp)
        result = train(config)
    return recorder, result


def _weights(run_dir: Path, prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    state = RunDir(run_dir).load_model_state()
    return {k: v for k, v in state.items() if k.startswith(prefixes)}


def test_the_cache_gives_the_plain_steps_losses_and_weights(tiny_clotho: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    config = tiny_config(tiny_clotho, tmp_path / "cached")
    clips = open_split(config.resolved(), "development", model_sample_rate(config), 4)
    lengths = {int(clips[i]["audio"].shape[0]) for i in range(len(clips))}
    assert len(lengths) == 1, f"the tiny clips must share one length (no padding), got {lengths}"
    with caplog.at_level(logging.INFO, logger=frozen_module.__name__):
        cached, cached_run = _run(config, monkeypatch, cache=True)
    assert "4 training clips" in caplog.text
    plain, plain_run = _run(config.replace(run_root=str(tmp_path / "plain")), monkeypatch, cache=False)
    assert len(cached.losses) == len(plain.losses) == 10
    assert all(cached.cache_passed) and not any(plain.cache_passed)
    assert_close(torch.stack(cached.losses), torch.stack(plain.losses), rtol=1e-5, atol=1e-6)
    # the contrastive loss is logged as before (frozen heads: it does not train, but it is not zero)
    assert all(float(row[1]) > 0 for row in cached.losses)
    for key in ("train_loss", "train_contrastive", "train_caption"):
        assert_close(torch.tensor([r[key] for r in cached_run.history]),
                     torch.tensor([r[key] for r in plain_run.history]), rtol=1e-5, atol=1e-6)
    ours, theirs = _weights(cached_run.run_dir, TRAINED_PREFIXES), _weights(plain_run.run_dir, TRAINED_PREFIXES)
    assert set(ours) == set(theirs) and len(ours) > 4
    for key in ours:
        assert_close(ours[key], theirs[key], rtol=1e-5, atol=1e-6, msg=lambda m, k=key: f"{k}: {m}")
    # the decoder did train (the comparison is not between two untouched models)
    start = untrained_model(cached_run.config, len(load_run_model(cached_run.run_dir, "cpu")[1]), torch.device("cpu"))
    assert not torch.equal(start.state_dict()["memory_proj.weight"], ours["memory_proj.weight"])


def test_the_audio_head_runs_in_epochs_only_without_the_cache(tiny_clotho: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_clotho, tmp_path / "frozen", num_epochs=1)
    cached, _ = _run(config, monkeypatch, cache=True)
    assert cached.audio_calls_in_epoch == 0 and len(cached.losses) == 5
    trainable, _ = _run(config.replace(freeze_encoder=False, run_root=str(tmp_path / "trainable")), monkeypatch,
                        cache=True)
    assert not any(trainable.cache_passed)
    assert trainable.audio_calls_in_epoch == len(trainable.losses) == 5
    frames, _ = _run(config.replace(audio_memory="frames", run_root=str(tmp_path / "frames")), monkeypatch,
                     cache=True)
    assert not any(frames.cache_passed) and frames.audio_calls_in_epoch == 5


def test_the_frozen_encoder_is_unchanged_by_training(tiny_clotho: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(tiny_clotho, tmp_path, num_epochs=1)
    recorder, result = _run(config, monkeypatch, cache=True)
    assert all(recorder.cache_passed)
    vocab = load_run_model(result.run_dir, "cpu")[1]
    start = {k: v for k, v in untrained_model(result.config, len(vocab), torch.device("cpu")).state_dict().items()
             if k.startswith(ENCODER_PREFIXES)}
    after = _weights(result.run_dir, ENCODER_PREFIXES)
    assert set(start) == set(after) and any(k.endswith("running_mean") for k in after)
    for key, value in start.items():
        assert torch.equal(value, after[key].to(value.dtype)), f"{key} changed"


def _tiny_model(**changes: Any) -> CLIPAAC:
    torch.manual_seed(0)
    model = CLIPAAC(build_model_config(TrainConfig(model_overrides=TINY_MODEL, **changes), vocab_size=20))
    model.freeze_encoder()
    return model


def test_the_cache_holds_each_clips_unpadded_embedding() -> None:
    """Clips of different lengths: row i is clip i encoded alone, as evaluation encodes it (a padded
    batch would give other numbers)."""
    model = _tiny_model()
    rate = model.config.sample_rate
    generator = torch.Generator().manual_seed(0)
    seconds = [1.0, 0.6, 1.0, 0.8, 0.6]
    clips = [{"audio": (torch.rand(round(s * rate), generator=generator) - 0.5) * 0.5, "captions": ["a sound"],
              "file_name": f"{i}.wav"} for i, s in enumerate(seconds)]
    cache = frozen_module.audio_embedding_cache(model, clips, "cpu", batch_size=4)
    assert cache.shape == (len(clips), model.config.embed_dim) and cache.dtype == torch.float32
    model.eval()
    with torch.no_grad():
        alone = torch.cat([model.encode_audio(clip["audio"][None]).audio_emb for clip in clips])  # (N, L)
        padded = torch.nn.utils.rnn.pad_sequence([c["audio"] for c in clips], batch_first=True)  # (N, S)
        batch = model.encode_audio(padded).audio_emb  # (N, L)
    assert_close(cache, alone, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(cache[1], batch[1], rtol=1e-3, atol=1e-4)  # the padded embedding differs


def test_the_memory_comes_from_the_embedding_in_one_place() -> None:
    model = _tiny_model().eval()
    audio = (torch.rand(2, model.config.sample_rate) - 0.5) * 0.5  # (2, S)
    with torch.no_grad():
        encoding = model.encode_audio(audio)
        again = model.memory_from_embedding(encoding.audio_emb)
    assert encoding.memory.shape == (2, 1, model.config.decoder.d_model)
    assert torch.equal(encoding.memory, again.memory) and again.memory_mask is None
    with pytest.raises(ValueError, match="audio_memory='embedding'"):
        _tiny_model(audio_memory="frames").memory_from_embedding(encoding.audio_emb)


def test_the_cache_is_off_where_it_does_not_apply() -> None:
    frozen = _tiny_model()
    assert frozen_module.uses_audio_cache(frozen)
    assert not frozen_module.uses_audio_cache(frozen, frozen_module.D.DistInfo(rank=0, world_size=2))
    assert not frozen_module.uses_audio_cache(_tiny_model(audio_memory="frames"))
    torch.manual_seed(0)
    assert not frozen_module.uses_audio_cache(CLIPAAC(frozen.config))  # encoder not frozen
    frozen.logit_scale_at.requires_grad_(True)  # something in the encoder trains again
    assert not frozen_module.uses_audio_cache(frozen)
