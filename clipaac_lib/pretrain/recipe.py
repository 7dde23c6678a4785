"""The pretraining recipe of the book's own "ESResNeXt on AudioSet" and "AudioCLIP" (a dataclass).

Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from clipaac_lib.common import from_known_fields
from clipaac_lib.model import CLIP_TEMPERATURE
from clipaac_lib.pretrain.corpus import CorpusConfig

__all__ = ["PretrainConfig", "PRETRAIN_VERSION"]

#: Bumped whenever the recipe's code changes what it produces (part of the cache key).
PRETRAIN_VERSION = 2


@dataclass(frozen=True)
class PretrainConfig:
    """Both pretraining stages on one labelled corpus.

    - stage ``audio``: the audio head as a multi-label classifier of the corpus's labels (binary
      cross-entropy), ``audio_epochs`` epochs at ``audio_lr`` (AudioSet pretraining of ESResNeXt);
    - stage ``audio_text``: from stage ``audio``, audio and text heads trained together with the
      symmetric contrastive loss on (clip, label text) pairs, ``text_epochs`` epochs, the text head and
      temperature at ``text_lr`` and the pretrained audio head at ``audio_text_lr`` (AudioCLIP).
    ``held_out`` clips of the corpus are kept for the validation curves.
    """

    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    held_out: int = 100
    batch_size: int = 16
    audio_epochs: int = 6
    audio_lr: float = 1e-3
    text_epochs: int = 4
    text_lr: float = 1e-3
    audio_text_lr: float = 1e-4
    temperature_init: float = CLIP_TEMPERATURE
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.corpus, dict):
            object.__setattr__(self, "corpus", CorpusConfig(**self.corpus))
        for name in ("batch_size", "audio_epochs", "text_epochs", "held_out"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"PretrainConfig.{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError("PretrainConfig.batch_size must be at least 2 (the contrastive loss needs negatives)")
        if self.held_out >= self.corpus.clips - self.batch_size:
            raise ValueError(f"PretrainConfig.held_out ({self.held_out}) leaves fewer than batch_size "
                             f"({self.batch_size}) of the corpus's {self.corpus.clips} clips for training")
        for name in ("audio_lr", "text_lr", "audio_text_lr", "temperature_init"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PretrainConfig.{name} must be positive, got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainConfig:
        return from_known_fields(cls, data)

    def replace(self, **changes: Any) -> PretrainConfig:
        return replace(self, **changes)

    def with_overrides(self, overrides: dict[str, Any]) -> PretrainConfig:
        """A copy with ``overrides`` applied (``TrainConfig.pretrain_overrides``); ``corpus`` may be a
        partial dict. Unknown or bad fields raise ``ValueError`` naming them."""
        if not isinstance(overrides, dict):
            raise ValueError(f"pretrain overrides must be a JSON object (dict), got {overrides!r}")
        data = self.to_dict()
        for key, value in overrides.items():
            if key == "corpus" and isinstance(value, dict):
                known = set(data["corpus"])
                unknown = sorted(set(value) - known)
                if unknown:
                    raise ValueError(f"unknown CorpusConfig field(s) {unknown}; known: {sorted(known)}")
                data["corpus"] = {**data["corpus"], **value}
            else:
                data[key] = value
        return PretrainConfig.from_dict(data)

    def stage_hash(self, stage: str, architecture: dict[str, Any]) -> str:
        """12 hex digits naming one stage's output for one encoder ``architecture`` (its config dict):
        the recipe up to that stage, the architecture and :data:`PRETRAIN_VERSION`."""
        recipe = self.to_dict()
        if stage == "audio":  # stage "audio" does not depend on the audio-text settings
            for name in ("text_epochs", "text_lr", "audio_text_lr", "temperature_init"):
                recipe.pop(name)
        text = json.dumps({"stage": stage, "recipe": recipe, "architecture": architecture,
                           "version": PRETRAIN_VERSION}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
