"""Which events a caption names (data/mentions.py), against the synthetic set's own ground truth."""

from __future__ import annotations

import pytest

from clipaac_lib.data import events_named, make_synthetic_clotho, scene_events
from clipaac_lib.experiments.baselines import split_references


def test_every_reference_caption_names_every_event_of_its_clip(tmp_path):
    """The caption grammar names each event of a scene, so the check must find all of them."""
    make_synthetic_clotho(tmp_path, sizes={"development": 4, "validation": 2, "evaluation": 6},
                          clip_seconds=2.5, progress=False)
    events = scene_events(tmp_path, "test")
    references = split_references(tmp_path, "test")
    assert len(events) == len(references) == 6
    for kinds, captions in zip(events.values(), references, strict=True):
        for caption in captions:
            assert all(events_named(caption, kinds)), (caption, kinds)
    assert len(scene_events(tmp_path, "train")) == 6  # development + validation


def test_names_by_whole_phrases_only():
    assert events_named("A loud bell ringing, then pouring rain.", ["bell", "rain", "siren"]) == [True, True, False]
    assert events_named("a beeping tone", ["beep"]) == [True]
    assert events_named("a drummer", ["drum"]) == [False]  # "drum" is not a word of "drummer"
    with pytest.raises(KeyError, match="unknown event kind"):
        events_named("a dog", ["dog"])


def test_clotho_has_no_scenes(tmp_path):
    (tmp_path / "clotho_v2.1").mkdir()
    assert scene_events(tmp_path, "test") == {}
    with pytest.raises(ValueError, match="unknown split"):
        scene_events(tmp_path, "dev")


def test_event_coverage_of_a_run(tmp_path):
    """A run whose captions are each clip's first reference names every event; a run saying one fixed
    word names none; both beside the humans' caption_1, which names them all."""
    from clipaac_lib.experiments import event_coverage
    from clipaac_lib.train import RunResult, TrainConfig

    make_synthetic_clotho(tmp_path, sizes={"development": 2, "validation": 1, "evaluation": 8},
                          clip_seconds=2.5, progress=False)
    config = TrainConfig(data_root=str(tmp_path), test_split="evaluation")
    events = scene_events(tmp_path, "evaluation")
    refs = split_references(tmp_path, "evaluation")
    rows = [{"file_name": name, "caption": r[0], "references": r} for name, r in zip(events, refs, strict=True)]
    perfect = event_coverage(RunResult(tmp_path, config, "h", captions=rows))
    silent = event_coverage(RunResult(tmp_path, config, "h",
                                      captions=[{**row, "caption": "silence"} for row in rows]))
    counts = {n: sum(len(k) == n for k in events.values()) for n in (1, 2, 3)}
    assert perfect["clips"].to_dict() == {n: c for n, c in counts.items() if c}
    assert (perfect["model"] == 1).all() and (perfect["human"] == 1).all()
    assert (silent["model"] == 0).all() and (silent["human"] == 1).all()
