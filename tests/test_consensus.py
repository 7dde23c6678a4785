"""The consensus caption (experiments/consensus.py) against pycocoevalcap's own CIDEr-D."""

from __future__ import annotations

import random

import pytest
from pycocoevalcap.cider.cider import Cider

from clipaac_lib.data.text import normalize_caption
from clipaac_lib.experiments.consensus import consensus_caption, constant_cider_d

WORDS = "a the dog cat barks meows loudly softly rain falls on roof wind blows car passes by".split()


def _corpus(seed: int, clips: int = 12, refs: int = 5) -> list[list[str]]:
    rng = random.Random(seed)
    return [[" ".join(rng.choices(WORDS, k=rng.randint(3, 9))) for _ in range(refs)] for _ in range(clips)]


def _pycoco(caption: str, references: list[list[str]]) -> float:
    gts = {i: [normalize_caption(r) for r in refs] for i, refs in enumerate(references)}
    res = {i: [normalize_caption(caption)] for i in range(len(references))}
    return float(Cider().compute_score(gts, res)[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constant_cider_d_equals_pycocoevalcap(seed):
    refs = _corpus(seed)
    for caption in [refs[0][0], refs[3][2], "a dog barks", "zebra", "a"]:
        assert constant_cider_d(caption, refs) == pytest.approx(_pycoco(caption, refs), rel=1e-9, abs=1e-12)


def test_consensus_is_the_best_candidate_by_pycocoevalcap():
    refs = _corpus(7)
    chosen = consensus_caption(refs)
    distinct = sorted({normalize_caption(c) for clip in refs for c in clip})
    best = max(distinct, key=lambda c: _pycoco(c, refs))
    assert chosen.text == best and chosen.candidates == chosen.distinct == len(distinct)
    assert chosen.train_cider_d == pytest.approx(_pycoco(best, refs))


def test_candidate_subset_is_seeded_and_counted():
    refs = _corpus(3, clips=20)
    a, b = consensus_caption(refs, max_candidates=10, seed=1), consensus_caption(refs, max_candidates=10, seed=1)
    assert a == b and a.candidates == 10 and a.distinct > 10
    assert consensus_caption(refs).train_cider_d >= a.train_cider_d  # the subset can only do worse


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="training captions"):
        consensus_caption([["...", "!"]])
    with pytest.raises(ValueError, match="every clip"):
        constant_cider_d("a dog", [["a dog"], []])
