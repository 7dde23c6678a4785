"""How much GPU memory one training step takes, estimated without a GPU; and settings that fit.

:func:`estimate_peak_memory` predicts the peak bytes the CUDA caching allocator hands out during a
steady-state training step of a :class:`~clipaac_lib.train.config.TrainConfig`
(``torch.cuda.max_memory_allocated`` of step 2 onwards), for the worst-case batch the configuration
allows: ``batch_size`` clips of ``max_seconds`` at the model's sample rate (Clotho's clips last 15-30 s
and a batch is padded to its longest clip), captions of ``max_words + 1`` tokens, CLIP text of 77
tokens. Under ``torchrun`` each process holds ``batch_size / world_size`` clips: estimate with that
batch size.

How it counts. The model is built on PyTorch's ``meta`` device (shapes, no memory, no arithmetic) and one
forward pass of :func:`~clipaac_lib.train.step.compute_loss` runs under
``torch.autograd.graph.saved_tensors_hooks``, which sees every tensor the autograd graph keeps for the
backward pass. Tensors are counted once per storage (a ReLU output saved by the ReLU and by the next
convolution, the slices of one matmul output, the frames viewed out of one padded waveform).
``meta`` has no autocast, so a half-precision run is emulated by a bf16/fp16 copy of the model: its
convolutions and matmuls save half-precision inputs, as under autocast; the fbsp spectrogram front end
computes in float32 whatever the weights' dtype (:meth:`~clipaac_lib.model.ESResNeXtFBSP.spectrogram`), and
:func:`~clipaac_lib.train.step.compute_loss` upcasts the logits and embeddings, so the front end and the
losses stay float32 here as on the GPU. Under autocast a weight saved for the backward pass is a
half-precision *copy* (autocast's cast cache), which is new memory; in float32 it is the parameter itself,
which is not. Each saved tensor is tagged with the part of the model that saved it first: the front end
and stem (``pre``), ResNeXt stage ``k`` (``layerk`` with its attention ``attk``), or everything after the
stages (``post``: pooling, ``att5``, ``fc``, text head, decoder, losses).

The model of the peak (steady state: the backward pass of step 2 onwards; all sizes in bytes):

- always alive: the weights and buffers ``W`` (float32: autocast keeps float32 master weights) and Adam's
  two states ``2 P`` (``P``: float32 bytes of the trainable parameters; they exist from the first
  ``optimizer.step`` on, so the first step's backward pass, without them, is not the peak);
- at the start of the backward pass: every saved activation, ``S_pre + sum_k K_k + S_post``, and no
  gradient yet (:func:`~clipaac_lib.train.step.optimizer_step` sets them to None before the backward pass);
  ``K_k`` is stage ``k``'s saved bytes ``S_k``, or with ``checkpoint_audio`` only its input ``I_k``;
- while the backward pass is inside stage ``k``: the parameter gradients of ``post`` and of stages
  ``>= k`` have appeared (``G_post + sum_{j>=k} G_j``) while the activations saved after stage ``k`` are
  freed, so alive are ``S_pre + sum_{j<k} K_j + S_k + X_k`` plus those gradients; ``S_k`` is the stage's
  saved activations (kept, or with ``checkpoint_audio`` recomputed, one stage at a time) and
  ``X_k = 2 x`` its largest saved float tensor: the gradient of a block's output, held for the
  residual shortcut, and the gradient being computed;
- in the front end, last: ``S_pre + X_pre`` and every gradient.

The estimate is ``W + 2 P`` plus the largest of these. Nothing else is added: no CUDA context (it is not
allocated memory, and the free memory a run sees already excludes it), no cuDNN/cuBLAS workspace and no
allocator fragmentation (both vary with the kernels chosen); :func:`fits` leaves ``headroom`` for them.
``torch.compile`` (which can fuse away some saved tensors) is not modelled; the estimate is then an
upper bound. Two emulation details are off by a few tens of MiB at the paper's sizes: ``meta``'s attention
saves float32 attention weights where CUDA's fused kernels save none, and autocast keeps the text
head's residual stream in float32 where the half-precision copy keeps it in half precision.

Against one training step of the paper's configuration measured on an H100 with AudioCLIP's code
(issue 14; 30 s clips at 44.1 kHz), the estimate is 7-12 % low: 19.1 GiB for 20.5 (batch 8, float32),
11.0 for 12.1 (batch 8, bf16), 20.2 for 21.9 (batch 16, bf16), 13.6 for 14.9 and 8.1 for 9.1 (10 s
clips, batch 16, float32 and bf16), with the ratios between them within 3 %. The measurements include
the workspaces and allocator overhead left out here (and AudioCLIP's front end, not ours), which is
what the default ``headroom`` of :func:`fits` (10 %) is for. The model of the peak was also checked
against a real step 2 of our code on a CPU, tracked by PyTorch's ``MemTracker`` (CPU kernels, so not the
GPU's numbers): the paper's model with 2 clips of 10 s in float32 peaked at 3.3 GiB (estimate 3.2), 2.5
with ``checkpoint_audio`` (estimate 2.5); the small model with 8 clips of 30 s at 801 MiB (estimate 765).

:func:`fitting_settings` finds the least invasive change that fits a memory budget: half precision, then
activation checkpointing of the audio head, then shorter clips. **Shorter clips cut the training audio**:
``max_seconds`` below a clip's length drops the rest of that clip (Clotho's clips last 15-30 s), so the
model is trained on part of what the captions describe; it is the last resort.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from clipaac_lib.data import PairBatch
from clipaac_lib.model import CLIPAAC, CONTEXT_LENGTH, EOT_ID, SOT_ID
from clipaac_lib.train.config import TrainConfig
from clipaac_lib.train.setup import build_model, model_sample_rate
from clipaac_lib.train.step import LossWeights, autocast_dtype, compute_loss

__all__ = ["ActivationProfile", "Card", "CARDS", "activation_profile", "estimate_peak_memory", "fits", "fitting_settings", "recipe_per_card",
           "describe_bytes", "MIN_SECONDS"]

#: :func:`fitting_settings` never shortens clips below this (seconds).
MIN_SECONDS = 5.0
_META = torch.device("meta")
_NUM_STAGES = 4
_PRE, _POST = "pre", "post"


@dataclass(frozen=True)
class ActivationProfile:
    """What one forward pass keeps for the backward pass, and the model's fixed bytes.

    ``saved``: saved-activation bytes per part (``"pre"``, stage 1..4, ``"post"``); ``largest``: the
    largest saved float tensor per part; ``stage_inputs``: bytes of each stage's input (what
    checkpointing keeps); ``weights``: parameter and buffer bytes; ``grads``: float32 gradient bytes of
    the trainable parameters per part. Notebook: ``notebooks/05_train.ipynb``.
    """

    saved: dict[str | int, int]
    largest: dict[str | int, int]
    stage_inputs: dict[int, int]
    weights: int
    grads: dict[str | int, int]

    @property
    def trainable(self) -> int:
        """Float32 bytes of the trainable parameters (each Adam state is this big)."""
        return sum(self.grads.values())


def _parts() -> list[str | int]:
    return [_PRE, *range(1, _NUM_STAGES + 1), _POST]


def _part_of(name: str) -> str | int:
    """The part of the model a parameter (dotted name) belongs to."""
    if name.startswith(("audio.fbsp.", "audio.conv1.", "audio.bn1.")):
        return _PRE
    for k in range(1, _NUM_STAGES + 1):
        if name.startswith((f"audio.layer{k}.", f"audio.att{k}.")):
            return k
    return _POST


def _storage_key(t: Tensor) -> int:
    """Identity of a tensor's storage (the address of its StorageImpl; views share it). The counted
    tensors are all kept alive while counting, so no address is reused."""
    return t.untyped_storage()._cdata


def _meta_batch(model: CLIPAAC, batch_size: int, samples: int, caption_len: int) -> PairBatch:
    """A loader-shaped CPU batch of valid ids (its values do not matter on ``meta``, its shapes do)."""
    config = model.config
    text = torch.zeros(batch_size, CONTEXT_LENGTH, dtype=torch.long)
    text[:, 0], text[:, -1] = SOT_ID, EOT_ID  # a full-length caption
    words = torch.full((batch_size, caption_len), config.unk_id, dtype=torch.long)
    return PairBatch(audio=torch.zeros(batch_size, samples, dtype=torch.int16),  # (B, S)
                     audio_lengths=torch.full((batch_size,), samples, dtype=torch.long),  # (B,)
                     caption_in=words, caption_out=words.clone(),  # (B, M) each
                     captions=[""] * batch_size, clip_index=torch.arange(batch_size),  # (B,)
                     file_names=[""] * batch_size, text_tokens=text)  # text (B, 77)


_PROFILE_FIELDS = ("model_config", "model_overrides", "audio_memory", "freeze_encoder", "alpha", "batch_size",
                   "max_seconds", "max_words", "dropout", "lam", "label_smoothing", "caption_loss",
                   "temperature_init")
_DTYPES: dict[str, torch.dtype | None] = {"float32": None, "bfloat16": torch.bfloat16}


def activation_profile(config: TrainConfig, dtype: torch.dtype | None, vocab_size: int = 5000
                       ) -> ActivationProfile:
    """Run one forward pass of ``config``'s worst-case batch on ``meta`` and count what it saves, with
    ``dtype`` the autocast dtype to emulate (None: float32). Cached on the fields that matter (model,
    batch shape, losses). Notebook: ``notebooks/05_train.ipynb``."""
    resolved = config.resolved()
    fields = {name: getattr(resolved, name) for name in _PROFILE_FIELDS}
    # bf16 and fp16 are both 2 bytes: one emulation (in bf16) serves both
    dtype_name = "float32" if dtype is None else "bfloat16"
    return _cached_profile(json.dumps(fields, sort_keys=True), dtype_name, vocab_size)


@functools.lru_cache(maxsize=32)
def _cached_profile(fields_json: str, dtype_name: str, vocab_size: int) -> ActivationProfile:
    return _measure(TrainConfig(**json.loads(fields_json)), _DTYPES[dtype_name], vocab_size)


def _measure(config: TrainConfig, dtype: torch.dtype | None, vocab_size: int) -> ActivationProfile:
    with torch.device(_META):
        model = build_model(config, vocab_size, _META, init=False).model
    model.train()
    named = dict(model.named_parameters())
    weights = sum(p.nbytes for p in named.values()) + sum(b.nbytes for b in model.buffers())
    grads = dict.fromkeys(_parts(), 0)
    for name, param in named.items():
        if param.requires_grad:
            grads[_part_of(name)] += param.numel() * 4  # float32 gradients (float32 master weights)
    if dtype is not None:  # autocast's half-precision compute, emulated (meta has no autocast)
        model = model.to(dtype)
    param_storages = {_storage_key(p) for p in model.parameters()}

    part: list[str | int] = [_PRE]  # what is running now (the front end and stem come first)
    saved = dict.fromkeys(_parts(), 0)
    largest = dict.fromkeys(_parts(), 0)
    stage_inputs: dict[int, int] = {}
    seen: set[int] = set()

    def pack(t: Tensor) -> Tensor:
        key = _storage_key(t)
        if key in seen:
            return t
        seen.add(key)
        if key in param_storages and dtype is None:
            return t  # float32: the parameter itself, no new memory
        nbytes = t.untyped_storage().nbytes()  # (half precision: autocast's cast copy of a weight)
        saved[part[0]] += nbytes
        if t.is_floating_point():
            largest[part[0]] = max(largest[part[0]], nbytes)
        return t

    def enter(name: str | int) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            part[0] = name
            if isinstance(name, int) and name not in stage_inputs:
                stage_inputs[name] = args[0].untyped_storage().nbytes()
        return hook

    audio = model.audio
    handles = [getattr(audio, f"layer{k}").register_forward_pre_hook(enter(k)) for k in range(1, 5)]
    after = audio.att5 if audio.config.attention else audio.fc
    handles.append(after.register_forward_pre_hook(enter(_POST)))
    samples = round(config.max_seconds * model_sample_rate(config))
    batch = _meta_batch(model, config.batch_size, samples, config.max_words + 1)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = compute_loss(model, batch, LossWeights.from_config(config), _META, autocast=False)[0]
    finally:
        for handle in handles:
            handle.remove()
    del loss
    if sorted(stage_inputs) != list(range(1, _NUM_STAGES + 1)):
        raise RuntimeError(f"the memory estimate saw stages {sorted(stage_inputs)} of the audio head, "
                           "not 1-4 (has ESResNeXtFBSP.stages changed?)")
    return ActivationProfile(saved, largest, stage_inputs, weights, grads)


def _resolve_dtype(config: TrainConfig, capability: tuple[int, int]) -> torch.dtype | None:
    return autocast_dtype(torch.device("cuda"), config.precision, capability)


def estimate_peak_memory(config: TrainConfig, *, capability: tuple[int, int] = (8, 0),
                         vocab_size: int = 5000) -> int:
    """Estimated peak bytes of one (steady-state) training step of ``config`` on a CUDA GPU of compute
    ``capability`` (which decides what ``precision="auto"`` means), with a caption vocabulary of
    ``vocab_size`` words. The model of the peak is in this module's docstring; it takes a second or two
    for the paper's model (cached per shape). Notebook: ``notebooks/05_train.ipynb``."""
    dtype = _resolve_dtype(config, capability)
    profile = activation_profile(config, dtype, vocab_size)
    s, g = profile.saved, profile.grads
    stages = range(1, _NUM_STAGES + 1)
    kept = {k: (min(profile.stage_inputs[k], s[k]) if config.checkpoint_audio else s[k]) for k in stages}
    candidates = [s[_PRE] + sum(kept.values()) + s[_POST]]  # the backward pass starts
    for k in stages:  # the backward pass inside stage k
        candidates.append(s[_PRE] + sum(kept[j] for j in stages if j < k) + s[k] + 2 * profile.largest[k]
                          + g[_POST] + sum(g[j] for j in stages if j >= k))
    candidates.append(s[_PRE] + 2 * profile.largest[_PRE] + profile.trainable)  # the front end, last
    return profile.weights + 2 * profile.trainable + max(candidates)


def fits(config: TrainConfig, free_bytes: int, *, capability: tuple[int, int] = (8, 0),
         headroom: float = 0.9, vocab_size: int = 5000) -> bool:
    """Whether ``config``'s estimated peak is at most ``headroom`` of ``free_bytes`` (the rest is for
    cuDNN workspaces and allocator fragmentation, which the estimate leaves out).
    Notebook: ``notebooks/05_train.ipynb``."""
    return estimate_peak_memory(config, capability=capability, vocab_size=vocab_size) <= headroom * free_bytes


def _shorter(seconds: float) -> float | None:
    """The next clip length to try: half, not below :data:`MIN_SECONDS`; None when there is none."""
    if seconds <= MIN_SECONDS:
        return None
    return max(seconds / 2, MIN_SECONDS)


def fitting_settings(config: TrainConfig, free_bytes: int, *, capability: tuple[int, int] = (8, 0),
                     headroom: float = 0.9, vocab_size: int = 5000) -> TrainConfig | None:
    """The least invasive change of ``config`` that :func:`fits` in ``free_bytes``, or None.

    Tried in order, each on top of the previous: nothing (``config`` itself is returned when it fits);
    half precision when the run is float32 (``bf16`` at compute capability 8.0 or newer, else ``fp16``
    with its gradient scaler); ``checkpoint_audio=True`` (same gradients, about a third more compute in
    the audio head); then ``max_seconds`` halved, step by step, down to :data:`MIN_SECONDS`. **Shorter
    clips cut the training audio** (the rest of each longer clip is dropped), which changes what the
    model learns from; the batch size, which sets the contrastive negatives, is never changed.
    Notebook: ``notebooks/05_train.ipynb``.
    """
    def ok(cfg: TrainConfig) -> bool:
        return fits(cfg, free_bytes, capability=capability, headroom=headroom, vocab_size=vocab_size)

    if ok(config):
        return config
    cfg = config
    if _resolve_dtype(cfg, capability) is None:
        cfg = cfg.replace(precision="bf16" if tuple(capability) >= (8, 0) else "fp16")
        if ok(cfg):
            return cfg
    if not cfg.checkpoint_audio:
        cfg = cfg.replace(checkpoint_audio=True)
        if ok(cfg):
            return cfg
    seconds = _shorter(cfg.max_seconds)
    while seconds is not None:
        cfg = cfg.replace(max_seconds=seconds)
        if ok(cfg):
            return cfg
        seconds = _shorter(seconds)
    return None


def describe_bytes(n: int) -> str:
    """Bytes for people, in binary units with one decimal: ``"20.5 GiB"``, ``"310.0 MiB"``, ``"12 B"``.
    Notebook: ``notebooks/05_train.ipynb``."""
    if n < 1024:
        return f"{int(n)} B"
    exponent = min(int(math.log(n, 1024)), 4)
    value = n / 1024**exponent
    if round(value, 1) >= 1024 and exponent < 4:  # 1023.96 MiB reads "1.0 GiB", not "1024.0 MiB"
        exponent, value = exponent + 1, value / 1024
    return f"{value:.1f} {('B', 'KiB', 'MiB', 'GiB', 'TiB')[exponent]}"


@dataclass(frozen=True)
class Card:
    """A GPU as the pre-flight sees it: compute capability and the memory a training run can use."""

    name: str
    capability: tuple[int, int]
    usable_gib: float


#: Cards readers train on (usable memory: what PyTorch typically reports free on an idle card).
CARDS: tuple[Card, ...] = (
    Card("T4 (Colab free)", (7, 5), 14.7),
    Card("L4", (8, 9), 22.0),
    Card("A100 40 GB", (8, 0), 39.0),
    Card("H100 80 GB", (9, 0), 79.0),
)


def recipe_per_card(config: TrainConfig, cards: tuple[Card, ...] = CARDS) -> list[dict[str, Any]]:
    """For each card: the *estimated* peak of ``config`` at ``precision="auto"`` and the settings the
    pre-flight's ``fit_memory="auto"`` would train with (or that nothing fits). Estimates, not
    measurements. Notebook: ``notebooks/05_train.ipynb``."""
    rows = []
    for card in cards:
        free = int(card.usable_gib * 2**30)
        fitted = fitting_settings(config, free, capability=card.capability)
        chosen = fitted or config
        rows.append({
            "card": card.name, "usable": describe_bytes(free),
            "precision (auto)": str(autocast_dtype(torch.device("cuda"), chosen.precision, card.capability)
                                    or "float32").replace("torch.", ""),
            "estimated peak": describe_bytes(estimate_peak_memory(config, capability=card.capability)),
            "fit_memory='auto' trains with": "nothing fits" if fitted is None else (
                "the recipe as it is" if fitted == config else
                ", ".join(f"{k}={getattr(fitted, k)!r}" for k in ("precision", "checkpoint_audio", "max_seconds")
                          if getattr(fitted, k) != getattr(config, k))),
        })
    return rows
