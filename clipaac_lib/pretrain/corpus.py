"""The book's stand-in for AudioSet: a labelled corpus of synthetic sound scenes, no captions.

AudioSet gives ESResNeXt and AudioCLIP millions of clips with sound-event labels (527 classes) and no
captions. The book's corpus is drawn by the same scene sampler and synthesisers as the captioning set
(:mod:`clipaac_lib.data.synth_scenes`) but from **another seed and another random stream per clip**, so
no clip of the corpus is a clip of the captioning set. Each clip keeps only its labels: the event types
it contains and its background (:data:`LABELS`, 15 classes), never a caption, loudness, order or
pitch. Its *label text* (``"siren, rain"``) is what AudioCLIP's text head saw: class names.

The corpus is generated in memory (about a second per 100 clips) and deterministic for its
:class:`CorpusConfig`. Notebook: ``notebooks/06_ablations.ipynb`` (section "Pretraining").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

from clipaac_lib.common import SAMPLE_RATE, tqdm
from clipaac_lib.data import EVENTS, Scene, render_scene, sample_scene

__all__ = ["LABELS", "LABEL_NAMES", "CORPUS_STREAM", "CorpusConfig", "LabelledCorpus", "scene_labels", "make_corpus"]

#: Class name of each label: every event type of the synthesiser, and static noise (a background only).
LABEL_NAMES: dict[str, str] = {
    "beep": "beep", "hum": "hum", "siren": "siren", "chirp": "bird", "ticking": "clock ticking",
    "knocking": "knocking", "bell": "bell", "rain": "rain", "engine": "engine", "crackle": "fire",
    "drum": "drum", "dripping": "dripping water", "wind": "wind", "whistle": "whistle", "noise": "static noise",
}
#: The corpus's classes, in index order.
LABELS: tuple[str, ...] = tuple(LABEL_NAMES)
#: The captioning set draws clip ``i`` of split ``s`` from ``SeedSequence([seed, s, i])`` with ``s`` in
#: 0..2; the corpus uses this stream tag instead, so its clips are never those of the captioning set.
CORPUS_STREAM = 1000

assert set(EVENTS) <= set(LABELS), "every event type needs a label"


@dataclass(frozen=True)
class CorpusConfig:
    """What the corpus holds: ``clips`` scenes of ``seconds`` each at ``sample_rate``, drawn with ``seed``."""

    seed: int = 1
    clips: int = 800
    seconds: float = 3.0
    sample_rate: int = SAMPLE_RATE
    background_probability: float = 0.4
    max_events: int = 3

    def __post_init__(self) -> None:
        if self.clips < 2:
            raise ValueError(f"CorpusConfig.clips must be at least 2, got {self.clips}")
        if self.seconds < 0.8 * self.max_events:
            raise ValueError(f"CorpusConfig.seconds ({self.seconds}) is too short for {self.max_events} events; "
                             f"use at least {0.8 * self.max_events:g}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class LabelledCorpus:
    """``audio`` (N, S) float32 in [-1, 1]; ``targets`` (N, C) multi-hot over :data:`LABELS`;
    ``texts`` the N label texts; ``config`` what made it."""

    audio: Tensor
    targets: Tensor
    texts: list[str]
    config: CorpusConfig

    def __len__(self) -> int:
        return int(self.audio.shape[0])

    def split(self, held_out: int) -> tuple[LabelledCorpus, LabelledCorpus]:
        """The first ``len - held_out`` clips (training) and the last ``held_out`` (validation)."""
        if not 0 < held_out < len(self):
            raise ValueError(f"held_out must be in 1..{len(self) - 1}, got {held_out}")
        cut = len(self) - held_out
        return (LabelledCorpus(self.audio[:cut], self.targets[:cut], self.texts[:cut], self.config),
                LabelledCorpus(self.audio[cut:], self.targets[cut:], self.texts[cut:], self.config))


def scene_labels(scene: Scene) -> list[str]:
    """The labels of a scene, events first then the background, each once: ``["siren", "rain"]``."""
    labels = [event.kind for event in scene.events]
    if scene.background is not None:
        labels.append(scene.background)
    return list(dict.fromkeys(labels))


def make_corpus(config: CorpusConfig | None = None, *, progress: bool = True) -> LabelledCorpus:
    """Generate the labelled corpus of ``config`` (deterministic: the same config gives the same tensors)."""
    config = config or CorpusConfig()
    n = int(round(config.seconds * config.sample_rate))
    audio = torch.empty(config.clips, n)  # (N, S)
    targets = torch.zeros(config.clips, len(LABELS))  # (N, C)
    texts = []
    for index in tqdm(range(config.clips), desc="synthesising the labelled corpus", unit="clip",
                      disable=not progress):
        scene_seq, audio_seq = np.random.SeedSequence([config.seed, CORPUS_STREAM, index]).spawn(2)
        scene = sample_scene(np.random.default_rng(scene_seq), config.seconds, config.background_probability,
                             config.max_events)
        audio[index] = torch.from_numpy(render_scene(scene, np.random.default_rng(audio_seq), config.sample_rate))
        labels = scene_labels(scene)
        targets[index, [LABELS.index(label) for label in labels]] = 1.0
        texts.append(", ".join(LABEL_NAMES[label] for label in labels))
    return LabelledCorpus(audio, targets, texts, config)
