"""SPIDEr-max: several candidates per clip (e.g. the beams of a beam search), the best one counted.

Labbé et al., "Is my automatic audio captioning system so bad? SPIDEr-max: a metric to consider
several caption candidates" (DCASE 2022 workshop), as aac-metrics 0.6.0 computes it
(``functional/spider_max.py`` / ``mult_cands.py``): every clip has the same number ``k`` of candidates;
the ``j``-th candidates of all clips are scored together (one corpus, so CIDEr-D's document frequencies
come from the whole test set, as for SPIDEr), for ``j = 1..k``, the ``k`` corpora in one
:func:`~clipaac_lib.metrics.evaluate_corpora` call (one SPICE run, not ``k``); then each
clip keeps its best per-clip SPIDEr and SPIDEr-max is the mean over clips
(:func:`~clipaac_lib.metrics.modern.max_over_candidates`). Needs SPICE, like SPIDEr.

Notebook: ``notebooks/04_metrics.ipynb``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from clipaac_lib.metrics.modern import max_over_candidates
from clipaac_lib.metrics.scoring import evaluate_corpora

__all__ = ["spider_max"]


def spider_max(
    mult_candidates: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    *,
    spice: bool | Literal["auto"] = "auto",
    java: str | os.PathLike[str] | None = None,
) -> float | None:
    """Mean over clips of the best SPIDEr among that clip's candidates. ``mult_candidates[i]``: the
    candidates of clip ``i`` (the same number for every clip). None when SPICE is skipped
    (``spice="auto"`` without Stanford CoreNLP warns, as :func:`evaluate_captions` does). The model-based
    metrics (FENSE, sentence-BERT) are not asked for (``modern=False``): no model is loaded or downloaded."""
    if isinstance(mult_candidates, str) or not mult_candidates:
        raise ValueError("mult_candidates must be a non-empty list with a list of candidates per clip")
    if any(isinstance(c, str) for c in mult_candidates):
        raise TypeError("mult_candidates[i] must be a list of candidates (wrap one caption as [caption])")
    counts = {len(c) for c in mult_candidates}
    if len(counts) != 1 or 0 in counts:
        raise ValueError(
            f"every clip needs the same number (>= 1) of candidates, got {sorted(counts)}: "
            "SPIDEr-max scores the j-th candidates of all clips together"
        )
    ranks = [([c[j] for c in mult_candidates], references) for j in range(counts.pop())]
    scored = evaluate_corpora(ranks, per_clip=True, spice=spice, java=java,
                              modern=False)  # SPIDEr needs no model-based metric
    if any(scores["spider"] is None for scores in scored):
        return None
    per_rank = [scores["per_clip"]["spider"] for scores in scored]
    return max_over_candidates([list(clip) for clip in zip(*per_rank, strict=True)])
