"""The caption-scarcity sweep's comparisons: per training-set size, the paired differences between Table
1's systems (issue 31: 2-1, 4-1, 4-2 and 4-3), each with its 95 % interval and label, from the sweep's
records (:func:`~clipaac_lib.experiments.sweep.run_sweep`).

Notebook: ``notebooks/06_ablations.ipynb`` (the same paired differences for the grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from clipaac_lib.experiments.findings import paper_score
from clipaac_lib.experiments.grid import Grid
from clipaac_lib.experiments.intervals import paired_difference
from clipaac_lib.experiments.paired import system_scores
from clipaac_lib.experiments.scarcity import SIZES, cell_tag

__all__ = ["SWEEP_PAIRS", "sweep_differences"]

#: The comparisons of the sweep (issue 31): pretraining the audio head (2-1), the whole chain (4-1),
#: adding the text head (4-2) and fine-tuning against freezing (4-3).
SWEEP_PAIRS: tuple[tuple[int, int], ...] = ((2, 1), (4, 1), (4, 2), (4, 3))


def sweep_differences(grid: Grid, sizes: Sequence[int] = SIZES, *, doubled: Sequence[int] = (),
                      pairs: Sequence[tuple[int, int]] = SWEEP_PAIRS, metric: str = "cider_d") -> pd.DataFrame:
    """One row per (size, pair): ``clips``, ``comparison`` ("4 - 1"), the paired ``seeds``, our ``mean``
    difference of ``metric`` with its 95 % ``low``-``high`` interval, the paper's difference (CIDEr-D,
    Table 1) and the ``label`` against the paper's sign; NaN and "no records" where fewer than two paired
    seeds are there. ``doubled``: the sizes whose epochs the pilot rule doubled (their records' tag)."""
    rows: list[dict[str, Any]] = []
    for clips in sizes:
        tag = cell_tag(clips, doubled)
        for a, b in pairs:
            scores_a, scores_b = system_scores(grid, a, tag, metric), system_scores(grid, b, tag, metric)
            paper = paper_score(a, "cider_d") - paper_score(b, "cider_d")
            row: dict[str, Any] = {"clips": clips, "comparison": f"{a} - {b}",
                                   "seeds": len(set(scores_a) & set(scores_b)), "mean": math.nan,
                                   "low": math.nan, "high": math.nan, "paper": paper, "label": "no records"}
            if row["seeds"] >= 2:
                diff = paired_difference(scores_a, scores_b)
                row.update(mean=diff.mean, low=diff.low, high=diff.high, label=diff.label(paper))
            rows.append(row)
    return pd.DataFrame(rows)
