"""Held-out CIDEr-D (``clipaac_lib.metrics.held_out``) against ``evaluate_captions`` called once per round:
reference ``k`` left out of every clip, the mean over the rounds, and the human row as reference ``k``
scored against the others."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from clipaac_lib.metrics import HUMAN, evaluate_captions, held_out_cider_d

# four clips of three references each; words shared across clips, so the document frequencies matter
REFERENCES = [
    ["a dog barks at a passing car", "a dog is barking loudly", "a small dog barks near the road"],
    ["rain falls on a metal roof", "heavy rain is falling on a roof", "water drips onto a metal surface"],
    ["a man speaks while a car passes", "a man is talking near the road", "someone talks as traffic goes by"],
    ["birds sing in the morning", "many birds are chirping", "birds chirp while wind blows"],
]
MODEL = ["a dog barks near a car", "rain is falling on a roof", "a man is talking", "a dog is barking"]
OTHER = ["a car passes by", "birds chirp", "a man speaks loudly", "wind blows in the trees"]


def cider(candidates: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
    """Per-clip CIDEr-D of the paper's scorer (pycocoevalcap after PTB tokenisation)."""
    scores = evaluate_captions(list(candidates), [list(r) for r in references], per_clip=True, spice=False,
                               modern=False)
    return np.asarray(scores["per_clip"]["cider_d"], dtype=float)


def held_out_by_rounds(candidates: Sequence[str] | None, references: Sequence[Sequence[str]]) -> np.ndarray:
    """The mean over k of ``candidates`` (None: reference k itself) scored against the references
    without k."""
    rounds = len(references[0])
    total = np.zeros(len(references))
    for k in range(rounds):
        without_k = [refs[:k] + refs[k + 1:] for refs in references]
        cands = [refs[k] for refs in references] if candidates is None else candidates
        total += cider(cands, without_k)
    return total / rounds


@pytest.fixture(scope="module")
def scores():
    return held_out_cider_d({"model": MODEL, HUMAN: [], "other": OTHER}, REFERENCES)


def test_held_out_is_the_mean_over_rounds_of_evaluate_captions(scores):
    assert set(scores) == {"model", HUMAN, "other"}
    for name, captions in (("model", MODEL), ("other", OTHER)):
        expected = held_out_by_rounds(captions, REFERENCES)
        np.testing.assert_allclose(scores[name].held_out, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(scores[name].all_refs, cider(captions, REFERENCES), rtol=1e-9, atol=1e-12)
    # the two footings differ here: a test that used all references for both could not pass
    assert not np.allclose(scores["model"].held_out, scores["model"].all_refs)
    assert scores["model"].held_out.shape == (len(REFERENCES),)


def test_the_human_row_scores_each_reference_against_the_others(scores):
    expected = held_out_by_rounds(None, REFERENCES)
    np.testing.assert_allclose(scores[HUMAN].held_out, expected, rtol=1e-9, atol=1e-12)
    assert np.all(expected > 0)  # the references share words: a non-trivial human score
    assert np.isnan(scores[HUMAN].all_refs).all() and scores[HUMAN].all_refs.shape == (len(REFERENCES),)


def test_candidate_sets_do_not_change_each_others_scores(scores):
    alone = held_out_cider_d({"model": MODEL}, REFERENCES)["model"]
    np.testing.assert_allclose(alone.held_out, scores["model"].held_out, rtol=1e-12)
    np.testing.assert_allclose(alone.all_refs, scores["model"].all_refs, rtol=1e-12)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"same number of references.*\[2, 3\]"):
        held_out_cider_d({"model": MODEL[:2]}, [REFERENCES[0], REFERENCES[1][:2]])
    with pytest.raises(ValueError, match="at least 2 references per clip, got 1"):
        held_out_cider_d({"model": MODEL[:2]}, [REFERENCES[0][:1], REFERENCES[1][:1]])
    with pytest.raises(ValueError, match="'model' has 3 captions for 4 clips"):
        held_out_cider_d({"model": MODEL[:3]}, REFERENCES)
    with pytest.raises(ValueError, match="'other' has 5 captions for 4 clips"):
        held_out_cider_d({HUMAN: [], "other": [*OTHER, "one too many"]}, REFERENCES)
