"""Scenes of the synthetic dataset: 1-3 events that follow each other or overlap, over an optional background.

A :class:`Scene` is the ground truth of one clip; the captions are written from it
(:mod:`clipaac_lib.data.synth_captions`) and the audio rendered from it (:func:`render_scene`), so
every caption says only what the audio carries:

- ``single``: one event for most of the clip;
- ``sequence``: two or three events one after the other ("A followed by B");
- ``overlap``: two events at the same time, the second starting a little later ("A while B");
- each event is ``loud`` (peak about 0.7) or ``quiet`` (about 0.15, 13 dB lower), and has its
  pitch (low/high) or speed (slow/fast) when its type has one;
- a ``background`` (wind, rain, hum or static noise) sits about 10 dB below a quiet event, or is absent.

Notebook: ``notebooks/01_data.ipynb`` (section "A synthetic Clotho").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from clipaac_lib.data.synth_sounds import ATTRIBUTE_VALUES, EVENTS, band_noise, render_event

__all__ = ["BACKGROUNDS", "LEVELS", "RELATIONS", "Event", "Scene", "sample_scene", "render_scene"]

RELATIONS: tuple[str, ...] = ("single", "sequence", "overlap")
BACKGROUNDS: tuple[str, ...] = ("wind", "rain", "hum", "noise")
LEVELS: dict[str, float] = {"loud": 0.7, "quiet": 0.15}
BACKGROUND_LEVEL = 0.05


@dataclass(frozen=True)
class Event:
    """One event of a scene: its type, loudness, attribute value (or None), and time span in seconds."""

    kind: str
    loudness: str
    attribute: str | None
    onset: float
    offset: float


@dataclass(frozen=True)
class Scene:
    """The ground truth of one synthetic clip."""

    relation: str
    events: tuple[Event, ...]
    background: str | None
    duration: float

    def to_dict(self) -> dict[str, Any]:
        return {"relation": self.relation, "events": [asdict(e) for e in self.events],
                "background": self.background, "duration": self.duration}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        return cls(data["relation"], tuple(Event(**e) for e in data["events"]), data["background"],
                   float(data["duration"]))


def _spans(rng: np.random.Generator, relation: str, count: int, duration: float) -> list[tuple[float, float]]:
    if relation == "single":
        return [(rng.uniform(0.0, 0.3), duration - rng.uniform(0.0, 0.3))]
    if relation == "overlap":
        first = (rng.uniform(0.0, 0.3), duration - rng.uniform(0.0, 0.2))
        second = (rng.uniform(0.2, 0.4) * duration, duration - rng.uniform(0.0, 0.2) * duration)
        return [first, second]
    gap = 0.15
    slot = (duration - 0.2 - gap * (count - 1)) / count
    spans, start = [], rng.uniform(0.0, 0.2)
    for _ in range(count):
        length = slot * rng.uniform(0.85, 1.0)
        spans.append((start, start + length))
        start += length + gap
    return spans


def sample_scene(
    rng: np.random.Generator,
    duration: float,
    background_probability: float = 0.4,
    max_events: int = 3,
) -> Scene:
    """Draw a random scene of ``duration`` seconds (see the module docstring for the vocabulary)."""
    if not 1 <= max_events <= 3:
        raise ValueError(f"max_events must be 1, 2 or 3, got {max_events}")
    if duration < 0.8 * max_events:
        raise ValueError(f"a {duration} s clip is too short for {max_events} events; use at least "
                         f"{0.8 * max_events:g} s")
    if max_events == 1:
        relation = "single"
    else:
        relation = str(rng.choice(RELATIONS, p=[0.3, 0.45, 0.25]))
    count = {"single": 1, "overlap": 2}.get(relation) or int(rng.integers(2, max_events + 1))
    background = str(rng.choice(BACKGROUNDS)) if rng.random() < background_probability else None
    kinds = [k for k in EVENTS if k != background]
    chosen = rng.choice(len(kinds), size=count, replace=False)
    events = []
    for k, (onset, offset) in zip(chosen, _spans(rng, relation, count, duration), strict=True):
        kind = kinds[int(k)]
        attribute_name = EVENTS[kind].attribute
        value = None if attribute_name is None else str(rng.choice(ATTRIBUTE_VALUES[attribute_name]))
        loudness = str(rng.choice(tuple(LEVELS)))
        events.append(Event(kind, loudness, value, round(float(onset), 3), round(float(offset), 3)))
    return Scene(relation, tuple(events), background, float(duration))


def _background(rng: np.random.Generator, kind: str, sample_rate: int, n: int) -> np.ndarray:
    if kind == "noise":  # static: broadband hiss
        wave = band_noise(rng, n, sample_rate, 300, 7000)
    else:
        wave = render_event(kind, rng, sample_rate, n)
    return wave / (np.max(np.abs(wave)) + 1e-12)


def render_scene(scene: Scene, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Float32 waveform (round(duration * sample_rate),) of ``scene``, peak at most 0.99."""
    n = int(round(scene.duration * sample_rate))
    out = np.zeros(n)
    if scene.background is not None:
        out += BACKGROUND_LEVEL * _background(rng, scene.background, sample_rate, n)
    for event in scene.events:
        start = int(round(event.onset * sample_rate))
        stop = min(n, int(round(event.offset * sample_rate)))
        wave = render_event(event.kind, rng, sample_rate, stop - start, event.attribute)
        out[start:stop] += LEVELS[event.loudness] * rng.uniform(0.9, 1.1) * wave
    peak = float(np.max(np.abs(out)))
    if peak > 0.99:
        out *= 0.99 / peak
    return out.astype(np.float32)
