"""``evaluate_corpora``: several corpora scored with one JVM per tool give what one ``evaluate_captions``
call per corpus gives (itself checked against pycocoevalcap in tests/test_metrics.py)."""

from __future__ import annotations

import math

import pytest

from clipaac_lib.metrics import METRIC_KEYS, evaluate_captions, evaluate_corpora

# three corpora of different sizes sharing words: the CIDEr-D document frequencies differ per corpus,
# so a corpus scored against another's references would change its numbers
CORPORA = [
    (["a dog barks", "rain falls hard", "a car passes"],
     [["a dog barks loudly", "a dog is barking"], ["rain", "rain falls hard on a roof"],
      ["a car drives by", "traffic passes"]]),
    (["birds sing", "a dog barks"],
     [["birds chirp in the trees", "a bird sings"], ["a dog barks at a car", "dogs bark"]]),
    (["rain falls", "a dog", "birds", "a car drives by"],
     [["rain falls on a tin roof"], ["a dog barks loudly", "a dog"], ["birds sing", "birds chirp"],
      ["a car drives by on a wet road", "a car passes"]]),
]


def test_each_corpus_scores_as_it_would_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.metrics import scoring

    alone = [evaluate_captions(c, r, per_clip=True, spice=False, modern=False) for c, r in CORPORA]
    starts = {"ptb": 0, "meteor": 0}
    tokenize, meteor = scoring.ptb_tokenize, scoring.MeteorScorer

    def counted_tokenize(*args, **kwargs):
        starts["ptb"] += 1
        return tokenize(*args, **kwargs)

    def counted_meteor(*args, **kwargs):
        starts["meteor"] += 1
        return meteor(*args, **kwargs)

    monkeypatch.setattr(scoring, "ptb_tokenize", counted_tokenize)
    monkeypatch.setattr(scoring, "MeteorScorer", counted_meteor)
    together = evaluate_corpora(CORPORA, per_clip=True, spice=False, modern=False)
    assert starts == {"ptb": 1, "meteor": 1}  # one JVM per tool for the three corpora
    assert together == alone  # every corpus and per-clip score, exactly
    assert [len(s["per_clip"]["cider_d"]) for s in together] == [3, 2, 4]
    assert len({s["cider_d"] for s in together}) == 3


class _SpiceByLength:
    """Stands in for SpiceProcess: clip i's F-score is its candidate's length / 100, NaN for "birds"."""

    started: list[int] = []

    def __init__(self, candidates, references, *, java, cache_dir=None, config=None) -> None:
        assert len(candidates) == len(references)
        self.candidates = list(candidates)
        _SpiceByLength.started.append(len(candidates))

    def result(self) -> tuple[float, list[float]]:
        per_clip = [math.nan if c == "birds" else len(c) / 100 for c in self.candidates]
        return float("inf"), per_clip  # the run's own mean is never used for a corpus

    def kill(self) -> None:
        raise AssertionError("SPICE killed after a successful run")


def test_one_spice_run_is_split_into_each_corpus_s_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.metrics import scoring

    _SpiceByLength.started = []
    monkeypatch.setattr(scoring, "spice_available", lambda cache_dir=None: True)
    monkeypatch.setattr(scoring, "SpiceProcess", _SpiceByLength)
    scores = evaluate_corpora(CORPORA[:2], per_clip=True, spice=True, modern=False)
    assert _SpiceByLength.started == [5]  # one run over the 3 + 2 clips
    # by hand, on PTB tokens (lower case, no change here): corpus 0 "a dog barks" 11, "rain falls hard" 15,
    # "a car passes" 12 characters; corpus 1 "birds sing" 10, "a dog barks" 11
    assert scores[0]["per_clip"]["spice"] == pytest.approx([0.11, 0.15, 0.12])
    assert scores[0]["spice"] == pytest.approx((0.11 + 0.15 + 0.12) / 3)
    assert scores[1]["spice"] == pytest.approx((0.10 + 0.11) / 2)
    assert scores[1]["spider"] == pytest.approx((scores[1]["cider_d"] + scores[1]["spice"]) / 2)
    third = evaluate_corpora(CORPORA[2:], spice=True, per_clip=True, modern=False)[0]
    assert math.isnan(third["spice"]) and math.isnan(third["spider"])  # "birds" is NaN: so is the mean
    spider = third.pop("per_clip")["spider"]
    assert math.isnan(spider[2]) and not any(math.isnan(v) for i, v in enumerate(spider) if i != 2)
    assert list(third) == list(METRIC_KEYS)


def test_a_malformed_corpus_is_named_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from clipaac_lib.metrics import scoring

    def no_java(*args, **kwargs):
        raise AssertionError("Java started for a malformed input")

    monkeypatch.setattr(scoring, "ptb_tokenize", no_java)
    bad = (["one caption"], [["a"], ["b"]])
    with pytest.raises(ValueError, match=r"^corpus 1: 1 candidates but 2 reference lists"):
        evaluate_corpora([CORPORA[0], bad], modern=False)
    with pytest.raises(TypeError, match=r"^corpus 2: references\[0\] is str"):
        evaluate_corpora([CORPORA[0], CORPORA[1], (["x"], ["not a list"])], modern=False)
    with pytest.raises(ValueError, match="no corpora to evaluate"):
        evaluate_corpora([], modern=False)
