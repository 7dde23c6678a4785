"""The grid's yardsticks on one footing: consensus caption, shuffled captions and humans, held out in turn.

Notebook 6 reads every system against the same three reference points, computed here on the test clips
of the grid's records, with CIDEr-D on the held-out footing (:func:`~clipaac_lib.metrics.held_out_cider_d`:
each of a clip's references held out in turn, every row scored against the other ones, the human row's
candidate being the held-out caption), so that model, consensus, shuffled and human rows meet the same
references. The model rows are the records' own ``cider_d_held_out``. The consensus-to-human gap they
give is the scale on which notebook 6 compares our effects with the paper's.

Notebook: ``notebooks/06_ablations.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from clipaac_lib.experiments.baselines import shuffled
from clipaac_lib.experiments.consensus import consensus_caption
from clipaac_lib.experiments.records import RunRecord
from clipaac_lib.metrics import HUMAN, held_out_cider_d

__all__ = ["Yardsticks", "held_out_yardsticks"]


@dataclass(frozen=True)
class Yardsticks:
    """Corpus CIDEr-D on the held-out footing: ``consensus`` (the caption ``consensus_text``), ``shuffled``
    (the reference run's captions moved to other clips, mean over ``derangements``), ``human``; and the
    ``clips`` and ``references`` per clip they were scored on."""

    consensus: float
    shuffled: float
    human: float
    consensus_text: str
    derangements: int
    clips: int
    references: int

    @property
    def gap(self) -> float:
        """The consensus-to-human gap: the scale of a gap share."""
        return self.human - self.consensus

    def share(self, score: float) -> float:
        """The share of the gap that ``score`` (held-out CIDEr-D) closes."""
        return (score - self.consensus) / self.gap


def held_out_yardsticks(reference: RunRecord, test: dict[str, list[str]], train_references: Sequence[Sequence[str]],
                        *, derangements: int = 5, seed: int = 0,
                        tokenize: Callable[[list[str]], list[str]] | None = None) -> Yardsticks:
    """The yardsticks on the clips of ``reference`` (a record of the reference system), whose captions
    are shuffled; ``test``: ``{file_name: references}``
    (:func:`~clipaac_lib.experiments.baselines.split_clips`); ``train_references``: the
    captions of each training clip, for the consensus caption (``tokenize``: its tokenizer, default PTB)."""
    names = [clip["file_name"] for clip in reference.clips]
    missing = [n for n in names if n not in test]
    if missing:
        raise ValueError(f"{reference.name} scores {missing[0]}, which the test split on disk does not hold: "
                         "the records were made on another test split")
    refs = [test[n] for n in names]
    captions = [clip["caption"] for clip in reference.clips]
    consensus = consensus_caption(train_references, tokenize=tokenize).text
    candidates = {"consensus": [consensus] * len(names), HUMAN: [],
                  **{f"shuffled {k}": shuffled(captions, seed + k) for k in range(derangements)}}
    scores = held_out_cider_d(candidates, refs)
    moved = np.mean([scores[f"shuffled {k}"].held_out.mean() for k in range(derangements)])
    return Yardsticks(consensus=float(scores["consensus"].held_out.mean()), shuffled=float(moved),
                      human=float(scores[HUMAN].held_out.mean()), consensus_text=consensus,
                      derangements=derangements, clips=len(names), references=len(refs[0]))
