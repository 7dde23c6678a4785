"""The consensus caption: the training caption that scores best, as a constant, on the *other* training clips.

The constant-caption yardstick asks what a system earns without listening, by saying one typical
sentence for every clip. "The most frequent caption" does not define it when almost every caption is
unique (1 498 of the synthetic set's 1 500 training captions occur once; Clotho's are free-form), so the
choice would be a tie-break. The *consensus caption* is defined instead: among the training captions
(all of them, or ``max_candidates`` of them drawn with a seed), the one with the highest mean CIDEr-D
when it is given for every training clip whose references do not contain it. A candidate is never
scored against its own clip: there it would meet itself, an exact match that says nothing about how
typical it is and would favour whichever caption sits in a clip with few references. The caption is
chosen on the training split only and then scored on the test clips like any system.

Candidates are the distinct training captions *as written* (stripped of surrounding blanks), and the
chosen one is returned as written: that is the text submitted for scoring. Selection scores their
tokenised form, with the tokenizer the evaluation uses (PTB, :func:`~clipaac_lib.metrics.ptb.ptb_tokenize`)
applied to candidates and references alike, so the caption is chosen, submitted and scored as the same
text. A caption with no token left (only punctuation) is no candidate.

CIDEr-D here is pycocoevalcap's ``Cider`` (n-grams 1-4, clipped tf-idf, Gaussian length penalty with
sigma 6), with the document frequencies of the whole training set (one corpus evaluation over it),
computed for every candidate at once through an inverted index of the references' n-grams; the test
suite checks it against pycocoevalcap itself. Explained in ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ConsensusCaption", "Tokenize", "consensus_caption", "constant_cider_d", "ptb_tokens"]

_N = 4  # n-gram orders 1..4
_SIGMA = 6.0  # pycocoevalcap's length penalty width

#: ``tokenize(texts) -> one string of space-separated tokens per text``.
Tokenize = Callable[[list[str]], list[str]]


@dataclass(frozen=True)
class ConsensusCaption:
    """The chosen ``text`` (as written in the training captions, stripped), its mean CIDEr-D on the
    training clips that do not hold it (``train_cider_d``), and how many distinct ``candidates`` were
    scored out of the ``distinct`` training captions."""

    text: str
    train_cider_d: float
    candidates: int
    distinct: int


def ptb_tokens(texts: Sequence[str]) -> list[str]:
    """The PTB tokens of ``texts`` (one JVM), as the caption metrics tokenise: the default ``tokenize``."""
    from clipaac_lib.metrics import find_java, ptb_tokenize  # Java; imported only when tokenising for real

    return ptb_tokenize(list(texts), java=str(find_java()))


def _words(texts: Collection[str], tokenize: Tokenize | None) -> dict[str, list[str]]:
    """``{text: its tokens}`` for every distinct text, tokenised in one call."""
    unique = sorted(set(texts))
    tokens = (tokenize or ptb_tokens)(unique) if unique else []
    if len(tokens) != len(unique):
        raise ValueError(f"tokenize returned {len(tokens)} strings for {len(unique)} captions: one per caption")
    return {text: tok.split() for text, tok in zip(unique, tokens, strict=True)}


def _counts(words: Sequence[str]) -> Counter[tuple[str, ...]]:
    """Term frequencies of the 1- to 4-grams of ``words``."""
    return Counter(tuple(words[i:i + k]) for k in range(1, _N + 1) for i in range(len(words) - k + 1))


def _vector(counts: Counter[tuple[str, ...]], df: Counter[tuple[str, ...]], ref_len: float):
    """pycocoevalcap's tf-idf vector of one caption: {n-gram: weight}, the norm per order, and its
    "length" (pycocoevalcap counts the bigrams)."""
    vec = {g: tf * (ref_len - math.log(max(1.0, df[g]))) for g, tf in counts.items()}
    norm = np.zeros(_N)
    for g, w in vec.items():
        norm[len(g) - 1] += w * w
    length = sum(tf for g, tf in counts.items() if len(g) == 2)
    return vec, np.sqrt(norm), length


class _Corpus:
    """The tokenised training references, indexed for scoring one constant candidate against all of them."""

    def __init__(self, references: Sequence[Sequence[Sequence[str]]]) -> None:
        """``references``: per clip, the token list of each reference caption."""
        if not references or any(not clip for clip in references):
            raise ValueError("the consensus caption needs at least one reference caption for every clip")
        counts = [[_counts(words) for words in clip] for clip in references]
        self.df: Counter[tuple[str, ...]] = Counter(g for clip in counts for g in set().union(*clip))
        self.ref_len = math.log(float(len(references)))
        self.clip_of_ref = np.array([i for i, clip in enumerate(counts) for _ in clip])
        self.refs_per_clip = np.array([len(clip) for clip in counts], dtype=float)
        postings: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        norms, lengths = [], []
        for r, c in enumerate(c for clip in counts for c in clip):
            vec, norm, length = _vector(c, self.df, self.ref_len)
            norms.append(norm)
            lengths.append(length)
            for g, w in vec.items():
                ids, weights = postings.setdefault(g, ([], []))
                ids.append(r)
                weights.append(w)
        self.norm = np.array(norms).T  # (4, R)
        self.length = np.array(lengths, dtype=float)  # (R,)
        self.postings = {g: (np.array(i), np.array(w)) for g, (i, w) in postings.items()}

    def per_clip(self, words: Sequence[str]) -> np.ndarray:
        """CIDEr-D of the tokenised caption ``words`` against each clip's references (pycocoevalcap's
        per-clip scores of a corpus evaluation)."""
        vec, norm, length = _vector(_counts(words), self.df, self.ref_len)
        acc = np.zeros_like(self.norm)  # (4, R): clipped dot products per order and reference
        for g, w in vec.items():
            if g in self.postings:
                ids, weights = self.postings[g]
                acc[len(g) - 1, ids] += np.minimum(w, weights) * weights
        both = (norm[:, None] != 0) & (self.norm != 0)
        sims = np.where(both, acc / np.where(both, norm[:, None] * self.norm, 1.0), acc)
        sims *= np.exp(-((length - self.length) ** 2) / (2 * _SIGMA**2))
        per_ref = sims.mean(axis=0)  # (R,)
        return np.bincount(self.clip_of_ref, per_ref, minlength=len(self.refs_per_clip)) / self.refs_per_clip * 10.0

    def score(self, words: Sequence[str], skip: Collection[int] = ()) -> float:
        """Mean over the clips not in ``skip`` of CIDEr-D(``words``, the clip's references); NaN if none."""
        keep = np.ones(len(self.refs_per_clip), dtype=bool)
        keep[list(skip)] = False
        return float(self.per_clip(words)[keep].mean()) if keep.any() else math.nan


def constant_cider_d(caption: str, references: Sequence[Sequence[str]], *, tokenize: Tokenize | None = None) -> float:
    """CIDEr-D of ``caption`` given for every clip of ``references`` (one list of captions per clip), all
    tokenised by ``tokenize`` (default: PTB, :func:`ptb_tokens`)."""
    words = _words([caption, *(c for clip in references for c in clip)], tokenize)
    return _Corpus([[words[c] for c in clip] for clip in references]).score(words[caption])


def _clips_holding(train_references: Sequence[Sequence[str]]) -> dict[str, set[int]]:
    """``{caption as written (stripped): the clips whose references hold it}``; blank captions left out."""
    holding: dict[str, set[int]] = {}
    for i, clip in enumerate(train_references):
        for caption in clip:
            if caption.strip():
                holding.setdefault(caption.strip(), set()).add(i)
    return holding


def _draw(distinct: list[str], max_candidates: int | None, seed: int) -> list[str]:
    """``distinct``, or ``max_candidates`` of them drawn with ``numpy.random.default_rng(seed)`` (kept sorted)."""
    if max_candidates is None or len(distinct) <= max_candidates:
        return distinct
    picks = np.random.default_rng(seed).choice(len(distinct), size=max_candidates, replace=False)
    return [distinct[i] for i in sorted(picks)]


def consensus_caption(
    train_references: Sequence[Sequence[str]],
    *,
    max_candidates: int | None = None,
    seed: int = 0,
    tokenize: Tokenize | None = None,
) -> ConsensusCaption:
    """The training caption with the highest mean CIDEr-D as a constant on the training clips that do not
    hold it (module docstring).

    Candidates: every distinct training caption as written (stripped; blank ones, and ones with no token,
    dropped), or ``max_candidates`` of them drawn with ``numpy.random.default_rng(seed)`` when there are
    more. ``tokenize(texts) -> [space-separated tokens per text]`` is applied to candidates and references
    alike; default: the PTB tokenizer of the caption metrics (:func:`ptb_tokens`, needs Java). Ties go to
    the first candidate in sorted order. Raises ValueError when there is no candidate, or when every
    candidate is in every training clip (nothing to score it on).
    """
    holding = _clips_holding(train_references)
    words = _words([*holding, *(c for clip in train_references for c in clip)], tokenize)
    distinct = sorted(c for c in holding if words[c])
    if not distinct:
        raise ValueError("consensus_caption needs training captions; train_references holds none")
    candidates = _draw(distinct, max_candidates, seed)
    corpus = _Corpus([[words[c] for c in clip] for clip in train_references])
    scores = np.array([corpus.score(words[c], skip=holding[c]) for c in candidates])
    if np.isnan(scores).all():
        raise ValueError("no candidate can be scored: each is in every training clip, and a candidate is "
                         "never scored against a clip that holds it (give captions of at least 2 clips)")
    best = int(np.nanargmax(scores))  # first maximum: sorted order breaks ties
    return ConsensusCaption(candidates[best], float(scores[best]), len(candidates), len(distinct))
