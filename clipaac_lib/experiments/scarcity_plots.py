"""The caption-scarcity sweep's figure (issue 31): each system's score against the number of training
clips, and the paired differences per size, both with 95 % intervals.

Notebook: ``notebooks/08_scarcity.ipynb``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clipaac_lib.experiments.paper import system_name
from clipaac_lib.experiments.scarcity import FULL_SET

__all__ = ["plot_scarcity"]

_COLOURS = {1: "tab:gray", 2: "tab:orange", 3: "tab:purple", 4: "tab:green"}
_PAIR_COLOURS = {"2 - 1": "tab:orange", "4 - 1": "tab:green", "4 - 2": "tab:blue", "4 - 3": "tab:purple"}


def _errorbars(ax: plt.Axes, x: np.ndarray, rows: pd.DataFrame, **style) -> None:
    """Means with their intervals where there is one, the mean alone (one seed) as a hollow marker."""
    has = rows["low"].notna().to_numpy()
    if has.any():
        err = np.vstack([rows["mean"] - rows["low"], rows["high"] - rows["mean"]])[:, has]
        ax.errorbar(x[has], rows["mean"].to_numpy()[has], yerr=err, capsize=3, **style)
    single = ~has & rows["mean"].notna().to_numpy()
    if single.any():
        label = None if has.any() else f"{style.get('label')} (one seed)"
        ax.plot(x[single], rows["mean"].to_numpy()[single], linestyle="none", marker="o", fillstyle="none",
                color=style.get("color"), label=label)


def plot_scarcity(levels: pd.DataFrame, differences: pd.DataFrame, *, metric: str = "CIDEr-D",
                  default_clips: int = FULL_SET) -> plt.Figure:
    """Left: each system's mean ``metric`` per training-set size (log scale) with its 95 % interval, the
    tenfold-corpus cells as squares, the book's default regime (``default_clips``, notebook 6's Table 1)
    marked. Right: each paired difference of :func:`~clipaac_lib.experiments.sweep_differences` per size.
    Cells without records are left out; a hollow marker is a mean from one seed (no interval)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    sizes = sorted(set(levels["clips"]) | set(differences["clips"]))
    for ax in (left, right):
        ax.axvline(default_clips, color="black", linestyle=":", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(sizes) / 1.4, max(sizes) * 1.4)
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.set_xlabel("training clips (5 captions each)")
    systems = sorted(set(levels["system"]))
    offsets = dict(zip(systems, np.linspace(-0.06, 0.06, len(systems)), strict=True))
    for (system, corpus), rows in levels.groupby(["system", "corpus"]):
        rows = rows.sort_values("clips")
        x = rows["clips"].to_numpy() * 2 ** offsets[system]
        tenfold = corpus == "tenfold"
        label = f"{system_name(system)}" + (", tenfold corpus" if tenfold else "")
        _errorbars(left, x, rows, fmt="s" if tenfold else "o-", color=_COLOURS.get(system), label=label,
                   markersize=6 if tenfold else 4)
    left.set_ylabel(f"{metric} (mean over seeds and test clips)")
    left.set_title("Each system", fontsize=10)
    right.axhline(0, color="black", linewidth=0.8)
    pairs = list(dict.fromkeys(differences["comparison"]))
    shift = dict(zip(pairs, np.linspace(-0.06, 0.06, len(pairs)), strict=True))
    for pair in pairs:
        rows = differences[differences["comparison"] == pair].sort_values("clips")
        x = rows["clips"].to_numpy() * 2 ** shift[pair]
        _errorbars(right, x, rows, fmt="o-", color=_PAIR_COLOURS.get(pair), label=f"system {pair}")
    for ax, empty in ((left, "no cell has a record yet"), (right, "no size has two paired seeds yet")):
        if not ax.get_legend_handles_labels()[1]:
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="gray")
    right.set_ylabel(f"{metric} difference (paired by seed)")
    right.set_title("Paired differences", fontsize=10)
    top = max(2, math.ceil(len(left.get_legend_handles_labels()[1]) / 2))
    fig.legend(*left.get_legend_handles_labels(), fontsize=8, loc="lower left", ncol=top, frameon=False,
               bbox_to_anchor=(0.0, 0.0))
    fig.legend(*right.get_legend_handles_labels(), fontsize=8, loc="lower right", ncol=2, frameon=False,
               bbox_to_anchor=(1.0, 0.0))
    fig.text(0.5, 0.995, f"dotted line: the book's default regime ({default_clips} clips, notebook 6)",
             ha="center", va="top", fontsize=8)
    fig.tight_layout(rect=(0, 0.16, 1, 0.96))
    return fig
