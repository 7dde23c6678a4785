"""The paper's findings decided seed by seed from the grid's records, with intervals and effect sizes.

For each finding (:data:`~clipaac_lib.experiments.findings.FINDINGS`: system ``better`` against system
``worse``), the runs of the same seed are compared clip by clip (paired by file name) on the test split,
from the per-clip CIDEr-D of their records (:mod:`~clipaac_lib.experiments.records`);
:func:`~clipaac_lib.experiments.intervals.paired_difference` gives the mean difference, its 95 %
interval and the label. Beside each:

- the **detectable effect**: the true difference this design finds with 80 % power at the 5 % level;
- the **gap-normalised effects**: ours and the paper's, each divided by its own dataset's
  consensus-to-human CIDEr-D gap (both on the held-out footing: ours from the yardsticks of notebook 6,
  Clotho's from :data:`~clipaac_lib.experiments.paper.CLOTHO_YARDSTICKS`), so that a synthetic-data
  effect and a Clotho effect can be compared;
- whether our interval **holds the paper's effect** at our scale (the paper's gap share times our gap),
  and how many seeds a design like ours would need to detect an effect of that size.

Notebook: ``notebooks/06_ablations.ipynb``; the report page shows the same table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clipaac_lib.experiments.findings import FINDINGS, Finding, paper_score
from clipaac_lib.experiments.grid import Grid
from clipaac_lib.experiments.intervals import PairedDifference, paired_difference
from clipaac_lib.experiments.paper import CLOTHO_YARDSTICKS, METRIC_NAMES, TABLE2

__all__ = ["alpha_dose_response", "describe_paired", "findings_tables", "paired_findings", "plot_alpha_dose_response",
           "plot_paired_findings", "system_scores"]

def _signed(value: float, digits: int = 3) -> str:
    return "–" if not np.isfinite(value) else f"{value:+.{digits}f}"


def _seeds(value: float) -> str:
    return "–" if np.isnan(value) else "more than 1000" if np.isinf(value) else f"{value:.0f}"


def findings_tables(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`paired_findings` as two narrow tables of text, for a page 744 px wide: the verdicts
    (CIDEr-D: the paper's difference, ours with its 95 % interval, the 80 %-power detectable effect,
    the label) and the scale (both effects as gap shares, the paper's effect at our scale, whether our
    interval holds it, the seeds that would detect it)."""
    verdicts = pd.DataFrame({
        "paper": table["paper_diff"].map(_signed),
        "ours [95 % interval]": [f"{_signed(r.ours_diff)} [{_signed(r.low)}, {_signed(r.high)}]"
                                 for r in table.itertuples()],
        "detectable": table["detectable"].map(_signed).str.lstrip("+"),
        "label": table["label"],
    }, index=table.index)
    scale = pd.DataFrame({
        "paper, % of gap": table["paper_share"].map(lambda v: _signed(100 * v, 0)),
        "ours, % of gap": table["ours_share"].map(lambda v: _signed(100 * v, 0)),
        "paper at our scale": table["paper_at_our_scale"].map(_signed),
        "inside ours": table["holds_paper"].map({True: "yes", False: "no"}).fillna("–"),
        "seeds to detect": table["seeds_needed"].map(_seeds),
    }, index=table.index)
    return verdicts, scale

_COLOURS = {"reproduced": "tab:green", "contradicted": "tab:red", "undecided": "tab:gray"}
CLOTHO_GAP = CLOTHO_YARDSTICKS["human"] - CLOTHO_YARDSTICKS["consensus caption"]


def system_scores(grid: Grid, system: int, tag: str = "", metric: str = "cider_d") -> dict[int, dict[str, float]]:
    """``{seed: {file_name: score}}`` of ``system``'s records in ``grid``."""
    return {seed: record.per_clip(metric) for (sys_, t, seed), record in grid.records.items()
            if sys_ == system and t == tag}


def _row(finding: Finding, diff: PairedDifference | None, gap: float) -> dict[str, Any]:
    paper = finding.paper_difference()
    paper_share = paper / CLOTHO_GAP
    target = paper_share * gap  # the paper's effect, moved to our scale
    row: dict[str, Any] = {"finding": finding.name, "better": finding.system_better,
                           "worse": finding.system_worse, "paper_diff": paper, "paper_share": paper_share,
                           "paper_at_our_scale": target, "gap": gap}
    if diff is None:
        nan = math.nan
        return {**row, "ours_diff": nan, "low": nan, "high": nan, "detectable": nan, "ours_share": nan,
                "holds_paper": None, "seeds_needed": nan, "seeds": 0, "clips": 0, "label": "not run"}
    return {**row, "ours_diff": diff.mean, "low": diff.low, "high": diff.high, "detectable": diff.detectable(),
            "ours_share": diff.mean / gap, "holds_paper": diff.holds(target) if diff.seeds > 1 else None,
            "seeds_needed": diff.seeds_needed(target), "seeds": diff.seeds, "clips": diff.clips,
            "label": diff.label(np.sign(paper))}


def paired_findings(grid: Grid, gap: float, *, findings: Sequence[Finding] = FINDINGS,
                    metric: str = "cider_d") -> pd.DataFrame:
    """One row per finding (index: its name): the paper's difference and ours with its 95 % interval,
    the detectable effect, both gap shares (``gap``: our consensus-to-human CIDEr-D gap on the
    held-out footing), the paper's effect at our scale, whether our interval holds it, the seeds that
    would detect it, the seeds and clips compared and the label ("not run" when a system has no run)."""
    rows = []
    for finding in findings:
        a = system_scores(grid, finding.system_better, metric=metric)
        b = system_scores(grid, finding.system_worse, finding.worse_tag, metric=metric)
        common = set(a) & set(b)
        rows.append(_row(finding, paired_difference(a, b) if common else None, gap))
    table = pd.DataFrame(rows).set_index("finding")
    table["metric"] = metric
    return table


def alpha_dose_response(grid: Grid, systems: Sequence[int] = (6, 8, 10), baseline: int = 5,
                        metric: str = "cider_d") -> pd.DataFrame:
    """Each alpha of Table 2 against alpha 0 (system ``baseline``), paired: one row per system with its
    ``alpha``, our difference and 95 % interval, and the paper's difference."""
    base = system_scores(grid, baseline, metric=metric)
    rows = []
    for system in systems:
        scores = system_scores(grid, system, metric=metric)
        row = {"system": system, "alpha": TABLE2[system][0]["alpha"],
               "paper": paper_score(system, metric) - paper_score(baseline, metric)}
        if set(scores) & set(base):
            diff = paired_difference(scores, base)
            row.update(ours=diff.mean, low=diff.low, high=diff.high)
        rows.append(row)
    return pd.DataFrame(rows).set_index("system")


def plot_alpha_dose_response(table: pd.DataFrame) -> plt.Figure:
    """CIDEr-D gained over alpha = 0 at each alpha: ours with 95 % intervals, the paper's as crosses."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.axhline(0, color="black", linewidth=0.8)
    if "ours" in table:
        err = np.vstack([table["ours"] - table["low"], table["high"] - table["ours"]])
        ax.errorbar(table["alpha"], table["ours"], yerr=err, fmt="o-", capsize=4, label="ours (95 % interval)")
    ax.plot(table["alpha"], table["paper"], "x--", color="tab:blue", markersize=9, label="the paper")
    ax.set(xlabel="α (weight of the contrastive loss)", ylabel="CIDEr-D minus that of α = 0",
           xticks=list(table["alpha"]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def describe_paired(table: pd.DataFrame) -> list[str]:
    """One sentence per finding of :func:`paired_findings`, with its numbers."""
    lines = []
    for name, row in table.iterrows():
        metric = METRIC_NAMES.get(row["metric"], row["metric"])
        paper = f"paper {row['paper_diff']:+.3f} {metric} ({row['paper_share']:+.0%} of Clotho's gap)"
        if row["label"] == "not run":
            lines.append(f"{name}: {paper}; ours not run")
            continue
        seeds = f"{int(row['seeds'])} paired seed" + ("s" if row["seeds"] != 1 else "")
        if not np.isfinite(row["detectable"]):
            lines.append(f"{name}: {paper}; ours {row['ours_diff']:+.3f} ({seeds}: no interval): undecided")
            continue
        size = ("holds the paper's effect at our scale" if row["holds_paper"]
                else "excludes the paper's effect at our scale")
        need = row["seeds_needed"]
        reach = ("this design detects an effect of the paper's size" if row["detectable"] <= abs(
            row["paper_at_our_scale"]) else f"an effect of the paper's size would need {need:.0f} seeds"
            if math.isfinite(need) else "no number of seeds detects an effect of the paper's size on these clips")
        lines.append(f"{name}: {paper}; ours {row['ours_diff']:+.3f} ({row['ours_share']:+.0%} of our gap), "
                     f"95 % interval [{row['low']:+.3f}, {row['high']:+.3f}] ({seeds}, {int(row['clips'])} "
                     f"clips): {row['label']}; the interval {size}; {reach}")
    return lines


def plot_paired_findings(table: pd.DataFrame) -> plt.Figure:
    """Each finding's 95 % interval as a share of the consensus-to-human gap (coloured by label), with the
    paper's gap share marked; the zero line is "no difference"."""
    names = list(table.index)
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(names) + 1.8))  # the legend goes below the axes
    ax.axvline(0, color="black", linewidth=0.8)
    for yi, (_, row) in zip(y, table.iterrows(), strict=True):
        if row["label"] != "not run" and np.isfinite(row.get("detectable", np.nan)):
            half = (row["high"] - row["low"]) / 2 / row["gap"]
            ax.errorbar(row["ours_share"], yi, xerr=half, fmt="o", capsize=4, color=_COLOURS.get(row["label"], "tab:gray"),
                        label=row["label"] if row["label"] not in ax.get_legend_handles_labels()[1] else None)
        ax.plot(row["paper_share"], yi, marker="x", color="tab:blue", markersize=9, linestyle="none",
                label="the paper (Clotho)" if yi == 0 else None)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set(xlabel="CIDEr-D difference, share of the consensus-to-human gap\n(dots and bars: ours, 95 % interval)")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(axis="x", alpha=0.3)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=8, loc="lower center", ncol=4)
    fig.tight_layout(rect=(0, 0.5 / (0.6 * len(names) + 1.8), 1, 1))  # room for the legend at the bottom
    return fig
