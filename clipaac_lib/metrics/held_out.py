"""CIDEr-D on one footing: every caption scored against the same references, each one held out in turn.

A human caption can only be scored against the *other* references of its clip, so a human row scored
"caption 1 against captions 2-5" has one reference fewer than a model scored against all five, and a
score's value depends on how many references it meets. To set model, consensus caption, shuffled
captions and humans side by side, each is scored ``R`` times (``R`` references per clip): in round
``k`` reference ``k`` is held out of every clip's references; the human candidate of a clip is that
held-out caption, any other candidate stays what it is. The per-clip scores are the mean over the
rounds, so every row meets the same ``R - 1`` references per round.

CIDEr-D is pycocoevalcap's on PTB tokens (:func:`~clipaac_lib.metrics.ptb.ptb_tokenize`, one JVM for all
candidates and references); each round recomputes the document frequencies over its own references, as
a corpus evaluation does. Notebook: ``notebooks/06_ablations.ipynb`` (the yardsticks).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from clipaac_lib.metrics.java import find_java
from clipaac_lib.metrics.ptb import ptb_tokenize

__all__ = ["HUMAN", "CiderScores", "held_out_cider_d"]

#: The candidate name that means "the held-out reference itself" (the human row).
HUMAN = "human"


class CiderScores(NamedTuple):
    """Per-clip CIDEr-D of one candidate set: against all references (``all_refs``; NaN for the human
    row, which has no caption outside them) and on the held-out footing (``held_out``)."""

    all_refs: np.ndarray  # (clips,)
    held_out: np.ndarray  # (clips,)


def _reference_count(references: Sequence[Sequence[str]]) -> int:
    counts = {len(refs) for refs in references}
    if len(counts) != 1:
        raise ValueError(f"held-out scoring needs the same number of references for every clip; got counts "
                         f"{sorted(counts)}")
    count = counts.pop()
    if count < 2:
        raise ValueError(f"held-out scoring needs at least 2 references per clip, got {count}")
    return count


def _cider(gts: list[list[str]], hyps: list[str]) -> np.ndarray:
    from pycocoevalcap.cider.cider import Cider

    _, per_clip = Cider().compute_score(dict(enumerate(gts)), {i: [h] for i, h in enumerate(hyps)})
    return np.asarray(per_clip, dtype=float)


def _cider_rounds(cands: Mapping[str, list[str]], refs: list[list[str]], rounds: int) -> dict[str, CiderScores]:
    """Per-clip CIDEr-D of every tokenised candidate set: against all references, and averaged over the
    held-out rounds."""
    total = {name: np.zeros(len(refs)) for name in cands}
    for k in range(rounds):
        gts = [clip[:k] + clip[k + 1:] for clip in refs]
        for name, tokens in cands.items():
            total[name] += _cider(gts, [clip[k] for clip in refs] if name == HUMAN else tokens)
    nan = np.full(len(refs), np.nan)
    return {name: CiderScores(nan if name == HUMAN else _cider(refs, cands[name]), values / rounds)
            for name, values in total.items()}


def held_out_cider_d(candidates: Mapping[str, Sequence[str]], references: Sequence[Sequence[str]], *,
                     java: str | os.PathLike[str] | None = None) -> dict[str, CiderScores]:
    """``{name: per-clip CIDEr-D}`` of each candidate set: against all references and on the held-out
    footing (module docstring).

    ``candidates``: ``{name: one caption per clip}``; the name :data:`HUMAN` with an empty sequence asks
    for the human row (each held-out reference as the candidate). ``references``: the same number
    (at least 2) of captions for every clip. The corpus score of a set is the mean of its array.
    """
    n = len(references)
    rounds = _reference_count(references)
    for name, caps in candidates.items():
        if name != HUMAN and len(caps) != n:
            raise ValueError(f"candidate set {name!r} has {len(caps)} captions for {n} clips: one per clip")
    names = [name for name in candidates if name != HUMAN]
    flat = [c for name in names for c in candidates[name]] + [r for refs in references for r in refs]
    tokens = ptb_tokenize(flat, java=str(find_java(java)))
    cands = {name: tokens[i * n:(i + 1) * n] for i, name in enumerate(names)}
    ref_tokens = tokens[len(names) * n:]
    refs = [ref_tokens[i * rounds:(i + 1) * rounds] for i in range(n)]
    if HUMAN in candidates:
        cands[HUMAN] = []
    return _cider_rounds(cands, refs, rounds)
