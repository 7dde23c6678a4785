"""One training step of CLIP-AAC: the batch checks, the loss of Eq. 7, the optimiser, the CUDA fast path.

The step is written so that it never makes the host wait for the GPU:

- the batch arrives from the loader on the CPU, its audio as int16 samples (half the bytes of float32
  through the worker queues, pinned memory and the copy to the GPU); :func:`check_batch` checks its values
  there, before the copy; the model is then called with ``check_values=False`` (its own checks read
  values and so would wait for the GPU) and :func:`audio_to_device` turns the samples into float32
  ``x / 32768`` on the GPU, the very values the float path gives;
- under ``torchrun`` the token counts that weight the caption loss are summed over processes as
  tensors (:func:`clipaac_lib.model.training_loss`). The one read left is the embedding gather's
  shard sizes (shards can differ by one clip), once per step.

:func:`fast_path` holds the CUDA speed-ups (channels-last convolutions, cuDNN autotuning, TF32,
optionally ``torch.compile`` of the ResNeXt stages); :func:`make_optimizer` the paper's two-group Adam
(fused). Channels-last weights and fused Adam also pay on a CPU: together they take the small model's
step from 0.26 to 0.18 s on 2 cores (``benchmarks/cpu_small.py``), so the CPU uses them too.

Notebook: ``notebooks/05_train.ipynb``; speed: ``benchmarks/train_step.py``.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from clipaac_lib.common import PAD_ID, is_distributed
from clipaac_lib.data import INT16_SCALE, PairBatch
from clipaac_lib.model import (
    CLIPAAC,
    CLIPAACOutput,
    LossWeights,
    ModelConfig,
    check_audio_values,
    check_has_targets,
    check_token_range,
    training_loss,
)
from clipaac_lib.train.config import PRECISIONS, TrainConfig

__all__ = ["DeviceBatch", "LossWeights", "audio_to_device", "autocast_dtype", "batch_to_device", "check_batch",
           "compute_loss", "fast_path", "make_optimizer", "make_scaler", "optimizer_step", "skipped_steps",
           "unwrap"]


def unwrap(model: torch.nn.Module) -> CLIPAAC:
    """The model inside a DistributedDataParallel wrapper (or the model itself)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def autocast_dtype(device: torch.device, precision: str = "auto",
                   capability: tuple[int, int] | None = None) -> torch.dtype | None:
    """The autocast dtype of the forward pass, or None for float32.

    ``"auto"``: bf16 on CUDA devices of compute capability 8.0 or newer (A100, L4, H100, ...), whose tensor
    cores do bf16; fp16 (with a gradient scaler, :func:`make_scaler`) on older GPUs such as Colab's T4
    (7.5) and the V100 (7.0), which have fp16 tensor cores but no bf16; float32 on CPUs, which run
    half precision many times slower (``benchmarks/README.md``). ``"bf16"``, ``"fp16"`` and ``"fp32"``
    force one. ``capability`` overrides the queried one (for tests).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    forced = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision in forced:
        return forced[precision]
    if device.type != "cuda":
        return None
    major, _ = capability if capability is not None else torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16


def make_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """The gradient scaler of a run: active under fp16 autocast only (fp16 gradients underflow without
    it; bf16 has float32's range). Its state belongs in the checkpoint."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   loss: Tensor, max_grad_norm: float | None = None,
                   deferred_fbsp: list[torch.nn.Module] | tuple[()] = ()) -> None:
    """Back-propagate ``loss`` and update: scale (fp16), unscale, AudioCLIP's fbsp gradient rescaling for
    ``deferred_fbsp`` layers (after DDP's average and after unscaling), optional clipping, step. Under fp16
    a step whose gradients hold inf or NaN is skipped and the scale halves (the scaler's job, not an
    error); :func:`skipped_steps` counts them without reading the GPU every step."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    for layer in deferred_fbsp:
        layer.normalize_grads()
    if max_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    scaler.step(optimizer)
    scaler.update()


def skipped_steps(scale_before: float, scale_after: float) -> int:
    """Steps the scaler skipped between two reads of its scale: each skip halves it (the scale grows
    only after 2000 clean steps, so between reads a few steps apart a drop means skips)."""
    if scale_after >= scale_before or scale_after <= 0:
        return 0
    return round(math.log2(scale_before / scale_after))


def check_batch(batch: PairBatch, model_config: ModelConfig, pad_id: int = PAD_ID) -> bool:
    """Check a training batch's values on the CPU; returns True when it did (False when a tensor is
    already on another device, in which case the model's own checks must run).

    Raises ``ValueError`` naming the problem: float audio louder than 2 or not finite (int16 audio is in
    range by construction), text or caption ids outside their vocabularies, a batch with no caption
    token to learn from.
    """
    text_tokens = _text_tokens(batch)  # (B, 77)
    if any(t.device.type != "cpu" for t in (batch.audio, text_tokens, batch.caption_in, batch.caption_out)):
        return False
    audio = batch.audio  # (B, S)
    if audio.dtype != torch.int16:
        check_audio_values(audio)
    check_token_range(text_tokens, model_config.text.vocab_size, "text token ids",
                      "were caption word ids passed as text_tokens?")
    for key, ids in (("caption_in", batch.caption_in), ("caption_out", batch.caption_out)):
        check_token_range(ids, model_config.vocab_size, f"caption word ids ({key})",
                          "is ModelConfig.vocab_size len(vocabulary)?")
    check_has_targets(batch.caption_out, pad_id)
    return True


def _text_tokens(batch: PairBatch) -> Tensor:
    """``batch.text_tokens`` (B, 77); every training batch has them
    (:func:`~clipaac_lib.train.setup.collate_train` adds them to :func:`~clipaac_lib.data.collate_pairs`')."""
    if batch.text_tokens is None:
        raise ValueError("the batch has no text_tokens: build training batches with "
                         "clipaac_lib.train.setup.collate_train (collate_pairs plus the CLIP BPE ids)")
    return batch.text_tokens


def audio_to_device(audio: Tensor, device: torch.device) -> Tensor:
    """(B, S) int16 samples or float waveforms -> float on ``device``; int16 becomes ``x / 32768``, the
    same float32 values :func:`clipaac_lib.data.cache.from_int16` gives on the CPU."""
    moved = audio.to(device, non_blocking=True)
    if moved.dtype == torch.int16:
        return moved.float().div_(INT16_SCALE)
    return moved


@dataclass(frozen=True)
class DeviceBatch:
    """A training batch on the step's device: ``audio`` (B, S) float, ``audio_lengths`` (B,),
    ``text_tokens`` (B, 77) or None (no text head), ``caption_in``/``caption_out`` (B, M), and the CPU
    ``clip_index`` (B,) that picks rows of a frozen encoder's embedding cache."""

    audio: Tensor | None
    audio_lengths: Tensor | None
    text_tokens: Tensor | None
    caption_in: Tensor
    caption_out: Tensor
    clip_index: Tensor


def batch_to_device(batch: PairBatch, device: torch.device, *, text: bool, audio: bool = True) -> DeviceBatch:
    """Copy what the step uses to ``device`` (without waiting for the copies); int16 audio becomes
    ``x / 32768`` there (:func:`audio_to_device`). ``text=False``: no text tokens (no text head);
    ``audio=False``: no audio (a frozen encoder's cache stands in for it)."""
    return DeviceBatch(
        audio=audio_to_device(batch.audio, device) if audio else None,  # (B, S) float
        audio_lengths=batch.audio_lengths.to(device, non_blocking=True) if audio else None,  # (B,)
        text_tokens=_text_tokens(batch).to(device, non_blocking=True) if text else None,  # (B, 77)
        caption_in=batch.caption_in.to(device, non_blocking=True),  # (B, M)
        caption_out=batch.caption_out.to(device, non_blocking=True),  # (B, M)
        clip_index=batch.clip_index)


def compute_loss(model: torch.nn.Module, batch: PairBatch, weights: LossWeights, device: torch.device,
                 autocast: torch.dtype | bool | None, pad_id: int = PAD_ID, *,
                 audio_cache: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """The forward half of a training step: check the batch, move it, run the model under autocast and
    return Eq. 7's ``(loss, contrastive, caption)`` (:func:`clipaac_lib.model.training_loss`, which holds
    the multi-process gather and token weighting).

    ``batch``: a :class:`~clipaac_lib.data.PairBatch` with ``text_tokens`` (B, 77) (as
    :func:`~clipaac_lib.train.setup.collate_train` builds it): ``audio`` (B, S) int16 or float,
    ``caption_in``/``caption_out`` (B, M), ``audio_lengths`` (B,), ``clip_index`` (B,), on the CPU (as the
    loader gives them) or already on ``device``. ``weights``: the run's loss settings,
    ``LossWeights.from_config(config)``. ``audio_cache`` (N, L): with a frozen encoder, the audio
    embedding of every training clip (:func:`clipaac_lib.train.frozen.audio_embedding_cache`); the step
    then takes ``audio_cache[clip_index]`` instead of running the audio head (single process only).
    Notebook: ``notebooks/05_train.ipynb``.
    """
    checked = check_batch(batch, unwrap(model).config, pad_id)
    if audio_cache is not None and is_distributed():
        raise RuntimeError("the audio embedding cache is for single-process training only")
    inputs = batch_to_device(batch, device, text=unwrap(model).text is not None, audio=audio_cache is None)
    with autocast_context(device, autocast):
        if audio_cache is not None:
            out = _forward_cached(unwrap(model), audio_cache, inputs.clip_index, inputs.text_tokens,
                                  inputs.caption_in, check_values=not checked)  # logits (B, M, V)
        else:
            out = model(inputs.audio, inputs.text_tokens, inputs.caption_in, inputs.audio_lengths,
                        check_values=not checked)  # logits (B, M, V)
    return training_loss(out.logits, inputs.caption_out, out.audio_emb, out.text_emb, out.logit_scale, weights,
                         pad_id=pad_id, check_values=not checked)


def _forward_cached(model: CLIPAAC, audio_cache: Tensor, clip_index: Tensor, text_tokens: Tensor | None,
                    caption_in: Tensor, *, check_values: bool) -> CLIPAACOutput:
    """:meth:`CLIPAAC.forward` of a frozen encoder from cached audio embeddings: A = ``audio_cache`` rows
    ``clip_index`` (B,), the memory from A (:meth:`CLIPAAC.memory_from_embedding`), the frozen text head
    under ``no_grad`` (its embeddings only enter the logged contrastive loss), the decoder.
    Notebook: ``notebooks/06_ablations.ipynb``."""
    audio_emb = audio_cache[clip_index.to(audio_cache.device, non_blocking=True)]  # (B, L)
    encoding = model.memory_from_embedding(audio_emb)  # memory (B, 1, d)
    with torch.no_grad():
        text_emb = (model.encode_text(text_tokens, check_values=check_values)
                    if text_tokens is not None else None)  # (B, L)
    logits = model.decode(encoding.memory, caption_in, encoding.memory_mask,
                          check_values=check_values)  # (B, M, V)
    return CLIPAACOutput(logits, audio_emb, text_emb, model.logit_scale.detach())


def autocast_context(device: torch.device, autocast: torch.dtype | bool | None
                     ) -> contextlib.AbstractContextManager[Any]:
    """``torch.autocast`` to ``autocast`` (a dtype; True means bf16), or a no-op for None/False."""
    if autocast is None or autocast is False:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if autocast is True else autocast)


def make_optimizer(model: torch.nn.Module, config: TrainConfig, fused: bool | None = None) -> torch.optim.Adam:
    """Adam with the paper's two parameter groups: ``encoder`` (``encoder_lr``) and ``new`` (``lr``).

    Frozen parameters (``requires_grad=False``) are left out. ``fused=None`` picks the fused kernel
    when every parameter is on CUDA or on the CPU (both have one), else the multi-tensor (``foreach``)
    one; True/False force it.
    """
    encoder = [p for p in model.encoder_parameters() if p.requires_grad]
    new = [p for p in model.new_parameters() if p.requires_grad]
    seen = {id(p) for p in encoder} | {id(p) for p in new}
    missing = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if missing:
        raise RuntimeError(f"parameters in neither optimiser group: {missing[:5]}... (model bug)")
    groups = [{"params": encoder, "lr": config.effective_encoder_lr(), "name": "encoder"},
              {"params": new, "lr": config.lr, "name": "new"}]
    groups = [g for g in groups if g["params"]]
    for group in groups:
        group["base_lr"] = group["lr"]
    if fused is None:
        fused = all(p.device.type in ("cuda", "cpu") for g in groups for p in g["params"])
    if fused:
        return torch.optim.Adam(groups, weight_decay=config.weight_decay, fused=True)
    return torch.optim.Adam(groups, weight_decay=config.weight_decay, foreach=True)


def fast_path(model: CLIPAAC, device: torch.device, compile: bool = False, *, channels_last: bool | None = None,
              autotune: bool = True, compile_backend: str = "inductor") -> CLIPAAC:
    """Speed-ups that keep the numbers (up to bf16 rounding); returns the model.

    Channels-last convolution weights (``channels_last=None``: on CUDA and on the CPU, where oneDNN
    runs them faster). On CUDA also TF32 matmuls and convolutions and, with ``autotune``, cuDNN
    autotuning. Autotuning benchmarks every new input shape, so it pays
    only when shapes repeat: training turns it on with ``fixed_length`` and leaves cuDNN's heuristics
    otherwise (every batch of variable-length clips has its own length). ``channels_last=True`` forces
    that layout on any device, False keeps it off. ``compile=True`` wraps each ResNeXt stage of the audio
    head in ``torch.compile`` (``compile_backend``; the tests use ``aot_eager`` to check the stages trace
    without a compiler toolchain), on any device.
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = autotune
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if channels_last if channels_last is not None else device.type in ("cuda", "cpu"):
        model = model.to(memory_format=torch.channels_last)
    if compile:
        audio = getattr(model, "audio", None)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            stage = getattr(audio, name, None)
            if stage is not None:
                setattr(audio, name, torch.compile(stage, dynamic=False, backend=compile_backend))
    return model
