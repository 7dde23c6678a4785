"""Which of a synthetic clip's sound events a caption names: a check of what a captioner heard.

The synthetic set knows the truth of every clip (``synthetic_scenes.json``: its 1-3 events). A caption
names an event when it contains one of the noun phrases the caption grammar uses for that event's kind
(:data:`~clipaac_lib.data.synth_captions.NOUNS`, e.g. "ticking clock" or "clock ticking" for
``ticking``), as whole words after :func:`~clipaac_lib.data.text.normalize_caption`. A background
phrase that happens to share words (a background hum and a humming event) counts as naming it.
Clotho has no such truth, so :func:`scene_events` is empty there. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence

from clipaac_lib.data.clotho import SPLITS, dataset_folder
from clipaac_lib.data.synth_captions import NOUNS
from clipaac_lib.data.text import normalize_caption

__all__ = ["events_named", "scene_events"]

SCENES_FILE = "synthetic_scenes.json"


def scene_events(root: str | os.PathLike[str], split: str) -> dict[str, tuple[str, ...]]:
    """``{file name: the kinds of its events, in order}`` for the clips of ``split`` (``train``, ``test``
    or a Clotho split name); empty when the dataset has no ``synthetic_scenes.json`` (Clotho)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    path = dataset_folder(root) / SCENES_FILE
    if not path.is_file():
        return {}
    scenes = json.loads(path.read_text(encoding="utf-8"))
    return {clip["file_name"]: tuple(e["kind"] for e in clip["events"])
            for source in SPLITS[split] for clip in scenes.get(source, [])}


def _phrases(kind: str) -> list[str]:
    if kind not in NOUNS:
        raise KeyError(f"unknown event kind {kind!r}; the synthetic set has {', '.join(sorted(NOUNS))}")
    return [normalize_caption(phrase) for phrase, _ in NOUNS[kind]]


def events_named(caption: str, kinds: Sequence[str]) -> list[bool]:
    """For each event kind of ``kinds``, whether ``caption`` names it (see the module docstring)."""
    text = f" {normalize_caption(caption)} "
    return [any(re.search(rf" {re.escape(p)} ", text) for p in _phrases(kind)) for kind in kinds]
