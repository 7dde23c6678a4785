"""The consensus caption (experiments/consensus.py) against pycocoevalcap's own CIDEr-D.

The references here are pycocoevalcap's ``Cider`` (its per-clip scores of a corpus evaluation over the
training clips) and, for the default tokenizer, pycocoevalcap's own ``PTBTokenizer``; a candidate's
expected score is the mean of those per-clip scores over the clips whose references do not hold it.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from pycocoevalcap.cider.cider import Cider

from clipaac_lib.experiments.consensus import consensus_caption, constant_cider_d

WORDS = "a the dog cat barks meows loudly softly rain falls on roof wind blows car passes by".split()


def _simple(texts: Sequence[str]) -> list[str]:
    """A tokenizer that needs no Java: lower case, words of letters only."""
    return [" ".join(re.findall(r"[a-z]+", t.lower())) for t in texts]


def _ptb_pycoco(texts: Sequence[str]) -> list[str]:
    """pycocoevalcap's own PTBTokenizer (a reference independent of clipaac_lib.metrics.ptb)."""
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    out = PTBTokenizer().tokenize({i: [{"caption": t}] for i, t in enumerate(texts)})
    return [out[i][0] for i in range(len(texts))]


def _corpus(seed: int, clips: int = 12, refs: int = 5) -> list[list[str]]:
    """Random captions; about a third written as a sentence ("Dog barks loudly."), so that captions as
    written and their tokens differ."""
    rng = random.Random(seed)
    out = []
    for _ in range(clips):
        clip = []
        for _ in range(refs):
            caption = " ".join(rng.choices(WORDS, k=rng.randint(3, 9)))
            clip.append(caption.capitalize() + "." if rng.random() < 0.3 else caption)
        out.append(clip)
    return out


def _pycoco_per_clip(caption: str, references: list[list[str]], tokenize: Callable = _simple) -> np.ndarray:
    """pycocoevalcap's per-clip CIDEr-D of ``caption`` given for every clip."""
    gts = {i: tokenize(refs) for i, refs in enumerate(references)}
    res = {i: tokenize([caption]) for i in range(len(references))}
    return np.asarray(Cider().compute_score(gts, res)[1], dtype=float)


def _pycoco(caption: str, references: list[list[str]]) -> float:
    return float(_pycoco_per_clip(caption, references).mean())


def _held_out(caption: str, references: list[list[str]], tokenize: Callable = _simple) -> float:
    """pycocoevalcap's CIDEr-D of ``caption``, averaged over the clips whose references do not hold it."""
    per_clip = _pycoco_per_clip(caption, references, tokenize)
    others = [i for i, refs in enumerate(references) if caption not in [r.strip() for r in refs]]
    return float(per_clip[others].mean())


def _as_written(references: list[list[str]]) -> list[str]:
    return sorted({c.strip() for refs in references for c in refs} - {""})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constant_cider_d_equals_pycocoevalcap(seed):
    refs = _corpus(seed)
    for caption in [refs[0][0], refs[3][2], "a dog barks", "A dog barks.", "zebra", "a"]:
        got = constant_cider_d(caption, refs, tokenize=_simple)
        assert got == pytest.approx(_pycoco(caption, refs), rel=1e-9, abs=1e-12)


def test_consensus_is_the_best_candidate_by_pycocoevalcap_never_on_its_own_clip():
    refs = _corpus(8)
    refs[5][1] = refs[2][3]  # one caption in two clips: scored on neither
    chosen = consensus_caption(refs, tokenize=_simple)
    candidates = _as_written(refs)
    best = max(candidates, key=lambda c: _held_out(c, refs))  # max keeps the first of equals: sorted order
    assert chosen.text == best and chosen.candidates == chosen.distinct == len(candidates)
    assert chosen.train_cider_d == pytest.approx(_held_out(best, refs), rel=1e-9)
    # the corpus tells the two rules apart: against every clip, its own included, another caption wins
    assert max(candidates, key=lambda c: _pycoco(c, refs)) != best


def test_own_clip_does_not_count():
    # "a whistle blows twice" is its clip's only reference: scored on its own clip too it would meet
    # itself (CIDEr-D 10 there) and win with 2.53; on the other clips it shares only "a" and scores
    # 0.04, and "a dog barks", scored on clips 0, 2 and 3, wins (0.43 by pycocoevalcap)
    train = [["a whistle blows twice"], ["a dog barks", "rain falls", "wind blows"],
             ["a dog barks loudly", "a car passes", "water drips"], ["the dog barks", "birds sing", "a bell rings"]]
    assert max(_as_written(train), key=lambda c: _pycoco(c, train)) == "a whistle blows twice"
    chosen = consensus_caption(train, tokenize=_simple)
    assert chosen.text == "a dog barks"
    assert chosen.train_cider_d == pytest.approx(_held_out("a dog barks", train), rel=1e-9)
    assert chosen.train_cider_d == pytest.approx(0.4299, abs=1e-4)


def test_the_caption_is_returned_as_written():
    train = [["  A dog barks.  ", "Rain falls."], ["The dog barks!", "Wind blows."],
             ["A dog barks loudly.", "Birds sing."]]
    chosen = consensus_caption(train, tokenize=_simple)
    best = max(_as_written(train), key=lambda c: _held_out(c, train))
    assert chosen.text == best and chosen.text in {"A dog barks.", "The dog barks!", "A dog barks loudly."}
    assert chosen.text[0].isupper() and not chosen.text[-1].isalpha()  # not normalised: as written


def test_default_tokenizer_is_the_metrics_ptb():
    """Without ``tokenize`` the captions go through the PTB tokenizer (Java): expected values from
    pycocoevalcap's PTBTokenizer and Cider. PTB keeps "high-pitched" whole and splits "dog's" into
    "dog 's"; a normalisation (``dogs``, ``high pitched``) would give other scores."""
    train = [
        ["A dog's high-pitched bark.", "Rain falls on a tin roof."],
        ["a dog's high-pitched bark and rain", "Wind blows, leaves rustle."],
        ["A dog barks; rain falls.", "Birds sing in the morning."],
        ["The dog's bark is high-pitched.", "A car passes by."],
    ]
    texts = sorted({c for refs in train for c in refs} | set(_as_written(train)))
    ptb = dict(zip(texts, _ptb_pycoco(texts), strict=True))  # one JVM
    assert ptb["A dog's high-pitched bark."] == "a dog 's high-pitched bark"

    def tokens(captions: Sequence[str]) -> list[str]:
        return [ptb[c] for c in captions]

    chosen = consensus_caption(train)
    expected = {c: _held_out(c, train, tokens) for c in _as_written(train)}
    best = max(expected, key=expected.__getitem__)
    assert chosen.text == best
    assert chosen.train_cider_d == pytest.approx(expected[best], rel=1e-9)
    assert constant_cider_d(best, train) == pytest.approx(float(_pycoco_per_clip(best, train, tokens).mean()),
                                                          rel=1e-9)


def test_candidate_subset_is_seeded_and_counted():
    refs = _corpus(3, clips=20)
    a = consensus_caption(refs, max_candidates=10, seed=1, tokenize=_simple)
    b = consensus_caption(refs, max_candidates=10, seed=1, tokenize=_simple)
    assert a == b and a.candidates == 10 and a.distinct > 10
    assert consensus_caption(refs, tokenize=_simple).train_cider_d >= a.train_cider_d  # a subset does no better


def test_a_training_set_of_clotho_size_takes_seconds():
    """300 clips x 5 captions (the synthetic training split's size): the inverted index scores all 1 500
    candidates in about 2 s; one pycocoevalcap evaluation per candidate would take minutes."""
    refs = _corpus(11, clips=300)
    start = time.perf_counter()
    chosen = consensus_caption(refs, tokenize=_simple)
    assert chosen.candidates > 1400
    assert time.perf_counter() - start < 30


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="training captions"):
        consensus_caption([["...", "!"], ["  "]], tokenize=_simple)  # no caption has a token
    with pytest.raises(ValueError, match="every training clip"):
        consensus_caption([["a dog barks", "rain"]], tokenize=_simple)  # one clip: nothing to score on
    with pytest.raises(ValueError, match="every clip"):
        constant_cider_d("a dog", [["a dog"], []], tokenize=_simple)
    with pytest.raises(ValueError, match="one per caption"):
        consensus_caption([["a dog"], ["a cat"]], tokenize=lambda texts: ["a"])
