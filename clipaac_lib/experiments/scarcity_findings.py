"""The caption-scarcity sweep's comparisons (issue 31), from its records
(:func:`~clipaac_lib.experiments.sweep.run_sweep`):

- :func:`cell_levels`: each system's mean score per training-set size (and with the tenfold corpus),
  with a 95 % interval over seeds and test clips;
- :func:`sweep_differences`: per size, the paired differences between Table 1's systems (2-1, 4-1, 4-2
  and 4-3), each with its interval and its label against the paper's sign;
- :func:`tenfold_differences`: per size, a system with the tenfold pretraining corpus minus the same
  system with the default one;
- :func:`describe_sweep`: what those say, in sentences computed from the tables.

Every interval is :func:`~clipaac_lib.experiments.intervals.paired_difference`'s (seeds' and clips'
noise, each counted once; its coverage is simulated in ``tests/test_intervals.py``); a level is the
difference from a system scoring 0 on every clip. Notebook: ``notebooks/08_scarcity.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from clipaac_lib.experiments.findings import paper_score
from clipaac_lib.experiments.grid import Grid
from clipaac_lib.experiments.intervals import PairedDifference, paired_difference
from clipaac_lib.experiments.paired import system_scores
from clipaac_lib.experiments.scarcity import SIZES, TENFOLD_SIZES, cell_tag, tenfold_tag

__all__ = ["SWEEP_COLUMNS", "SWEEP_PAIRS", "SWEEP_SYSTEMS", "cell_levels", "describe_sweep", "sweep_differences",
           "tenfold_differences"]

#: The comparisons of the sweep (issue 31): pretraining the audio head (2-1), the whole chain (4-1),
#: adding the text head (4-2) and fine-tuning against freezing (4-3).
SWEEP_PAIRS: tuple[tuple[int, int], ...] = ((2, 1), (4, 1), (4, 2), (4, 3))
#: The systems of the sweep (Table 1) and those that also get the tenfold corpus.
SWEEP_SYSTEMS: tuple[int, ...] = (1, 2, 3, 4)
TENFOLD_SYSTEMS: tuple[int, ...] = (2, 4)
#: Words for the columns of :func:`sweep_differences` and :func:`tenfold_differences` on a page.
SWEEP_COLUMNS = {"clips": "training clips", "seeds": "paired seeds", "mean": "difference",
                 "low": "95 % interval, low", "high": "95 % interval, high", "paper": "the paper (Clotho)",
                 "label": "verdict"}
_EMPTY = {"seeds": 0, "mean": math.nan, "low": math.nan, "high": math.nan}


def _interval(a: Mapping[int, Mapping[str, float]], b: Mapping[int, Mapping[str, float]]) -> PairedDifference | None:
    """``a - b`` over the seeds both have, or None with fewer than two (no interval without a seed spread)."""
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return None
    return paired_difference({s: a[s] for s in seeds}, {s: b[s] for s in seeds})


def _stats(diff: PairedDifference | None, seeds: int) -> dict[str, Any]:
    if diff is None:
        return {**_EMPTY, "seeds": seeds}
    return {"seeds": diff.seeds, "mean": diff.mean, "low": diff.low, "high": diff.high}


def cell_levels(grid: Grid, sizes: Sequence[int] = SIZES, *, doubled: Sequence[int] = (),
                systems: Sequence[int] = SWEEP_SYSTEMS, metric: str = "cider_d") -> pd.DataFrame:
    """One row per (``system``, ``clips``, ``corpus``: "default" or "tenfold"): the paired ``seeds``, the
    ``mean`` of ``metric`` over seeds and test clips and its 95 % ``low``-``high`` interval (NaN with
    fewer than two seeds; the mean alone with one). ``doubled``: the sizes whose epochs the pilot rule
    doubled (their records' tag)."""
    rows: list[dict[str, Any]] = []
    cells = [(s, c, "default", cell_tag(c, doubled)) for c in sizes for s in systems]
    cells += [(s, c, "tenfold", tenfold_tag(c)) for c in sizes if c in TENFOLD_SIZES
              for s in systems if s in TENFOLD_SYSTEMS]
    for system, clips, corpus, tag in cells:
        scores = system_scores(grid, system, tag, metric)
        zero = {seed: dict.fromkeys(per_clip, 0.0) for seed, per_clip in scores.items()}
        row = {"system": system, "clips": clips, "corpus": corpus, **_stats(_interval(scores, zero), len(scores))}
        if len(scores) == 1:
            (only,) = scores.values()
            row["mean"] = sum(only.values()) / len(only)
        rows.append(row)
    return pd.DataFrame(rows)


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
            diff = _interval(scores_a, scores_b)
            rows.append({"clips": clips, "comparison": f"{a} - {b}",
                         **_stats(diff, len(set(scores_a) & set(scores_b))), "paper": paper,
                         "label": "no records" if diff is None else diff.label(paper)})
    return pd.DataFrame(rows)


def tenfold_differences(grid: Grid, sizes: Sequence[int] = TENFOLD_SIZES, *, doubled: Sequence[int] = (),
                        systems: Sequence[int] = TENFOLD_SYSTEMS, metric: str = "cider_d") -> pd.DataFrame:
    """One row per (size, system): the system pretrained on the tenfold corpus minus the same system on
    the default corpus, paired by seed: ``clips``, ``system``, ``seeds``, ``mean``, ``low``, ``high`` and
    ``label`` ("helps" when the interval lies above 0, "hurts" below, "undecided" across it, "no
    records" with fewer than two paired seeds)."""
    rows: list[dict[str, Any]] = []
    for clips in sizes:
        for system in systems:
            bigger = system_scores(grid, system, tenfold_tag(clips), metric)
            default = system_scores(grid, system, cell_tag(clips, doubled), metric)
            diff = _interval(bigger, default)
            label = "no records" if diff is None else {"reproduced": "helps", "contradicted": "hurts"}.get(
                diff.label(+1.0), "undecided")
            rows.append({"clips": clips, "system": system, **_stats(diff, len(set(bigger) & set(default))),
                         "label": label})
    return pd.DataFrame(rows)


def _sizes(values: Sequence[int]) -> str:
    names = [str(v) for v in values]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def describe_sweep(differences: pd.DataFrame, tenfold: pd.DataFrame | None = None) -> list[str]:
    """One sentence per comparison of :func:`sweep_differences` (and per system of
    :func:`tenfold_differences`): at which training-set sizes it is reproduced, contradicted, undecided
    or still without records, with the paper's difference beside it."""
    lines = []
    for comparison, rows in differences.groupby("comparison", sort=False):
        parts = [f"{label} at {_sizes(list(part['clips']))} clips"
                 for label, part in rows.groupby("label", sort=False)]
        paper = float(rows["paper"].iloc[0])
        lines.append(f"{comparison}: " + "; ".join(parts) + f" (the paper, on Clotho: {paper:+.3f} CIDEr-D).")
    if tenfold is not None:
        for system, rows in tenfold.groupby("system", sort=False):
            parts = [f"{label} at {_sizes(list(part['clips']))} clips"
                     for label, part in rows.groupby("label", sort=False)]
            lines.append(f"system {system} with the tenfold pretraining corpus instead of the default: "
                         + "; ".join(parts) + ".")
    return lines
