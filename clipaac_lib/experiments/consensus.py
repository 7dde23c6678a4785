"""The consensus caption: the training caption that scores best, as a constant, against the training set.

The constant-caption yardstick asks what a system earns without listening, by saying one typical
sentence for every clip. "The most frequent caption" does not define it when almost every caption is
unique (1 498 of the synthetic set's 1 500 training captions occur once; Clotho's are free-form), so the
choice would be a tie-break. The *consensus caption* is defined instead: among the training captions
(all of them, or ``max_candidates`` of them drawn with a seed), the one with the highest CIDEr-D
when it is given for every training clip and scored against that clip's references. It is chosen on
the training split only and then scored on the test clips like any system.

CIDEr-D here is pycocoevalcap's ``Cider`` (n-grams 1-4, clipped tf-idf, Gaussian length penalty with
sigma 6, document frequencies from the scored corpus), computed for every candidate at once through an
inverted index of the references' n-grams; the test suite checks it against pycocoevalcap itself.
Words are :func:`~clipaac_lib.data.text.split_words` (lower case, no punctuation), close to the PTB
tokenizer the evaluation uses. Explained in ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from clipaac_lib.data.text import normalize_caption

__all__ = ["ConsensusCaption", "consensus_caption", "constant_cider_d"]

_N = 4  # n-gram orders 1..4
_SIGMA = 6.0  # pycocoevalcap's length penalty width


@dataclass(frozen=True)
class ConsensusCaption:
    """The chosen ``text`` (normalised), its CIDEr-D on the training clips (``train_cider_d``), and how
    many distinct ``candidates`` were scored out of the ``distinct`` training captions."""

    text: str
    train_cider_d: float
    candidates: int
    distinct: int


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
    """The training references, indexed for scoring one constant candidate against all of them."""

    def __init__(self, references: Sequence[Sequence[str]]) -> None:
        refs = [[normalize_caption(c).split() for c in clip] for clip in references]
        if not refs or any(not clip for clip in refs):
            raise ValueError("the consensus caption needs at least one reference caption for every clip")
        counts = [[_counts(words) for words in clip] for clip in refs]
        self.df: Counter[tuple[str, ...]] = Counter(g for clip in counts for g in set().union(*clip))
        self.ref_len = math.log(float(len(refs)))
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

    def score(self, caption: str) -> float:
        """Mean over clips of CIDEr-D(caption, the clip's references)."""
        vec, norm, length = _vector(_counts(normalize_caption(caption).split()), self.df, self.ref_len)
        acc = np.zeros_like(self.norm)  # (4, R): clipped dot products per order and reference
        for g, w in vec.items():
            if g in self.postings:
                ids, weights = self.postings[g]
                acc[len(g) - 1, ids] += np.minimum(w, weights) * weights
        both = (norm[:, None] != 0) & (self.norm != 0)
        sims = np.where(both, acc / np.where(both, norm[:, None] * self.norm, 1.0), acc)
        sims *= np.exp(-((length - self.length) ** 2) / (2 * _SIGMA**2))
        per_ref = sims.mean(axis=0)  # (R,)
        per_clip = np.bincount(self.clip_of_ref, per_ref) / self.refs_per_clip * 10.0
        return float(per_clip.mean())


def constant_cider_d(caption: str, references: Sequence[Sequence[str]]) -> float:
    """CIDEr-D of ``caption`` given for every clip of ``references`` (one list of captions per clip)."""
    return _Corpus(references).score(caption)


def consensus_caption(
    train_references: Sequence[Sequence[str]], *, max_candidates: int | None = None, seed: int = 0
) -> ConsensusCaption:
    """The training caption with the highest CIDEr-D as a constant on the training clips.

    Candidates: every distinct normalised training caption, or ``max_candidates`` of them drawn with
    ``numpy.random.default_rng(seed)`` when there are more. Ties go to the first in sorted order.
    """
    distinct = sorted({normalize_caption(c) for clip in train_references for c in clip} - {""})
    if not distinct:
        raise ValueError("consensus_caption needs training captions; train_references holds none")
    candidates = distinct
    if max_candidates is not None and len(distinct) > max_candidates:
        picks = np.random.default_rng(seed).choice(len(distinct), size=max_candidates, replace=False)
        candidates = [distinct[i] for i in sorted(picks)]
    corpus = _Corpus(train_references)
    scores = [corpus.score(c) for c in candidates]
    best = int(np.argmax(scores))  # first maximum: sorted order breaks ties
    return ConsensusCaption(candidates[best], scores[best], len(candidates), len(distinct))
