"""A model's scores on one split, as a typed record (written to and read from ``eval-<tag>/scores.json``).

:class:`SplitScores` replaces the nested dict that travelled between evaluation, the run directory, the
report and the ablation grid: ``scores.metric("cider_d")`` instead of ``(scores.get("metrics") or
{}).get("cider_d")``. Its JSON form (:meth:`SplitScores.to_dict`) is the one the run directories have
always held, so finished runs are read as they are. Notebook: ``notebooks/05_train.ipynb``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from clipaac_lib.common import from_known_fields

__all__ = ["SplitScores"]


@dataclass(frozen=True, kw_only=True)
class SplitScores:
    """One model (``"trained"`` or ``"untrained"``) on one split.

    ``metrics``: the caption metrics (:data:`clipaac_lib.metrics.METRIC_KEYS` -> value, then SPIDEr-FL,
    FENSE, sentence-BERT similarity and vocabulary where computed; a value is None when its tool or model
    is missing), or None when captions were not scored; ``retrieval``: recall@1/5/10 both ways
    (``a2t_r1`` ... ``t2a_r10``) and text-to-audio mAP@10 (``t2a_map10``), None without a text head
    (alpha 0); ``retrieval_chance``: the same for a random ranking; ``caption_nll``: the teacher-forced
    caption loss per token. The
    rest says what was scored: ``split``, ``decode`` (the decoding settings), ``config`` and
    ``run_hash`` of the run, ``split_digest`` of the split's files.
    """

    num_clips: int
    retrieval: dict[str, float] | None = None
    retrieval_chance: dict[str, float]
    metrics: dict[str, float | None] | None = None
    caption_nll: float | None = None
    model: str = "trained"
    split: str = "test"
    decode: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    run_hash: str = ""
    #: :func:`~clipaac_lib.train.dataroot.digest_of_test_split` of the split scored ("" in records written
    #: before it existed); a saved evaluation whose digest differs from the split on disk is scored again
    split_digest: str = ""

    def metric(self, key: str) -> float | None:
        """A caption metric (``"cider_d"``, ``"bleu_4"``, ...), or None when it was not computed."""
        return None if self.metrics is None else self.metrics.get(key)

    def recall(self, key: str) -> float | None:
        """A retrieval recall (``"a2t_r1"``, ...), or None without a text head."""
        return None if self.retrieval is None else self.retrieval.get(key)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to ``scores.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitScores:
        """Read :meth:`to_dict`'s output; unknown keys raise ``ValueError`` naming them."""
        return from_known_fields(cls, data, hint=" (in a scores.json)")
