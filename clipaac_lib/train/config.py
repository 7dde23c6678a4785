"""The training configuration: one dataclass holding every knob of a CLIP-AAC run.

The defaults are the paper's recipe (Chen et al. 2022, section 3.2): Adam with two parameter groups
(pre-trained encoder 1e-5, decoder and new layers ``lr`` = 1e-3; a randomly initialised encoder, which
has nothing to protect, gets ``lr`` unless ``encoder_lr`` is set), a linear warm-up
over the first 5 epochs, 40 epochs, batch size 8, label smoothing 0.1, dropout 0.2, ``alpha`` = 0.2
(Eq. 7), ``lam`` = 0.5 (Eq. 5) and beam search with 3 beams; the data and model defaults are the
embedded ones (synthetic Clotho-format data, the small model) so that a default run fits on a laptop.
The training length is the dataset's: 40 epochs (5 of warm-up) on Clotho as in the paper, but
:data:`SYNTHETIC_EPOCHS` on the synthetic set, whose 40 epochs would take hours on a CPU (set
``num_epochs`` to override either).

:meth:`TrainConfig.validate` rejects bad values before any work starts, and :meth:`TrainConfig.run_hash`
is a stable digest of the fields that change the trained weights; it names the run directory, so a
finished run with the same configuration is found and reused.

Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from clipaac_lib.common import atomic_write_json, from_known_fields
from clipaac_lib.data import DATASETS, SPLITS
from clipaac_lib.model import AUDIO_MEMORY_CHOICES, CAPTION_LOSS_REDUCTIONS, CLIP_TEMPERATURE, MODEL_PRESETS
from clipaac_lib.pretrain import INIT_STRATEGIES, PretrainConfig

__all__ = [
    "ConfigError",
    "TrainConfig",
    "PRECISIONS",
    "FIT_MEMORY",
    "EPOCH_CAPTIONS",
    "LR_SCHEDULES",
    "CHECKPOINT_SELECTIONS",
    "SMOKE_OVERRIDES",
    "SMOKE_PRETRAIN",
    "PAPER_ENCODER_LR",
    "PAPER_EPOCHS",
    "PAPER_WARMUP_EPOCHS",
    "SYNTHETIC_EPOCHS",
]

#: ``precision`` choices: see :func:`clipaac_lib.train.step.autocast_dtype`.
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
#: ``fit_memory``: what the memory pre-flight does when a run would not fit.
FIT_MEMORY = ("check", "auto", "off")
#: ``epoch_captions``: every (clip, caption) pair per epoch, or one random caption per clip.
EPOCH_CAPTIONS = ("all", "one")
#: ``lr_after_warmup``: :func:`clipaac_lib.train.trainer.lr_factor`.
LR_SCHEDULES = ("constant", "cosine")
#: ``select_checkpoint``: the last epoch's weights, or the epoch with the lowest validation caption loss.
CHECKPOINT_SELECTIONS = ("last", "best")

PAPER_EPOCHS = 40  # section 3.2
PAPER_WARMUP_EPOCHS = 5.0  # section 3.2
#: Epochs on the synthetic set: 300 clips x 5 captions = 188 steps of 8 per epoch, 30-40 s on 2 CPU cores.
#: Sixteen: where the default (AudioCLIP-initialised) run's curves flatten on the 300-clip test split
#: (``benchmarks/plateau.py``, 2026-12-04, seeds 0 and 1 of a 16-epoch run): CIDEr-D 0.80 / 0.72 after 4
#: epochs, 0.93 / 0.95 after 8, 1.03 / 0.95 after 12 and 1.03 / 1.03 after 16, the test caption loss within
#: 1-2 % per epoch from epoch 10. (Six epochs, the value before, were measured on the earlier 60-clip split.)
#: Notebook 05_train sets the run beside the consensus-caption and human baselines.
SYNTHETIC_EPOCHS = 16

#: What ``smoke=True`` shrinks (a seconds-long end-to-end check of the whole pipeline).
SMOKE_OVERRIDES: dict[str, Any] = {
    "num_epochs": 1,
    "limit_train_clips": 16,  # room for batch size 16 (a batch holds one caption per clip)
    "limit_test_clips": 4,
    "max_seconds": 2.0,
    "beam_size": 2,
    "max_caption_len": 8,
    "eval_untrained": False,
}

#: What ``smoke=True`` does to the book's pretraining (init 'audio'/'audio_text' with the small model): a
#: seconds-long recipe on a 24-clip corpus (its files are cached apart from the full recipe's).
SMOKE_PRETRAIN: dict[str, Any] = {"corpus": {"clips": 24, "seconds": 2.5}, "held_out": 4, "batch_size": 4,
                                  "audio_epochs": 1, "text_epochs": 1}

PAPER_ENCODER_LR = 1e-5  # section 3.2: "a small learning rate of 1e-5 is applied to the pre-trained encoder"

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class ConfigError(ValueError):
    """A configuration value is out of range or unknown; the message names the field and the fix."""


def _knob(default: Any, help: str, *, hashed: bool = True) -> Any:  # noqa: A002 (argparse naming)
    """A dataclass field carrying its command-line help and whether it changes the trained weights."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help, "hashed": hashed})
    return field(default=default, metadata={"help": help, "hashed": hashed})


@dataclass
class TrainConfig:
    """Every knob of a training run; the defaults reproduce the paper's recipe on the embedded data.

    Fields marked "not hashed" below (device, paths, workers, decoding) do not change the trained
    weights, so runs differing only in them share a run directory. Notebook: ``notebooks/05_train.ipynb``.
    """

    # --- data (notebook 01)
    dataset: str = _knob("synthetic", "dataset: 'synthetic' (embedded default, generated offline) or 'clotho'")
    data_root: str | None = _knob(None, "dataset folder; default: the cache's data folder")
    train_split: str = _knob("train", "training split (Clotho: train = development + validation)")
    test_split: str = _knob("test", "evaluation split (Clotho: test = evaluation)")
    max_seconds: float = _knob(30.0, "clips are cut to this many seconds")
    fixed_length: bool = _knob(False, "zero-pad every training clip to max_seconds (fixed shapes for cuDNN "
                               "autotuning and torch.compile; the model then sees the padding)")
    max_words: int = _knob(30, "training captions are cut to this many words")
    min_word_count: int = _knob(1, "words seen fewer times in the training captions become <unk>")
    limit_train_clips: int | None = _knob(None, "use only the first N training clips (quick checks)")
    limit_test_clips: int | None = _knob(None, "use only the first N test clips (quick checks)")
    epoch_captions: str = _knob(
        "all", "what an epoch is (paper silent): 'all' (every caption of every clip once: 5 pairs per clip, "
        "24 420 on Clotho, our reading of section 3.1) or 'one' (one random caption per clip)"
    )
    # --- model (notebook 02)
    model_config: str = _knob("small", "model size: 'small' (CPU-friendly) or 'paper' (ESResNeXt + CLIP text)")
    model_overrides: dict[str, Any] = _knob({}, "JSON object of ModelConfig fields to override")
    audio_memory: str | None = _knob(None, "decoder memory: 'embedding' or 'frames'; default: the model's")
    init: str = _knob("audio_text", "encoder initialisation: 'audio_text' (AudioCLIP, the paper's), 'audio' (ESResNeXt on "
                      "AudioSet) or 'random'; the paper-size model loads the published files, any other the book's "
                      "own (`clipaac pretrain`)")
    pretrain_overrides: dict[str, Any] = _knob(
        {}, "JSON object of PretrainConfig fields for the book's own pretrained encoder (init 'audio'/'audio_text' "
        "with a model other than 'paper'), e.g. '{\"audio_epochs\": 8, \"corpus\": {\"clips\": 1200}}'"
    )
    freeze_encoder: bool = _knob(False, "keep the encoder's weights fixed (paper system 3)")
    dropout: float = _knob(0.2, "dropout rate (paper: 0.2)")
    temperature_init: float = _knob(
        CLIP_TEMPERATURE, "initial temperature t of the contrastive loss, 1/t = the logit scale (paper silent; CLIP's 0.07; "
        "an AudioCLIP checkpoint (init 'audio_text') sets its own)"
    )
    # --- optimisation (paper section 3.2, notebook 05)
    num_epochs: int | None = _knob(
        None, "training epochs; 'none': the dataset's recipe, 40 on Clotho (paper), "
        f"{SYNTHETIC_EPOCHS} on the synthetic set (a CPU run of minutes)"
    )
    batch_size: int = _knob(8, "global batch size; its pairs are the contrastive negatives (paper: 8)")
    lr: float = _knob(1e-3, "Adam learning rate of the decoder and new layers (paper: 1e-3)")
    encoder_lr: float | None = _knob(
        None, "Adam learning rate of the encoder; 'none': 1e-5 (paper) for a pre-trained encoder "
        "(init 'audio'/'audio_text'), lr for a randomly initialised one"
    )
    warmup_epochs: float | None = _knob(
        None, "linear learning-rate warm-up in epochs; 'none': 5 on Clotho (paper), else num_epochs / 8 "
        "(the paper's 5 of 40)"
    )
    lr_after_warmup: str = _knob(
        "constant", "learning rate after the warm-up (paper silent): 'constant' or 'cosine' (decay to 0 at the end)"
    )
    weight_decay: float = _knob(0.0, "Adam weight decay (paper: none)")
    max_grad_norm: float | None = _knob(None, "clip the gradient norm to this value ('none': no clipping)")
    label_smoothing: float = _knob(0.1, "label smoothing of the caption loss (paper: 0.1)")
    caption_loss: str = _knob(
        "token_mean", "reduction of the caption loss, Eq. 6: 'token_mean' (mean over the batch's tokens, "
        "PyTorch's convention) or 'caption_sum' (Eq. 6 as written: a sum per caption, mean over captions)"
    )
    alpha: float = _knob(0.2, "weight of the contrastive loss, Eq. 7 (paper: 0.2)")
    lam: float = _knob(0.5, "weight of the audio-to-text term in the contrastive loss, Eq. 5 (paper: 0.5)")
    seed: int = _knob(0, "random seed (model initialisation, batch order, dropout)")
    select_checkpoint: str = _knob(
        "last", "the weights kept (paper silent): 'last' epoch, or 'best' (lowest caption loss on val_split; "
        "needs a train_split without it, e.g. 'development')"
    )
    val_split: str = _knob("validation", "held-out split of select_checkpoint='best'")
    # --- decoding and evaluation (notebook 04); not hashed
    beam_size: int = _knob(3, "beam size at inference (paper: 3; 1 = greedy)", hashed=False)
    max_caption_len: int = _knob(30, "longest generated caption in words", hashed=False)
    length_penalty: float = _knob(
        1.0, "beam ranking: sum log p / length**length_penalty (0 = raw sum)", hashed=False
    )
    eval_batch_size: int = _knob(32, "clips per batch when captioning and embedding", hashed=False)
    caption_metrics: bool = _knob(True, "score test captions with BLEU..CIDEr-D (needs Java)", hashed=False)
    eval_untrained: bool = _knob(True, "also score the untrained model, for comparison", hashed=False)
    validate_every: int = _knob(1, "test loss and retrieval every N epochs (0: never)", hashed=False)
    # --- execution; not hashed
    device: str = _knob("auto", "'auto' (CUDA if present), 'cpu', 'cuda', 'cuda:N' or 'mps'", hashed=False)
    run_root: str | None = _knob(None, "folder holding the run directories; default: the cache's runs", hashed=False)
    resume: bool = _knob(True, "continue from the run directory's checkpoint if there is one", hashed=False)
    reuse: bool = _knob(True, "return a finished run with the same configuration instead of retraining", hashed=False)
    wait_for_lock: bool = _knob(True, "when another process is training this run: wait for it, then reuse its "
                                "result (false: stop at once, naming that process)", hashed=False)
    precision: str = _knob("auto", "'auto' (bf16 autocast on GPUs with native bf16, compute capability 8.0+ "
                           "such as A100, L4, H100; fp16 autocast with a gradient scaler on older GPUs such as "
                           "Colab's T4 and the V100; float32 on CPUs), or 'bf16', 'fp16', 'fp32'", hashed=False)
    checkpoint_audio: bool = _knob(False, "activation checkpointing of the audio head: its ResNeXt stages "
                                   "recompute their activations in the backward pass (less memory, same "
                                   "gradients, about a third more compute in the audio head)", hashed=False)
    fit_memory: str = _knob("check", "before training on CUDA, compare the estimated peak memory with the free "
                            "memory: 'check' (stop with settings that would fit), 'auto' (apply them), "
                            "'off'", hashed=False)
    num_workers: int | None = _knob(None, "data-loading worker processes; default: 0 on a CPU, on CUDA one per "
                                    "free core up to 8", hashed=False)
    compile: bool = _knob(False, "torch.compile the ResNeXt stages (for CUDA; pair with fixed_length, since "
                          "every new batch shape compiles again)", hashed=False)
    cpu_threads: str = _knob("auto", "intra-op threads when training on a CPU: 'auto' (torch's count, lowered "
                             "to the cores other processes leave free, sampled every 5 s: a busy neighbour "
                             "costs its share, not the 3x and more of torch's spin-waiting threads; results equal "
                             "to rounding), 'torch' (its count, fixed) or a number such as '1' "
                             "(bit-reproducible)", hashed=False)
    progress: bool = _knob(True, "show progress bars", hashed=False)
    smoke: bool = _knob(False, "shrink everything to a seconds-long end-to-end check", hashed=False)

    # ------------------------------------------------------------------ construction
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError` naming them."""
        return from_known_fields(cls, data, error=ConfigError)

    @classmethod
    def from_parameters(cls, namespace: Mapping[str, Any]) -> TrainConfig:
        """The configuration of a notebook's parameters: every name of ``namespace`` (the notebook's
        ``globals()``, after papermill's injected cell) that is a field, the defaults for the rest, so a
        notebook never retypes the library's defaults. Notebook: ``notebooks/05_train.ipynb``."""
        return cls(**{f.name: namespace[f.name] for f in fields(cls) if f.name in namespace})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def save(self, path: str | Path) -> None:
        """Write the configuration as JSON (atomically)."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a configuration written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def recipe(self) -> dict[str, Any]:
        """The knobs that define a run's recipe, as it will run (:meth:`resolved`), with the effective
        encoder learning rate: what notebook 5 shows before training."""
        cfg = self.resolved()
        names = ["dataset", "model_config", "init", "freeze_encoder", "alpha", "lam", "batch_size", "num_epochs",
                 "warmup_epochs", "lr", "label_smoothing", "dropout", "beam_size", "seed", "device"]
        return {**{name: getattr(cfg, name) for name in names}, "encoder_lr": cfg.effective_encoder_lr()}

    def command_line(self) -> str:
        """The ``clipaac train`` command of this configuration (fields that differ from the defaults)."""
        default = TrainConfig()
        parts = ["clipaac train"]
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                parts.append(flag if value else f"--no-{f.name.replace('_', '-')}")
            elif isinstance(value, dict):
                parts.append(f"{flag} '{json.dumps(value)}'")
            else:
                parts.append(f"{flag} {'none' if value is None else value}")
        return " ".join(parts)

    # ------------------------------------------------------------------ derived values
    def resolved(self) -> TrainConfig:
        """The configuration actually run: ``num_epochs``/``warmup_epochs`` left at ``None`` take the
        dataset's recipe (Clotho: the paper's 40 and 5; synthetic: :data:`SYNTHETIC_EPOCHS` and an eighth of
        them), then ``smoke`` applies :data:`SMOKE_OVERRIDES` (never enlarging)."""
        changes: dict[str, Any] = {}
        if self.num_epochs is None:
            changes["num_epochs"] = PAPER_EPOCHS if self.dataset == "clotho" else SYNTHETIC_EPOCHS
        if self.warmup_epochs is None:
            epochs = changes.get("num_epochs", self.num_epochs)
            changes["warmup_epochs"] = PAPER_WARMUP_EPOCHS if self.dataset == "clotho" else epochs / 8
        cfg = self.replace(**changes) if changes else self
        if not cfg.smoke:
            return cfg
        return cfg._shrunk()

    def _shrunk(self) -> TrainConfig:
        changes: dict[str, Any] = {"pretrain_overrides": SMOKE_PRETRAIN}
        for name, small in SMOKE_OVERRIDES.items():
            current = getattr(self, name)
            if isinstance(small, bool) or current is None:
                changes[name] = small
            else:
                changes[name] = min(current, small)
        return self.replace(**changes)

    def hashed_fields(self) -> dict[str, Any]:
        """The fields that change the trained weights (of the resolved configuration)."""
        cfg = self.resolved()
        return {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.metadata.get("hashed", True)}

    def run_hash(self) -> str:
        """A stable 12-hex-digit digest of :meth:`hashed_fields` (canonical JSON, sorted keys)."""
        text = json.dumps(self.hashed_fields(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def run_name(self) -> str:
        """The run directory's name: dataset, model size, initialisation and the hash."""
        cfg = self.resolved()
        return f"{cfg.dataset}-{cfg.model_config}-{cfg.init}-{self.run_hash()}"

    def pretrain_config(self) -> PretrainConfig:
        """The recipe of the book's own pretrained encoder files: defaults plus ``pretrain_overrides``
        (:data:`SMOKE_PRETRAIN` in smoke mode)."""
        return PretrainConfig().with_overrides(self.resolved().pretrain_overrides)

    def effective_encoder_lr(self) -> float:
        """``encoder_lr`` when set; otherwise the paper's 1e-5 for a pre-trained encoder, and ``lr`` for a
        random one (the paper's small rate protects pre-trained weights; a random encoder has none)."""
        if self.encoder_lr is not None:
            return self.encoder_lr
        return self.lr if self.init == "random" else PAPER_ENCODER_LR

    # ------------------------------------------------------------------ validation
    def validate(self) -> TrainConfig:
        """Raise :class:`ConfigError` on the first bad value (before any work); return ``self``.

        Checks the values alone, with no I/O: whether the named GPU exists and the Clotho files are there
        is the pre-flight's question (:func:`clipaac_lib.train.preflight.check_environment`).
        """
        self._check_choices()
        self._check_weights_and_rates()
        self._check_counts()
        self._check_overrides()
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device):
            raise ConfigError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {self.device!r}"
            )
        return self

    def _check_choices(self) -> None:
        """Every field with a fixed set of values holds one of them."""
        _choice("dataset", self.dataset, DATASETS)
        _choice("model_config", self.model_config, MODEL_PRESETS)
        _choice("init", self.init, INIT_STRATEGIES)
        if self.audio_memory is not None:
            _choice("audio_memory", self.audio_memory, AUDIO_MEMORY_CHOICES)
        _choice("precision", self.precision, PRECISIONS)
        _choice("fit_memory", self.fit_memory, FIT_MEMORY)
        _choice("epoch_captions", self.epoch_captions, EPOCH_CAPTIONS)
        _choice("caption_loss", self.caption_loss, CAPTION_LOSS_REDUCTIONS)
        _choice("lr_after_warmup", self.lr_after_warmup, LR_SCHEDULES)
        _choice("select_checkpoint", self.select_checkpoint, CHECKPOINT_SELECTIONS)
        if self.select_checkpoint == "best" and self.val_split in SPLITS.get(self.train_split, (self.train_split,)):
            raise ConfigError(
                f"select_checkpoint='best' selects on val_split={self.val_split!r}, which train_split="
                f"{self.train_split!r} trains on; set train_split='development' (Clotho's development set "
                "without validation) or another val_split"
            )

    def _check_weights_and_rates(self) -> None:
        """Loss weights, probabilities, learning rates, temperature and decoding penalty in range."""
        _in_range("temperature_init", self.temperature_init, 0.01, 1.0,
                  "a temperature whose inverse lies in the logit scale's clamp [1, 100]")
        for name in ("alpha", "lam"):
            _in_range(name, getattr(self, name), 0.0, 1.0, "a weight between 0 and 1 (Eq. 5 and 7)")
        _in_range("dropout", self.dropout, 0.0, 1.0, "a probability in [0, 1)", high_open=True)
        _in_range("label_smoothing", self.label_smoothing, 0.0, 1.0, "a value in [0, 1)", high_open=True)
        _positive_float("lr", self.lr)
        for name in ("encoder_lr", "max_grad_norm"):
            if getattr(self, name) is not None:
                _positive_float(name, getattr(self, name))
        _positive_float("max_seconds", self.max_seconds)
        if self.warmup_epochs is not None:
            _in_range("warmup_epochs", self.warmup_epochs, 0.0, math.inf, "a non-negative number")
        _in_range("weight_decay", self.weight_decay, 0.0, math.inf, "a non-negative number")
        if not isinstance(self.length_penalty, (int, float)) or not math.isfinite(self.length_penalty):
            raise ConfigError(f"length_penalty must be a finite number; got {self.length_penalty!r}")

    def _check_counts(self) -> None:
        """Epochs, sizes, limits, workers and the seed are whole numbers of the right sign."""
        positive = ["batch_size", "max_words", "min_word_count", "beam_size", "max_caption_len", "eval_batch_size"]
        positive += [n for n in ("num_epochs", "limit_train_clips", "limit_test_clips") if getattr(self, n) is not None]
        for name in positive:
            _positive_int(name, getattr(self, name))
        if self.cpu_threads not in ("torch", "auto") and not (
            isinstance(self.cpu_threads, str) and self.cpu_threads.isdigit() and int(self.cpu_threads) >= 1
        ):
            raise ConfigError(f"cpu_threads must be 'torch', 'auto' or a whole number of threads such as '1'; "
                              f"got {self.cpu_threads!r}")
        for name in ("validate_every", "num_workers", "seed"):
            value = getattr(self, name)
            if name == "num_workers" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer; got {value!r}")

    def _check_overrides(self) -> None:
        """``model_overrides`` is a JSON object and ``pretrain_overrides`` makes a valid recipe."""
        if not isinstance(self.model_overrides, dict):
            raise ConfigError(f"model_overrides must be a JSON object (dict); got {self.model_overrides!r}")
        try:
            self.pretrain_config()
        except (TypeError, ValueError) as err:
            raise ConfigError(f"pretrain_overrides {self.pretrain_overrides!r}: {err}") from err


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}")


def _in_range(name: str, value: Any, low: float, high: float, what: str, *, high_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ConfigError(f"{name} must be {what}, i.e. in [{low:g}, {high:g}{bracket}; got {value!r}")


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer; got {value!r}")


def _positive_float(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number; got {value!r}")
