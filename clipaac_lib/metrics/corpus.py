"""Scoring one clip inside a corpus: its per-clip scores when evaluated together with other clips.

Corpus-level metrics (CIDEr-D's IDF weights come from the references of every evaluated clip) give the
same caption different scores in different corpora; :func:`score_in_corpus` makes that visible.
Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

from collections.abc import Sequence

from clipaac_lib.metrics.scoring import evaluate_corpora

__all__ = ["score_each_in_corpus", "score_in_corpus"]

#: A clip to score and the corpus it is scored in: (candidate, its references, [(candidate, references)]).
ClipInCorpus = tuple[str, Sequence[str], Sequence[tuple[str, Sequence[str]]]]


def score_in_corpus(candidate: str, references: Sequence[str],
                    corpus: Sequence[tuple[str, Sequence[str]]] = (), *,
                    spice: bool = False) -> dict[str, float]:
    """Per-clip scores ``{metric: float}`` of the clip (``candidate``, ``references``) when it is
    evaluated in one :func:`evaluate_captions` call together with the ``corpus`` clips, each a
    ``(candidate, references)`` pair. Keys: BLEU-1..4, METEOR, ROUGE-L and CIDEr-D, plus SPICE and
    SPIDEr with ``spice=True``. Needs Java, like :func:`evaluate_captions`.

    Notebook: ``notebooks/04_metrics.ipynb``.
    """
    return score_each_in_corpus([(candidate, references, corpus)], spice=spice)[0]


def score_each_in_corpus(clips: Sequence[ClipInCorpus], *, spice: bool = False) -> list[dict[str, float]]:
    """:func:`score_in_corpus` of each ``(candidate, references, corpus)``, in order, with one JVM per
    tool for all of them (:func:`~clipaac_lib.metrics.evaluate_corpora`): each clip is still scored in
    its own corpus. Notebook: ``notebooks/04_metrics.ipynb``."""
    corpora = [([candidate] + [cand for cand, _ in corpus], [list(references)] + [list(refs) for _, refs in corpus])
               for candidate, references, corpus in clips]
    scored = evaluate_corpora(corpora, per_clip=True, spice=spice, modern=False)
    return [{metric: values[0] for metric, values in scores["per_clip"].items()} for scores in scored]
