"""A metric missing from a saved score record reads as None, never as a score of 0
(``clipaac_lib.train.scores.SplitScores.metric``), and the result table of ``clipaac train`` /
``clipaac evaluate`` shows it as ``n/a``: a record written before a metric existed (or with its tool
missing) must not look like a model that scored zero."""

from __future__ import annotations

import json
from pathlib import Path

from clipaac_lib.cli.train import format_result
from clipaac_lib.metrics import METRIC_KEYS
from clipaac_lib.train import RunResult, SplitScores, TrainConfig

#: A record from before SPICE and the model-based metrics were scored: every other paper metric is there.
OLD_METRICS = {key: 0.5 for key in METRIC_KEYS if key != "spice"}


def _old_record() -> SplitScores:
    """The record as read back from a ``scores.json`` of that time."""
    text = json.dumps({"num_clips": 4, "retrieval_chance": {"a2t_r1": 0.25}, "metrics": OLD_METRICS})
    return SplitScores.from_dict(json.loads(text))


def test_a_metric_missing_from_an_older_record_is_none() -> None:
    old = _old_record()
    assert "spice" in METRIC_KEYS and "spice" not in OLD_METRICS
    assert old.metric("spice") is None
    assert old.metric("spider_fl") is None and old.metric("fense") is None
    assert old.metric("cider_d") == 0.5  # what the record holds is read as it is
    assert SplitScores(num_clips=4, retrieval_chance={}, metrics={"fense": None}).metric("fense") is None
    assert SplitScores(num_clips=4, retrieval_chance={}).metric("cider_d") is None  # captions not scored


def test_the_result_table_shows_a_missing_metric_as_n_a(tmp_path: Path) -> None:
    """Columns: score, untrained, trained, chance. The untrained record has SPICE (0.25), the older
    trained one does not: its cell reads ``n/a``, not ``0.0000``; the metrics it has read 0.5000."""
    untrained = SplitScores(num_clips=4, retrieval_chance={"a2t_r1": 0.25},
                            metrics={key: 0.25 for key in METRIC_KEYS})
    result = RunResult(tmp_path, TrainConfig(), "h", scores=_old_record(), untrained_scores=untrained)
    rows = {line.split()[0]: line.split()[1:] for line in format_result(result).splitlines()[3:]
            if line.split() and line.split()[0] in METRIC_KEYS}
    assert set(rows) == set(METRIC_KEYS)
    assert rows["spice"] == ["0.2500", "n/a"]
    assert rows["cider_d"] == ["0.2500", "0.5000"] and rows["bleu_4"] == ["0.2500", "0.5000"]
