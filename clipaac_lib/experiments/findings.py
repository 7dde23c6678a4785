"""Seed statistics, and whether our numbers reproduce the paper's four findings.

Each system of the paper's Tables 1 and 2 is trained with several seeds. :func:`seed_table` turns the
runs (one row per system and seed) into one row per system: mean and sample standard deviation of each
metric, and the number of seeds. :data:`FINDINGS` holds the paper's four claims as comparisons of two
systems on CIDEr-D; the paper's side of each comes from :mod:`clipaac_lib.experiments.paper`, never typed here.

The noise rule: a difference between two systems is an *effect* only when it exceeds twice the seed
spread of the comparison (:func:`spread_of`). :func:`label` then says whether the effect has the
paper's sign ("reproduced"), the opposite one ("not reproduced"), or is no effect ("within noise");
with no spread to measure against it says "no seed spread", and :func:`label_findings` says "not run"
for a system without results. Systems 4 and 8 are the same configuration (AudioCLIP init, fine-tuned,
alpha 0.2, batch 8), so results of either stand for both.

The explanation, with our numbers, is in ``notebooks/06_ablations.ipynb`` and the report page
``book/report.md``.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clipaac_lib.experiments.paper import METRIC_NAMES, TABLE1, TABLE2
from clipaac_lib.metrics import METRIC_KEYS

__all__ = ["Finding", "FINDINGS", "LABELS", "ALIASES", "seed_table", "spread_of", "label", "paper_score",
           "label_findings", "plot_findings", "png_bytes", "describe_findings"]

#: Every label :func:`label_findings` can give.
LABELS = ("reproduced", "not reproduced", "within noise", "no seed spread", "not run")

#: Systems that are the same configuration: Table 1's system 4 is Table 2's system 8.
ALIASES = {4: 8, 8: 4}

#: Bar colour of each label in :func:`plot_findings`.
_LABEL_COLOURS = {"reproduced": "tab:green", "not reproduced": "tab:red", "within noise": "tab:gray",
                  "no seed spread": "lightgray", "not run": "lightgray"}


@dataclass(frozen=True)
class Finding:
    """One claim of the paper: ``system_better`` scores higher than ``system_worse`` (on CIDEr-D)."""

    name: str
    sentence: str
    system_better: int
    system_worse: int

    def paper_difference(self, metric: str = "cider_d") -> float:
        """The paper's ``metric`` of ``system_better`` minus that of ``system_worse``."""
        return paper_score(self.system_better, metric) - paper_score(self.system_worse, metric)


#: The paper's four findings (sections 4.1 and 4.2), each a comparison of two systems.
FINDINGS: tuple[Finding, ...] = (
    Finding("pretrained init helps",
            "An encoder initialised from AudioCLIP and fine-tuned (system 4) beats a random one (system 1).", 4, 1),
    Finding("fine-tuning beats freezing",
            "Fine-tuning the AudioCLIP encoder (system 4) beats freezing it (system 3).", 4, 3),
    Finding("the contrastive loss helps",
            "Adding the contrastive loss with alpha 0.2 (system 8) beats training without it, alpha 0 (system 5).",
            8, 5),
    Finding("larger batches help",
            "Batch size 16 (system 9) beats batch size 4 (system 7), at alpha 0.2.", 9, 7),
)


def seed_table(records: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per-system seed statistics of ``records`` (long format: columns ``system``, ``seed`` and metrics).

    Returns one row per system (index ``system``, sorted) with ``<m>_mean`` and ``<m>_sd`` for each metric
    ``m`` (sample standard deviation, ddof=1: NaN with one seed; missing values are skipped) and
    ``n_seeds``, the number of seeds. Metrics absent from ``records`` and repeated (system, seed) pairs
    are errors.
    """
    missing = [c for c in ("system", "seed", *metrics) if c not in records.columns]
    if missing:
        raise ValueError(f"records lack columns {missing}; they have {list(records.columns)}")
    repeated = records.duplicated(["system", "seed"])
    if repeated.any():
        pairs = records.loc[repeated, ["system", "seed"]].to_records(index=False).tolist()
        raise ValueError(f"records repeat (system, seed) pairs {pairs}: one row per seed")
    grouped = records.groupby("system")
    columns: dict[str, pd.Series] = {}
    for m in metrics:
        values = grouped[m]
        columns[f"{m}_mean"] = values.mean()
        columns[f"{m}_sd"] = values.std(ddof=1)
    columns["n_seeds"] = grouped["seed"].nunique()
    table = pd.DataFrame(columns).sort_index()
    table.index.name = "system"
    return table


def spread_of(sd_a: float, sd_b: float, reference_sd: float) -> float:
    """The seed spread of comparing systems a and b, from their seed standard deviations.

    A system with a single seed (NaN sd) gets the reference system's sd ``reference_sd``; the spread is
    the larger of the two systems' spreads. NaN when either spread is unknown (a single-seed system and
    a single-seed reference).
    """
    spreads = [reference_sd if _missing(sd) else sd for sd in (sd_a, sd_b)]
    if any(_missing(s) for s in spreads):
        return math.nan
    return float(max(spreads))


def label(diff_ours: float, spread: float, paper_sign: float, atol: float = 1e-12) -> str:
    """Our difference ``diff_ours`` judged by the noise rule against the paper's direction ``paper_sign``.

    "no seed spread" when ``spread`` is NaN; "within noise" when ``|diff_ours| <= 2 * spread`` (``atol``
    absorbs floating-point rounding at the boundary); otherwise an effect: "reproduced" when it has the
    sign of ``paper_sign``, "not reproduced" when it has the opposite one.
    """
    if _missing(paper_sign) or paper_sign == 0:
        raise ValueError(f"the paper's sign must be positive or negative, got {paper_sign!r}")
    if _missing(diff_ours):
        raise ValueError("no difference to label (NaN): a system has no result")
    if _missing(spread):
        return "no seed spread"
    if abs(diff_ours) <= 2 * spread + atol:
        return "within noise"
    return "reproduced" if np.sign(diff_ours) == np.sign(paper_sign) else "not reproduced"


def paper_score(system: int, metric: str = "cider_d") -> float:
    """The paper's published ``metric`` of ``system`` (1-10), read from Table 1 or Table 2."""
    if metric not in METRIC_KEYS:
        raise ValueError(f"the paper publishes no {metric!r}; it has {METRIC_KEYS}")
    tables = {**TABLE1, **TABLE2}
    if system not in tables:
        raise ValueError(f"the paper has no system {system}; it has {sorted(tables)}")
    return tables[system][1][METRIC_KEYS.index(metric)]


def label_findings(summary: pd.DataFrame, metric: str = "cider_d", reference_system: int = 4) -> pd.DataFrame:
    """Each of :data:`FINDINGS` labelled from ``summary`` (:func:`seed_table`'s output) on ``metric``.

    One row per finding (index ``finding``): its sentence and systems, the paper's values and difference,
    our means, difference and seed counts, the comparison's spread (:func:`spread_of`, with the sd of
    ``reference_system`` for single-seed systems), the threshold ``2 * spread`` and the label. Systems 4
    and 8 stand for each other when only one is in ``summary``; a system with no result (no row, or a NaN
    mean) gives "not run". ``metric`` must be one the paper publishes (:data:`~clipaac_lib.metrics.METRIC_KEYS`).
    """
    for column in (f"{metric}_mean", f"{metric}_sd", "n_seeds"):
        if column not in summary.columns:
            raise ValueError(f"summary has no column {column!r}: pass seed_table(records, [{metric!r}, ...])")
    reference_sd = _stat(summary, reference_system, f"{metric}_sd")
    rows = [_finding_row(summary, finding, metric, reference_sd) for finding in FINDINGS]
    return pd.DataFrame(rows).set_index("finding")


def plot_findings(labels: pd.DataFrame) -> plt.Figure:
    """The paper's difference and ours for each finding, as two bar panels sharing the finding axis.

    Our bars carry error bars of +-2 x spread (the noise threshold) and the label; a zero line marks no
    difference. Findings without a result or spread are drawn as empty bars with their label.
    """
    names = list(labels.index)
    y = np.arange(len(names))
    fig, (ax_paper, ax_ours) = plt.subplots(1, 2, sharey=True, sharex=True, figsize=(11, 0.9 * len(names) + 1.6))
    ax_paper.barh(y, labels["paper_diff"].to_numpy(dtype=float), color="tab:blue")
    ours = np.nan_to_num(labels["ours_diff"].to_numpy(dtype=float))
    band = np.nan_to_num(labels["threshold"].to_numpy(dtype=float))
    colours = [_LABEL_COLOURS.get(lab, "lightgray") for lab in labels["label"]]
    ax_ours.barh(y, ours, xerr=band, color=colours, capsize=4, error_kw={"elinewidth": 1})
    for yi, diff, err, text in zip(y, ours, band, labels["label"], strict=True):
        x = diff + err if diff >= 0 else diff - err
        ax_ours.annotate(f" {text} ", (x, yi), va="center", ha="left" if diff >= 0 else "right", fontsize=9)
    metric = _metric_name(labels)
    for ax, title in ((ax_paper, "paper"), (ax_ours, "ours (mean, +-2 x seed spread)")):
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set(title=title, xlabel=f"{metric} difference (better - worse)")
    _widen(ax_ours, labels["paper_diff"].to_numpy(dtype=float), ours, band)
    ax_paper.set_yticks(y, names)
    ax_paper.invert_yaxis()
    fig.tight_layout()
    return fig


def png_bytes(fig: plt.Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes (to paste a figure into another page of the book, e.g. the report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def describe_findings(labels: pd.DataFrame) -> list[str]:
    """One sentence per finding from :func:`label_findings`' numbers, e.g. ``"pretrained init helps:
    paper +0.334 CIDEr-D; ours +0.412 +- 0.031 (2 x seed spread, 3 seeds): reproduced"``."""
    metric = _metric_name(labels)
    return [_describe(name, row, metric) for name, row in labels.iterrows()]


def _missing(x: float | None) -> bool:
    """True for None and NaN."""
    return x is None or (isinstance(x, float | np.floating) and math.isnan(x))


def _system_key(summary: pd.DataFrame, system: int) -> int | None:
    """The row of ``summary`` holding ``system``'s results: its own, else its alias's (4 <-> 8), else None."""
    if system in summary.index:
        return system
    alias = ALIASES.get(system)
    return alias if alias is not None and alias in summary.index else None


def _stat(summary: pd.DataFrame, system: int, column: str) -> float:
    """``summary[column]`` of ``system`` (or its alias); NaN when it has no row."""
    key = _system_key(summary, system)
    return math.nan if key is None else float(summary.at[key, column])


def _finding_row(summary: pd.DataFrame, finding: Finding, metric: str, reference_sd: float) -> dict:
    """One row of :func:`label_findings`."""
    better, worse = finding.system_better, finding.system_worse
    paper_diff = finding.paper_difference(metric)
    ours_better = _stat(summary, better, f"{metric}_mean")
    ours_worse = _stat(summary, worse, f"{metric}_mean")
    spread = spread_of(_stat(summary, better, f"{metric}_sd"), _stat(summary, worse, f"{metric}_sd"), reference_sd)
    ours_diff = ours_better - ours_worse
    if _missing(ours_diff):
        verdict, spread = "not run", math.nan  # no comparison, so no spread to show either
    else:
        verdict = label(ours_diff, spread, paper_diff)
    return {"finding": finding.name, "sentence": finding.sentence, "metric": metric,
            "system_better": better, "system_worse": worse,
            "paper_better": paper_score(better, metric), "paper_worse": paper_score(worse, metric),
            "paper_diff": paper_diff, "ours_better": ours_better, "ours_worse": ours_worse,
            "ours_diff": ours_diff, "n_better": _seeds(summary, better), "n_worse": _seeds(summary, worse),
            "spread": spread, "threshold": 2 * spread, "label": verdict}


def _seeds(summary: pd.DataFrame, system: int) -> int:
    """How many seeds ``system`` (or its alias) has in ``summary``: 0 when none."""
    n = _stat(summary, system, "n_seeds")
    return 0 if _missing(n) else int(n)


def _metric_name(labels: pd.DataFrame) -> str:
    """The display name of the metric ``labels`` compare on (CIDEr-D when not recorded)."""
    metric = labels["metric"].iloc[0] if "metric" in labels.columns and len(labels) else "cider_d"
    return METRIC_NAMES.get(metric, metric)


def _widen(ax: plt.Axes, paper: np.ndarray, ours: np.ndarray, band: np.ndarray) -> None:
    """Room on the shared x axis for the bars, error bars and labels (at least +-0.05)."""
    ends = np.concatenate([paper, ours + band, ours - band, [0.0]])
    ends = ends[np.isfinite(ends)]
    low, high = min(ends.min(), 0.0), max(ends.max(), 0.0)
    pad = max(high - low, 0.05) * 0.6
    ax.set_xlim(low - (pad if low < 0 else 0.1 * pad), high + pad)


def _seed_count(n_better: int, n_worse: int) -> str:
    """``"3 seeds"`` when both systems have 3, ``"3 vs 1 seeds"`` otherwise."""
    if n_better == n_worse:
        return f"{n_better} seed" + ("" if n_better == 1 else "s")
    return f"{n_better} vs {n_worse} seeds"


def _describe(name: str, row: pd.Series, metric: str) -> str:
    """One sentence of :func:`describe_findings`."""
    paper = f"paper {row['paper_diff']:+.3f} {metric}"
    if row["label"] == "not run":
        missing = [str(s) for s, mean in ((row["system_better"], row["ours_better"]),
                                           (row["system_worse"], row["ours_worse"])) if _missing(mean)]
        return f"{name}: {paper}; ours not run (no {metric} for system {' and '.join(missing)})"
    seeds = _seed_count(int(row["n_better"]), int(row["n_worse"]))
    if _missing(row["spread"]):
        return f"{name}: {paper}; ours {row['ours_diff']:+.3f} ({seeds}, no seed spread): {row['label']}"
    return (f"{name}: {paper}; ours {row['ours_diff']:+.3f} +- {row['threshold']:.3f} "
            f"(2 x seed spread, {seeds}): {row['label']}")
